package credential

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
)

// The signing algorithms the issuer uses. Open Badges 3.0 requires RS256 of every verifier,
// so it is the default; EdDSA is faster but fewer wallets accept it.
const (
	AlgRS256 = "RS256"
	AlgEdDSA = "EdDSA"
)

// rsaKeyBits is the size of generated RSA keys: RFC 7518 requires at least 2048.
const rsaKeyBits = 2048

// ErrUnsupportedKey is returned for a key type or algorithm the issuer does not use.
var ErrUnsupportedKey = errors.New("unsupported key or algorithm")

// Key is a private signing key of the issuer. KID is the URL that serves its public JWK, and
// Alg the only algorithm it signs with (RS256 for an RSA key, EdDSA for an Ed25519 key).
type Key struct {
	KID     string
	Alg     string
	Private crypto.Signer
}

// PublicKey is the public half of a Key, as a verifier holds it: a token is accepted only if
// its header names KID and exactly Alg.
type PublicKey struct {
	KID string
	Alg string
	Key crypto.PublicKey
}

// Public returns the public half of k.
func (k Key) Public() PublicKey {
	return PublicKey{KID: k.KID, Alg: k.Alg, Key: k.Private.Public()}
}

// GenerateKey returns a new private key for alg: RSA-2048 for RS256, Ed25519 for EdDSA.
// Any other alg returns ErrUnsupportedKey.
func GenerateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case AlgRS256:
		return rsa.GenerateKey(rand.Reader, rsaKeyBits)
	case AlgEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("generate key for %q: %w", alg, ErrUnsupportedKey)
}

// NewKey names priv for publicURL: its KID is KIDURL(publicURL, thumbprint) and its Alg the
// algorithm its type implies. It returns ErrUnsupportedKey for a key that is neither RSA
// (of at least 2048 bits) nor Ed25519.
func NewKey(publicURL string, priv crypto.Signer) (Key, error) {
	alg, err := algFor(priv.Public())
	if err != nil {
		return Key{}, err
	}
	tp, err := Thumbprint(priv.Public())
	if err != nil {
		return Key{}, err
	}
	return Key{KID: KIDURL(publicURL, tp), Alg: alg, Private: priv}, nil
}

// algFor returns the one algorithm a public key is used with.
func algFor(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N.BitLen() < rsaKeyBits {
			return "", fmt.Errorf("RSA key of %d bits: %w", p.N.BitLen(), ErrUnsupportedKey)
		}
		return AlgRS256, nil
	case ed25519.PublicKey:
		return AlgEdDSA, nil
	}
	return "", fmt.Errorf("key type %T: %w", pub, ErrUnsupportedKey)
}

// MarshalPrivateKey returns priv as PKCS #8 DER bytes. They are secret: the caller encrypts
// them before storing them.
func MarshalPrivateKey(priv crypto.Signer) ([]byte, error) {
	if _, err := algFor(priv.Public()); err != nil {
		return nil, err
	}
	return x509.MarshalPKCS8PrivateKey(priv)
}

// ParsePrivateKey parses PKCS #8 DER bytes written by MarshalPrivateKey. It returns
// ErrUnsupportedKey for a valid key of a type the issuer does not sign with.
func ParsePrivateKey(der []byte) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key type %T: %w", k, ErrUnsupportedKey)
	}
	if _, err := algFor(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// KIDURL returns the key ID of a key: publicURL + "/keys/" + its RFC 7638 thumbprint. The
// service serves the public JWK at that URL, as Open Badges 3.0 asks of a kid.
func KIDURL(publicURL, thumbprint string) string {
	return strings.TrimRight(publicURL, "/") + "/keys/" + thumbprint
}

// b64 is base64url without padding, the encoding of JOSE.
var b64 = base64.RawURLEncoding

// Thumbprint returns the RFC 7638 JWK thumbprint of pub: base64url(SHA-256) of the required
// members in lexicographic order, with no whitespace.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	var canon string
	switch p := pub.(type) {
	case *rsa.PublicKey:
		canon = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, rsaE(p), b64.EncodeToString(p.N.Bytes()))
	case ed25519.PublicKey:
		canon = fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":%q}`, b64.EncodeToString(p))
	default:
		return "", fmt.Errorf("thumbprint of %T: %w", pub, ErrUnsupportedKey)
	}
	sum := sha256.Sum256([]byte(canon))
	return b64.EncodeToString(sum[:]), nil
}

func rsaE(p *rsa.PublicKey) string {
	return b64.EncodeToString(big.NewInt(int64(p.E)).Bytes())
}

// JWK is a public key as RFC 7517 writes it. Members are in a fixed order so documents built
// from it are byte-for-byte stable.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
}

