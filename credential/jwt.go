package credential

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MediaType is the Content-Type of a credential secured as a JWT.
const MediaType = "application/vc+jwt"

// DateLeeway is the clock skew allowed when checking nbf and exp (RFC 8725 asks for a small one).
const DateLeeway = time.Minute

// Errors of token verification. Each failure wraps exactly one of them, so callers can report
// the signature and the dates as separate checks.
var (
	// ErrMalformedToken: not a compact JWS with a JSON object header and payload.
	ErrMalformedToken = errors.New("malformed token")
	// ErrUnknownKey: the header names no kid of the verifier's key set.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrAlgorithm: the header's alg is not the one pinned for its key (including "none"),
	// or the header carries members the issuer never writes.
	ErrAlgorithm = errors.New("algorithm not allowed")
	// ErrSignature: the signature does not match the header and payload.
	ErrSignature = errors.New("bad signature")
	// ErrNotYetValid: nbf or validFrom is in the future.
	ErrNotYetValid = errors.New("not yet valid")
	// ErrExpired: exp or validUntil is in the past.
	ErrExpired = errors.New("expired")
)

// Signer signs documents with one issuer key. It is safe for concurrent use.
type Signer struct {
	key    Key
	method jwt.SigningMethod
	header string // encoded once: it is the same for every token of this key
}

// header is the JOSE header: alg, kid and typ "JWT" only, which is what Open Badges 3.0
// conformance accepts.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ,omitempty"`
}

// NewSigner returns a signer for k. It returns ErrUnsupportedKey when k.Alg is not the
// algorithm of k's key type, or k has no kid.
func NewSigner(k Key) (*Signer, error) {
	if k.Private == nil || k.KID == "" {
		return nil, fmt.Errorf("signer needs a key and a kid: %w", ErrUnsupportedKey)
	}
	alg, err := algFor(k.Private.Public())
	if err != nil {
		return nil, err
	}
	if alg != k.Alg {
		return nil, fmt.Errorf("key of %s used with %q: %w", alg, k.Alg, ErrUnsupportedKey)
	}
	if _, ok := k.Private.(*rsa.PrivateKey); alg == AlgRS256 && !ok {
		return nil, fmt.Errorf("RS256 key of type %T: %w", k.Private, ErrUnsupportedKey)
	}
	h, err := marshalJSON(header{Alg: alg, Kid: k.KID, Typ: "JWT"})
	if err != nil {
		return nil, err
	}
	return &Signer{key: k, method: jwt.GetSigningMethod(alg), header: b64.EncodeToString(h)}, nil
}

// Key returns the public half of the signer's key.
func (s *Signer) Key() PublicKey { return s.key.Public() }

