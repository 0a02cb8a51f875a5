// Package linktoken signs the tokens of links in emails that must work without a database
// row per email: a renewal link and an unsubscribe link in every reminder. A token binds a
// purpose, a subject (an ID) and an expiry under an HMAC-SHA256 key derived from the master
// key, so it cannot be forged, moved to another purpose or extended.
package linktoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of Verify.
var (
	ErrInvalid = errors.New("link token is not valid")
	ErrExpired = errors.New("link token has expired")
)

// Purposes of tokens. A token of one purpose never verifies as another.
const (
	PurposeRenew       = "renew"
	PurposeUnsubscribe = "unsubscribe"
	// PurposeCohortInvitation is the link in a cohort invitation email.
	PurposeCohortInvitation = "cohort_invitation"
)

// Codec signs and checks tokens. It is safe for concurrent use.
type Codec struct {
	keys [][]byte // the first signs; all check
	now  func() time.Time
}

// New returns a codec with keys (at least one; the first signs, every one checks, so tokens
// survive a key rotation) and a clock.
func New(keys [][]byte, now func() time.Time) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("linktoken: no key")
	}
	for i, k := range keys {
		if len(k) < 32 {
			return nil, fmt.Errorf("linktoken: key %d is %d bytes, want at least 32", i+1, len(k))
		}
	}
	if now == nil {
		now = time.Now
	}
	return &Codec{keys: keys, now: now}, nil
}

var b64 = base64.RawURLEncoding.Strict()

// Sign returns a URL-safe token for subject (which must not contain '.'), valid for ttl.
func (c *Codec) Sign(purpose, subject string, ttl time.Duration) string {
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(c.now().Add(ttl).Unix()))
	body := b64.EncodeToString([]byte(subject)) + "." + b64.EncodeToString(exp[:])
	return body + "." + b64.EncodeToString(mac(c.keys[0], purpose, body))
}

// Verify returns the subject of a token of purpose. It returns ErrInvalid for a token that is
// malformed, forged or of another purpose, and ErrExpired (with the subject) for a genuine
// token past its expiry.
func (c *Codec) Verify(purpose, token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", ErrInvalid
	}
	body := parts[0] + "." + parts[1]
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return "", ErrInvalid
	}
	ok := false
	for _, k := range c.keys {
		if hmac.Equal(sig, mac(k, purpose, body)) {
			ok = true
			break
		}
	}
	if !ok {
		return "", ErrInvalid
	}
	subject, err1 := b64.DecodeString(parts[0])
	exp, err2 := b64.DecodeString(parts[1])
	if err1 != nil || err2 != nil || len(exp) != 8 {
		return "", ErrInvalid
	}
	if c.now().Unix() > int64(binary.BigEndian.Uint64(exp)) {
		return string(subject), ErrExpired
	}
	return string(subject), nil
}

func mac(key []byte, purpose, body string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(body))
	return h.Sum(nil)
}