// PublicJWK returns k as a signing JWK with its kid and alg.
func PublicJWK(k PublicKey) (JWK, error) {
	j := JWK{Kid: k.KID, Alg: k.Alg, Use: "sig"}
	switch p := k.Key.(type) {
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64.EncodeToString(p.N.Bytes()), rsaE(p)
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64.EncodeToString(p)
	default:
		return JWK{}, fmt.Errorf("JWK of %T: %w", k.Key, ErrUnsupportedKey)
	}
	if alg, err := algFor(k.Key); err != nil || alg != k.Alg {
		return JWK{}, fmt.Errorf("JWK with alg %q for %T: %w", k.Alg, k.Key, ErrUnsupportedKey)
	}
	return j, nil
}

// PublicKey returns the key j describes. It returns ErrUnsupportedKey for a JWK that is not
// an RSA or Ed25519 signing key with a matching alg, so a key set read back can only verify
// what the issuer signs.
func (j JWK) PublicKey() (PublicKey, error) {
	var pub crypto.PublicKey
	switch {
	case j.Kty == "RSA":
		n, err1 := b64.DecodeString(j.N)
		e, err2 := b64.DecodeString(j.E)
		if err := errors.Join(err1, err2); err != nil || len(e) == 0 || len(e) > 4 {
			return PublicKey{}, fmt.Errorf("JWK %s: bad n or e: %w", j.Kid, ErrUnsupportedKey)
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		x, err := b64.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return PublicKey{}, fmt.Errorf("JWK %s: bad x: %w", j.Kid, ErrUnsupportedKey)
		}
		pub = ed25519.PublicKey(x)
	default:
		return PublicKey{}, fmt.Errorf("JWK %s of kty %q: %w", j.Kid, j.Kty, ErrUnsupportedKey)
	}
	alg, err := algFor(pub)
	if err != nil {
		return PublicKey{}, err
	}
	if j.Alg != alg || (j.Use != "" && j.Use != "sig") {
		return PublicKey{}, fmt.Errorf("JWK %s with alg %q use %q: %w", j.Kid, j.Alg, j.Use, ErrUnsupportedKey)
	}
	return PublicKey{KID: j.Kid, Alg: alg, Key: pub}, nil
}

// JWKSet is the document served at /.well-known/jwks.json.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns the key set publishing keys, in the order given (so old keys stay listed
// after a rotation and the document is stable).
func JWKS(keys []PublicKey) (JWKSet, error) {
	set := JWKSet{Keys: make([]JWK, 0, len(keys))}
	for _, k := range keys {
		j, err := PublicJWK(k)
		if err != nil {
			return JWKSet{}, err
		}
		set.Keys = append(set.Keys, j)
	}
	return set, nil
}

// DIDWeb returns the did:web identifier of publicURL: the host, with a port written %3A, then
// each path segment after a colon (https://example.org/issuers/aals →
// did:web:example.org:issuers:aals). It returns an error for a URL that is not absolute
// http(s), or that carries a query, fragment or user info.
func DIDWeb(publicURL string) (string, error) {
	u, err := url.Parse(publicURL)
	if err != nil {
		return "", fmt.Errorf("did:web of %q: %w", publicURL, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("did:web of %q: need an http(s) URL with a host and nothing after the path", publicURL)
	}
	did := "did:web:" + strings.ReplaceAll(strings.ToLower(u.Host), ":", "%3A")
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if seg != "" {
			did += ":" + seg
		}
	}
	return did, nil
}

// DIDDoc is a DID document listing the issuer's keys.
type DIDDoc struct {
	Context            []string             `json:"@context"`
	ID                 string               `json:"id"`
	VerificationMethod []VerificationMethod `json:"verificationMethod"`
	AssertionMethod    []string             `json:"assertionMethod"`
}

// VerificationMethod is one key of a DID document.
type VerificationMethod struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Controller   string `json:"controller"`
	PublicKeyJWK JWK    `json:"publicKeyJwk"`
}

// DIDDocument returns the document served at /.well-known/did.json for did: every key as a
// JsonWebKey method did#<thumbprint>, each referenced from assertionMethod because it signs
// credentials.
func DIDDocument(did string, keys []PublicKey) (DIDDoc, error) {
	doc := DIDDoc{
		Context:            []string{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"},
		ID:                 did,
		VerificationMethod: make([]VerificationMethod, 0, len(keys)),
		AssertionMethod:    make([]string, 0, len(keys)),
	}
	for _, k := range keys {
		j, err := PublicJWK(k)
		if err != nil {
			return DIDDoc{}, err
		}
		tp, err := Thumbprint(k.Key)
		if err != nil {
			return DIDDoc{}, err
		}
		id := did + "#" + tp
		doc.VerificationMethod = append(doc.VerificationMethod, VerificationMethod{
			ID: id, Type: "JsonWebKey", Controller: did, PublicKeyJWK: j,
		})
		doc.AssertionMethod = append(doc.AssertionMethod, id)
	}
	return doc, nil
}

// marshalJSON encodes v without HTML escaping, so URLs with & stay as written in documents
// and tokens.
func marshalJSON(v any) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n")), nil
}