// Sign returns a compact JWS whose payload is payload marshalled as JSON, as is. It is the
// generic form, for documents (status lists, receipts) that carry their own claims.
func (s *Signer) Sign(payload any) (string, error) {
	p, err := marshalJSON(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return s.signBytes(p)
}

func (s *Signer) signBytes(payload []byte) (string, error) {
	input := s.header + "." + b64.EncodeToString(payload)
	sig, err := s.method.Sign(input, s.key.Private)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// Claims are the JWT claims mirrored from a credential document (VC-JWT).
type Claims struct {
	Issuer    string    // iss: the issuer id
	ID        string    // jti: the credential id
	Subject   string    // sub: the subject id; omitted when empty
	NotBefore time.Time // nbf: validFrom
	Expires   time.Time // exp: validUntil; omitted when zero
}

type registeredClaims struct {
	Iss string `json:"iss"`
	Jti string `json:"jti"`
	Sub string `json:"sub,omitempty"`
	Nbf int64  `json:"nbf"`
	Exp int64  `json:"exp,omitempty"`
}

// SignDocument returns a VC-JWT of doc: the payload is doc's JSON object itself (no "vc"
// wrapper) followed by c's claims. doc must marshal to a JSON object without those claims.
func (s *Signer) SignDocument(doc any, c Claims) (string, error) {
	d, err := marshalJSON(doc)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	rc := registeredClaims{Iss: c.Issuer, Jti: c.ID, Sub: c.Subject, Nbf: c.NotBefore.Unix()}
	if !c.Expires.IsZero() {
		rc.Exp = c.Expires.Unix()
	}
	cj, err := marshalJSON(rc)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	if len(d) < 2 || d[0] != '{' || d[len(d)-1] != '}' {
		return "", fmt.Errorf("sign: document is not a JSON object")
	}
	payload := d[:len(d)-1]
	if len(d) > 2 {
		payload = append(payload, ',')
	}
	payload = append(payload, cj[1:]...)
	return s.signBytes(payload)
}

// SignCredential returns the VC-JWT of a credential document, with iss, jti, sub, nbf and exp
// mirrored from its issuer id, id, subject id, validFrom and validUntil.
func (s *Signer) SignCredential(doc OpenBadgeCredential) (string, error) {
	c, err := CredentialClaims(doc)
	if err != nil {
		return "", err
	}
	return s.SignDocument(doc, c)
}

// CredentialClaims returns the claims mirrored from doc. It returns ErrInvalidCredential when
// its dates are not RFC 3339.
func CredentialClaims(doc OpenBadgeCredential) (Claims, error) {
	c := Claims{Issuer: doc.Issuer.ID, ID: doc.ID, Subject: doc.CredentialSubject.ID}
	var err error
	if c.NotBefore, err = time.Parse(time.RFC3339, doc.ValidFrom); err != nil {
		return Claims{}, fmt.Errorf("%w: validFrom: %v", ErrInvalidCredential, err)
	}
	if doc.ValidUntil != "" {
		if c.Expires, err = time.Parse(time.RFC3339, doc.ValidUntil); err != nil {
			return Claims{}, fmt.Errorf("%w: validUntil: %v", ErrInvalidCredential, err)
		}
	}
	return c, nil
}

// Verifier checks tokens against a fixed key set: it never fetches keys (jku, x5u, embedded
// jwk are refused), and accepts for each kid only that key's algorithm. It is safe for
// concurrent use.
type Verifier struct {
	keys map[string]PublicKey
}

// NewVerifier returns a verifier trusting keys. It returns ErrUnsupportedKey for a key whose
// Alg does not match its type, and an error for a duplicate kid.
func NewVerifier(keys ...PublicKey) (*Verifier, error) {
	v := &Verifier{keys: make(map[string]PublicKey, len(keys))}
	for _, k := range keys {
		alg, err := algFor(k.Key)
		if err != nil {
			return nil, err
		}
		if alg != k.Alg {
			return nil, fmt.Errorf("key %s of %s pinned to %q: %w", k.KID, alg, k.Alg, ErrUnsupportedKey)
		}
		if _, dup := v.keys[k.KID]; dup {
			return nil, fmt.Errorf("duplicate kid %s", k.KID)
		}
		v.keys[k.KID] = k
	}
	return v, nil
}

// Verify checks the token's signature and then its dates against now. On a date failure
// (ErrExpired, ErrNotYetValid) it still returns the payload, because an expired credential
// is still a genuine one worth showing; on any other failure the payload is nil.
func (v *Verifier) Verify(token string, now time.Time) (map[string]any, error) {
	payload, err := v.VerifySignature(token)
	if err != nil {
		return nil, err
	}
	return payload, CheckDates(payload, now)
}

// VerifySignature checks the token's header and signature only, and returns its payload
// decoded with numbers as json.Number. The error wraps ErrMalformedToken, ErrUnknownKey,
// ErrAlgorithm or ErrSignature.
func (v *Verifier) VerifySignature(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: %d parts", ErrMalformedToken, len(parts))
	}
	var h map[string]any
	if err := decodePart(parts[0], &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformedToken, err)
	}
	key, err := v.keyFor(h)
	if err != nil {
		return nil, err
	}
	sig, err := b64.Strict().DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrMalformedToken, err)
	}
	if err := verifySig(key, parts[0]+"."+parts[1], sig); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	var payload map[string]any
	if err := decodePart(parts[1], &payload); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformedToken, err)
	}
	return payload, nil
}

