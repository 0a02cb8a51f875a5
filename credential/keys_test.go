package credential

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testPublicURL = "https://certs.example.org"

// fixtureKey loads a fixed key from testdata (PKCS #8 PEM), so golden tokens are stable.
func fixtureKey(t testing.TB, file string) Key {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("%s: no PKCS #8 PEM block", file)
	}
	priv, err := ParsePrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(testPublicURL, priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rsaKey(t testing.TB) Key { return fixtureKey(t, "rsa_test_key.pem") }
func edKey(t testing.TB) Key  { return fixtureKey(t, "ed25519_test_key.pem") }

func TestThumbprintRFC7638(t *testing.T) {
	// The RSA key of RFC 7638 section 3.1 and its published thumbprint.
	n, err := b64.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestThumbprintEd25519(t *testing.T) {
	// RFC 8037 appendix A.3: the thumbprint of its example Ed25519 key.
	x, _ := b64.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	j := JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(x), Alg: AlgEdDSA}
	pk, err := j.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(pk.Key)
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestNewKey(t *testing.T) {
	for _, k := range []Key{rsaKey(t), edKey(t)} {
		tp, err := Thumbprint(k.Private.Public())
		if err != nil {
			t.Fatal(err)
		}
		if want := testPublicURL + "/keys/" + tp; k.KID != want {
			t.Errorf("KID = %s, want %s", k.KID, want)
		}
	}
	if got := rsaKey(t).Alg; got != AlgRS256 {
		t.Errorf("RSA alg = %s, want RS256", got)
	}
	if got := edKey(t).Alg; got != AlgEdDSA {
		t.Errorf("Ed25519 alg = %s, want EdDSA", got)
	}
	if got := KIDURL("http://localhost:8080/", "abc"); got != "http://localhost:8080/keys/abc" {
		t.Errorf("KIDURL = %s", got)
	}
}

func TestGenerateAndRoundTripPKCS8(t *testing.T) {
	for _, alg := range []string{AlgRS256, AlgEdDSA} {
		priv, err := GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		der, err := MarshalPrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParsePrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		k, err := NewKey(testPublicURL, back)
		if err != nil {
			t.Fatal(err)
		}
		if k.Alg != alg {
			t.Errorf("alg = %s, want %s", k.Alg, alg)
		}
		if !back.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(priv.Public()) {
			t.Errorf("%s: parsed key differs", alg)
		}
	}
	if _, err := GenerateKey("HS256"); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("GenerateKey(HS256): got %v, want ErrUnsupportedKey", err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := NewKey(testPublicURL, ec); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("NewKey(P-256): got %v, want ErrUnsupportedKey", err)
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := NewKey(testPublicURL, small); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("NewKey(RSA-1024): got %v, want ErrUnsupportedKey", err)
	}
}

func TestDIDWeb(t *testing.T) {
	for in, want := range map[string]string{
		"https://certs.example.org":             "did:web:certs.example.org",
		"https://certs.example.org/":            "did:web:certs.example.org",
		"http://localhost:8080":                 "did:web:localhost%3A8080",
		"https://Example.org:8443/issuers/aals": "did:web:example.org%3A8443:issuers:aals",
		"https://example.org/issuers/aals/":     "did:web:example.org:issuers:aals",
		"https://example.org/a%20b/c":           "did:web:example.org:a%20b:c",
	} {
		got, err := DIDWeb(in)
		if err != nil || got != want {
			t.Errorf("DIDWeb(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "certs.example.org", "ftp://example.org", "https://example.org?x=1", "https://u:p@example.org", "/issuer"} {
		if got, err := DIDWeb(in); err == nil {
			t.Errorf("DIDWeb(%q) = %q, want an error", in, got)
		}
	}
}

func TestJWKSGolden(t *testing.T) {
	set, err := JWKS([]PublicKey{rsaKey(t).Public(), edKey(t).Public()})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "jwks.json", append(raw, '\n'))

	// Members and their order, without the key material.
	for i, want := range []string{
		`{"kty":"RSA","n":"`, `{"kty":"OKP","crv":"Ed25519","x":"`,
	} {
		line, _ := json.Marshal(set.Keys[i])
		if !strings.HasPrefix(string(line), want) {
			t.Errorf("key %d = %s, want prefix %s", i, line, want)
		}
		if !strings.HasSuffix(string(line), `"use":"sig"}`) {
			t.Errorf("key %d = %s, want use sig last", i, line)
		}
	}
	if set.Keys[0].E != "AQAB" {
		t.Errorf("e = %s, want AQAB", set.Keys[0].E)
	}
	// The set reads back as the same keys, so a verifier can be built from it.
	for i, j := range set.Keys {
		pk, err := j.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		orig := []Key{rsaKey(t), edKey(t)}[i]
		if pk.KID != orig.KID || pk.Alg != orig.Alg || !pk.Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(orig.Private.Public()) {
			t.Errorf("key %d reads back as %+v", i, pk)
		}
	}
}

func TestJWKRejects(t *testing.T) {
	rsaJWK, _ := PublicJWK(rsaKey(t).Public())
	edJWK, _ := PublicJWK(edKey(t).Public())
	for name, j := range map[string]JWK{
		"RSAWithEdDSA":  func() JWK { j := rsaJWK; j.Alg = AlgEdDSA; return j }(),
		"RSAWithPS256":  func() JWK { j := rsaJWK; j.Alg = "PS256"; return j }(),
		"EdWithRS256":   func() JWK { j := edJWK; j.Alg = AlgRS256; return j }(),
		"EncryptionUse": func() JWK { j := edJWK; j.Use = "enc"; return j }(),
		"ShortX":        func() JWK { j := edJWK; j.X = "AAAA"; return j }(),
		"Symmetric":     {Kty: "oct", Alg: "HS256"},
	} {
		if _, err := j.PublicKey(); !errors.Is(err, ErrUnsupportedKey) {
			t.Errorf("%s: got %v, want ErrUnsupportedKey", name, err)
		}
	}
}

func TestDIDDocumentGolden(t *testing.T) {
	did, err := DIDWeb(testPublicURL)
	if err != nil {
		t.Fatal(err)
	}
	keys := []PublicKey{rsaKey(t).Public(), edKey(t).Public()}
	doc, err := DIDDocument(did, keys)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "did.json", append(raw, '\n'))

	if len(doc.VerificationMethod) != 2 || len(doc.AssertionMethod) != 2 {
		t.Fatalf("got %d methods and %d assertion methods, want 2 and 2", len(doc.VerificationMethod), len(doc.AssertionMethod))
	}
	for i, vm := range doc.VerificationMethod {
		tp, _ := Thumbprint(keys[i].Key)
		if want := "did:web:certs.example.org#" + tp; vm.ID != want || doc.AssertionMethod[i] != want {
			t.Errorf("method %d id %s, assertionMethod %s; want %s", i, vm.ID, doc.AssertionMethod[i], want)
		}
		if vm.Type != "JsonWebKey" || vm.Controller != did || vm.PublicKeyJWK.Kid != keys[i].KID {
			t.Errorf("method %d = %+v", i, vm)
		}
	}
	if !bytes.Contains(raw, []byte(`"https://w3id.org/security/suites/jws-2020/v1"`)) {
		t.Errorf("no jws-2020 context in %s", raw)
	}
}
