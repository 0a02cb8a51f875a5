// Package authtoken issues and verifies the API's short-lived access tokens: EdDSA JWTs with
// typ "at+jwt" (RFC 9068) and a kid, signed with keys used for nothing else. Verification pins
// the algorithm and the type, so no credential or receipt JWT is ever accepted as an access
// token.
package authtoken

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenType is the JOSE typ of access tokens.
const TokenType = "at+jwt"

// ErrInvalid means the token is malformed, expired, not yet valid, of another kind, or signed
// by an unknown key or algorithm.
var ErrInvalid = errors.New("authtoken: invalid access token")

// Key is one signing key.
type Key struct {
	KID     string
	Private ed25519.PrivateKey
}

// NewKey generates a key whose KID is its RFC 7638 thumbprint.
func NewKey() Key {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	return Key{KID: Thumbprint(priv.Public().(ed25519.PublicKey)), Private: priv}
}

// Thumbprint returns the RFC 7638 JWK thumbprint of an Ed25519 public key, base64url.
func Thumbprint(pub ed25519.PublicKey) string {
	// Members in lexicographic order, no whitespace, as RFC 7638 requires.
	canon := fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":"%s"}`, base64.RawURLEncoding.EncodeToString(pub))
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Claims are an access token's claims.
type Claims struct {
	jwt.RegisteredClaims
	// MFA is true when the session was opened with a second factor.
	MFA bool `json:"mfa,omitempty"`
}

// Issuer signs with the newest key and verifies with any known key.
type Issuer struct {
	Issuer   string
	Audience string
	TTL      time.Duration
	Now      func() time.Time
	signing  Key
	verify   map[string]ed25519.PublicKey
}

// NewIssuer returns an Issuer; keys[0] signs, all verify.
func NewIssuer(issuer string, ttl time.Duration, now func() time.Time, keys ...Key) (*Issuer, error) {
	if len(keys) == 0 {
		return nil, errors.New("authtoken: no key")
	}
	iss := &Issuer{Issuer: issuer, Audience: issuer + "/v1", TTL: ttl, Now: now, signing: keys[0], verify: map[string]ed25519.PublicKey{}}
	for _, k := range keys {
		iss.verify[k.KID] = k.Private.Public().(ed25519.PublicKey)
	}
	return iss, nil
}

// Issue returns a signed token for subject and its lifetime in seconds.
func (i *Issuer) Issue(subject string, mfa bool) (string, int, error) {
	now := i.Now().UTC().Truncate(time.Second)
	jti := make([]byte, 12)
	_, _ = rand.Read(jti)
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.Issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{i.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(i.TTL)),
			ID:        base64.RawURLEncoding.EncodeToString(jti),
		},
		MFA: mfa,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = i.signing.KID
	tok.Header["typ"] = TokenType
	s, err := tok.SignedString(i.signing.Private)
	if err != nil {
		return "", 0, fmt.Errorf("sign access token: %w", err)
	}
	return s, int(i.TTL / time.Second), nil
}

// Verify checks the token and returns its claims, or ErrInvalid.
func (i *Issuer) Verify(token string) (*Claims, error) {
	claims := &Claims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != TokenType {
			return nil, errors.New("wrong typ")
		}
		kid, _ := t.Header["kid"].(string)
		pub, ok := i.verify[kid]
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return pub, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(i.Issuer),
		jwt.WithAudience(i.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second),
		jwt.WithTimeFunc(i.Now),
	)
	if err != nil || claims.Subject == "" {
		return nil, ErrInvalid
	}
	return claims, nil
}

// PublicJWK returns the key's public JWK as JSON.
func (k Key) PublicJWK() json.RawMessage {
	pub := k.Private.Public().(ed25519.PublicKey)
	b, _ := json.Marshal(map[string]string{
		"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub),
		"kid": k.KID, "alg": "EdDSA", "use": "sig",
	})
	return b
}