// keyFor returns the key a header names, refusing anything but alg, kid and typ "JWT": the
// issuer writes nothing else, and members such as jku, x5u, jwk or crit must never steer
// which key is trusted.
func (v *Verifier) keyFor(h map[string]any) (PublicKey, error) {
	for name, val := range h {
		switch name {
		case "alg", "kid":
		case "typ":
			if t, _ := val.(string); !strings.EqualFold(t, "JWT") {
				return PublicKey{}, fmt.Errorf("%w: typ %v", ErrAlgorithm, val)
			}
		default:
			return PublicKey{}, fmt.Errorf("%w: header member %q", ErrAlgorithm, name)
		}
	}
	kid, _ := h["kid"].(string)
	key, ok := v.keys[kid]
	if !ok {
		return PublicKey{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}
	if alg, _ := h["alg"].(string); alg != key.Alg {
		return PublicKey{}, fmt.Errorf("%w: alg %v for key %s of %s", ErrAlgorithm, h["alg"], kid, key.Alg)
	}
	return key, nil
}

func verifySig(k PublicKey, input string, sig []byte) error {
	switch k.Alg {
	case AlgRS256:
		return jwt.SigningMethodRS256.Verify(input, sig, k.Key.(*rsa.PublicKey))
	case AlgEdDSA:
		return jwt.SigningMethodEdDSA.Verify(input, sig, k.Key.(ed25519.PublicKey))
	}
	return ErrAlgorithm
}

// decodePart decodes one base64url part holding a single JSON object.
func decodePart(part string, into *map[string]any) error {
	raw, err := b64.Strict().DecodeString(part)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if *into == nil {
		return errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// CheckDates checks a verified payload's validity period against now, with DateLeeway:
// nbf and validFrom must not be in the future (ErrNotYetValid), exp and validUntil not in the
// past (ErrExpired). Absent members are not checked; a present one that cannot be read is
// ErrMalformedToken.
func CheckDates(payload map[string]any, now time.Time) error {
	nbf, err1 := numericDate(payload, "nbf")
	exp, err2 := numericDate(payload, "exp")
	from, err3 := rfc3339Date(payload, "validFrom")
	until, err4 := rfc3339Date(payload, "validUntil")
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
	for _, t := range []time.Time{nbf, from} {
		if !t.IsZero() && now.Add(DateLeeway).Before(t) {
			return fmt.Errorf("%w: until %s", ErrNotYetValid, FormatTime(t))
		}
	}
	for _, t := range []time.Time{exp, until} {
		if !t.IsZero() && now.Add(-DateLeeway).After(t) {
			return fmt.Errorf("%w: since %s", ErrExpired, FormatTime(t))
		}
	}
	return nil
}

func numericDate(payload map[string]any, name string) (time.Time, error) {
	v, ok := payload[name]
	if !ok {
		return time.Time{}, nil
	}
	var f float64
	switch n := v.(type) {
	case json.Number:
		var err error
		if f, err = n.Float64(); err != nil {
			return time.Time{}, fmt.Errorf("%s: %v", name, err)
		}
	case float64:
		f = n
	default:
		return time.Time{}, fmt.Errorf("%s is not a number", name)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return time.Time{}, fmt.Errorf("%s out of range", name)
	}
	return time.Unix(int64(math.Floor(f)), 0).UTC(), nil
}

func rfc3339Date(payload map[string]any, name string) (time.Time, error) {
	v, ok := payload[name]
	if !ok {
		return time.Time{}, nil
	}
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %v", name, err)
	}
	return t, nil
}
