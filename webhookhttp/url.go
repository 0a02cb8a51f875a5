package webhookhttp

import (
	"errors"
	"net/url"
)

// MaxURLLength bounds an endpoint URL.
const MaxURLLength = 2000

func parseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("is required")
	}
	if len(raw) > MaxURLLength {
		return nil, errors.New("must be at most 2000 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return nil, errors.New("must be an absolute https:// URL")
	}
	if u.Fragment != "" {
		return nil, errors.New("must not have a fragment")
	}
	return u, nil
}
