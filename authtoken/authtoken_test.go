package authtoken_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/aalscert/aalscert/authtoken"
)

func TestIssueAndVerify(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	key := authtoken.NewKey()
	iss, err := authtoken.NewIssuer("http://localhost:8080", 15*time.Minute, clock, key)
	if err != nil {
		t.Fatal(err)
	}
	tok, ttl, err := iss.Issue("user-1", true)
	if err != nil || ttl != 900 {
		t.Fatalf("Issue = %d, %v", ttl, err)
	}
	claims, err := iss.Verify(tok)
	if err != nil {
		t.Fatalf("Verify(fresh) = %v", err)
	}
	if claims.Subject != "user-1" || !claims.MFA {
		t.Errorf("claims = %+v, want subject user-1 with MFA", claims)
	}

	other, _ := authtoken.NewIssuer("http://localhost:8080", 15*time.Minute, clock, authtoken.NewKey())
	foreign, _, _ := other.Issue("user-1", false)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rs := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "user-1", "iss": "http://localhost:8080", "exp": now.Add(time.Hour).Unix()})
	rs.Header["kid"] = key.KID
	rs.Header["typ"] = "at+jwt"
	rsTok, _ := rs.SignedString(rsaKey)
	parts := strings.Split(tok, ".")
	noneTok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"`+key.KID+`"}`)) + "." + parts[1] + "."
	wrongTyp := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": "user-1", "iss": "http://localhost:8080", "aud": "http://localhost:8080/v1", "exp": now.Add(time.Hour).Unix()})
	wrongTyp.Header["kid"] = key.KID
	wrongTypTok, _ := wrongTyp.SignedString(key.Private)
	flipped := []byte(tok)
	flipped[len(flipped)-5] ^= 1

	later, _ := authtoken.NewIssuer("http://localhost:8080", 15*time.Minute, func() time.Time { return now.Add(16 * time.Minute) }, key)
	for name, bad := range map[string]struct {
		iss *authtoken.Issuer
		tok string
	}{
		"ForeignKey":    {iss, foreign},
		"OtherAlg":      {iss, rsTok},
		"AlgNone":       {iss, noneTok},
		"CredentialTyp": {iss, wrongTypTok},
		"FlippedByte":   {iss, string(flipped)},
		"Expired":       {later, tok},
		"Garbage":       {iss, "not.a.jwt"},
	} {
		if _, err := bad.iss.Verify(bad.tok); err == nil {
			t.Errorf("%s: Verify accepted the token", name)
		}
	}
}

// FuzzVerify feeds arbitrary strings to the verifier: it must never panic and never accept
// anything but a token it signed.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	iss, _ := authtoken.NewIssuer("http://localhost:8080", 15*time.Minute, func() time.Time { return now }, authtoken.NewKey())
	good, _, _ := iss.Issue("user-1", false)
	f.Add(good)
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add(good[:len(good)-2])
	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := iss.Verify(tok)
		if err == nil && tok != good {
			t.Fatalf("accepted a token it did not issue: %q (claims %+v)", tok, claims)
		}
	})
}
