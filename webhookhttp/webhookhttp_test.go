package webhookhttp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The example of the Standard Webhooks specification: this secret, id, timestamp and body
// give this signature.
func TestSignMatchesTheStandardWebhooksExample(t *testing.T) {
	secret, err := ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
}

func TestNewSecretIsShownAsWhsecOf32Bytes(t *testing.T) {
	raw, shown := NewSecret()
	if len(raw) != 32 || !strings.HasPrefix(shown, "whsec_") {
		t.Fatalf("secret %d bytes, shown %q", len(raw), shown)
	}
	back, err := ParseSecret(shown)
	if err != nil || !hmac.Equal(back, raw) {
		t.Fatalf("shown secret does not decode to the raw bytes: %v", err)
	}
	// An independent HMAC over id.timestamp.body agrees with Sign.
	mac := hmac.New(sha256.New, raw)
	mac.Write([]byte("42.1700000000.{}"))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := Sign(raw, "42", time.Unix(1700000000, 0), []byte("{}")); got != want {
		t.Fatalf("Sign = %s, independent HMAC = %s", got, want)
	}
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		ip            string
		allowLoopback bool
		refused       bool
	}{
		{"127.0.0.1", false, true},
		{"127.0.0.1", true, false},
		{"::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"10.0.0.1", false, true},
		{"10.0.0.1", true, true},
		{"172.16.5.4", false, true},
		{"192.168.1.1", false, true},
		{"169.254.169.254", false, true},
		{"169.254.169.254", true, true},
		{"fe80::1", false, true},
		{"fc00::1", false, true},
		{"fd12:3456::1", false, true},
		{"100.64.0.1", false, true},
		{"0.0.0.0", false, true},
		{"::", false, true},
		{"224.0.0.1", false, true},
		{"ff02::1", false, true},
		{"255.255.255.255", false, true},
		{"93.184.216.34", false, false},
		{"2606:2800:220:1:248:1893:25c8:1946", false, false},
	} {
		if got := Refused(netip.MustParseAddr(tc.ip), tc.allowLoopback); got != tc.refused {
			t.Errorf("Refused(%s, loopback allowed %v) = %v, want %v", tc.ip, tc.allowLoopback, got, tc.refused)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url           string
		allowLoopback bool
		ok            bool
	}{
		{"https://hooks.example.org/aals", false, true},
		{"http://hooks.example.org/aals", false, false},
		{"http://hooks.example.org/aals", true, false},
		{"http://127.0.0.1:8080/hook", false, false},
		{"http://127.0.0.1:8080/hook", true, true},
		{"http://localhost:8080/hook", true, true},
		{"https://localhost/hook", false, false},
		{"https://10.0.0.1/hook", false, false},
		{"https://169.254.169.254/latest/meta-data", true, false},
		{"https://user:pw@hooks.example.org/", false, false},
		{"ftp://hooks.example.org/", false, false},
		{"/relative", false, false},
		{"", false, false},
	} {
		err := CheckURL(tc.url, tc.allowLoopback)
		if (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q, loopback allowed %v) = %v, want ok %v", tc.url, tc.allowLoopback, err, tc.ok)
		}
	}
}

// The dialer refuses internal addresses when connecting, whatever the URL said; with the
// development allowance, loopback is reachable and a redirect is returned, not followed.
func TestClientChecksTheAddressWhenConnecting(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("https://example.org/", http.StatusFound))
	defer srv.Close()
	ctx := context.Background()
	for _, u := range []string{srv.URL, "http://10.0.0.1:9/", "http://169.254.169.254/latest/meta-data", "http://[::1]:9/"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
		_, err := NewClient(false).Do(req)
		if !errors.Is(err, ErrAddressRefused) {
			t.Errorf("POST %s without the allowance: %v, want the address refused", u, err)
		}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
	resp, err := NewClient(true).Do(req)
	if err != nil {
		t.Fatalf("POST %s with the allowance: %v", srv.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want the 302 itself, not followed", resp.StatusCode)
	}
}
