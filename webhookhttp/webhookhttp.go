// Package webhookhttp sends webhook requests the Standard Webhooks way: per-endpoint secrets
// (whsec_…), the webhook-id, webhook-timestamp and webhook-signature headers, and an HTTP
// client that refuses, when connecting, any address inside the service's own networks.
package webhookhttp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SecretPrefix starts every secret shown to a user.
const SecretPrefix = "whsec_"

// NewSecret returns 32 random bytes and their whsec_ form.
func NewSecret() (raw []byte, shown string) {
	raw = make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return raw, SecretPrefix + base64.StdEncoding.EncodeToString(raw)
}

// ParseSecret returns the key bytes of a whsec_ secret.
func ParseSecret(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
}

// Sign returns the webhook-signature header value for a message: "v1," and the base64
// HMAC-SHA256 of "id.timestamp.body" under the secret's bytes.
func Sign(secret []byte, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SetHeaders sets the Standard Webhooks headers of a request carrying body.
func SetHeaders(h http.Header, secret []byte, id string, ts time.Time, body []byte) {
	h.Set("Content-Type", "application/json")
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", Sign(secret, id, ts, body))
}

// ErrAddressRefused is a connection to an address webhooks may not reach.
var ErrAddressRefused = errors.New("webhook address refused: loopback, private, link-local and other internal addresses are not allowed")

// ErrRedirect is a 3xx answer: webhooks do not follow redirects.
var ErrRedirect = errors.New("webhook endpoint answered with a redirect")

// cgnat is the shared address space of carrier-grade NAT (RFC 6598).
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Refused reports whether a webhook may not connect to ip. Loopback is allowed only when
// allowLoopback (local development).
func Refused(ip netip.Addr, allowLoopback bool) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() {
		return !allowLoopback
	}
	return !ip.IsValid() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip) ||
		ip == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// Timeout bounds a whole delivery attempt.
const Timeout = 10 * time.Second

// NewClient returns the client deliveries use. The address is checked in the dialer's
// Control function, after DNS resolution and for every address tried, so a name that
// resolves (or re-resolves) to an internal address is refused too. Redirects are not
// followed: the 3xx is returned and counts as a failure.
func NewClient(allowLoopback bool) *http.Client {
	d := &net.Dialer{
		Timeout: Timeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrAddressRefused, address)
			}
			if Refused(ap.Addr(), allowLoopback) {
				return fmt.Errorf("%w: %s", ErrAddressRefused, ap.Addr())
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would connect on our behalf, past the check
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   Timeout,
		ResponseHeaderTimeout: Timeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// CheckURL reports why raw may not be registered as an endpoint, or nil: https only, unless
// allowLoopback, when http://127.0.0.1, http://[::1] and http://localhost are also accepted.
// Addresses are checked again when connecting.
func CheckURL(raw string, allowLoopback bool) error {
	u, err := parseURL(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if u.Scheme == "http" {
		if !allowLoopback || !isLoopbackHost(host) {
			return errors.New("must be an https:// URL")
		}
	} else if u.Scheme != "https" {
		return errors.New("must be an https:// URL")
	}
	if u.User != nil {
		return errors.New("must not contain credentials")
	}
	if host == "" {
		return errors.New("must have a host")
	}
	if ip, err := netip.ParseAddr(host); err == nil && Refused(ip, allowLoopback) {
		return errors.New("must not point to a loopback, private, link-local or other internal address")
	}
	if !allowLoopback && isLoopbackHost(host) {
		return errors.New("must not point to a loopback address")
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
