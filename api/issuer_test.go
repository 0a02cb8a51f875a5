package api_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/credential"
)

// testIssuerKeys returns one fresh Ed25519 credential key (fast to make) as the server's
// issuer keys.
func testIssuerKeys(t testing.TB) *api.IssuerKeys {
	t.Helper()
	k := newCredentialKey(t, credential.AlgEdDSA)
	s, err := credential.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return &api.IssuerKeys{Signer: s, Published: []credential.PublicKey{k.Public()}}
}

func newCredentialKey(t testing.TB, alg string) credential.Key {
	t.Helper()
	priv, err := credential.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	k, err := credential.NewKey(publicURL, priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// withIssuerKeys serves keys as the credential keys.
func withIssuerKeys(keys *api.IssuerKeys) envOption {
	return func(_ *api.Config, d *api.Deps) { d.IssuerKeys = keys }
}

// rotatedKeys is an RS256 key that signed first and a newer EdDSA key that signs now.
func rotatedKeys(t *testing.T) (*api.IssuerKeys, credential.Key, credential.Key) {
	t.Helper()
	old, cur := newCredentialKey(t, credential.AlgRS256), newCredentialKey(t, credential.AlgEdDSA)
	s, err := credential.NewSigner(cur)
	if err != nil {
		t.Fatal(err)
	}
	return &api.IssuerKeys{Signer: s, Published: []credential.PublicKey{cur.Public(), old.Public()}}, old, cur
}

func TestIssuerDocumentsRoutes(t *testing.T) {
	t.Parallel()
	keys, old, cur := rotatedKeys(t)
	e := newEnv(t, withIssuerKeys(keys))
	curTP := cur.KID[strings.LastIndex(cur.KID, "/")+1:]
	e.run(t, []scenario{
		{name: "JWKS", req: req{method: "GET", path: "/.well-known/jwks.json"}, wantStatus: 200},
		{name: "DID", req: req{method: "GET", path: "/.well-known/did.json"}, wantStatus: 200},
		{name: "Key", req: req{method: "GET", path: "/keys/" + curTP}, wantStatus: 200},
		{name: "UnknownKeyIs404", req: req{method: "GET", path: "/keys/nope"}, wantStatus: 404, wantType: "not-found"},
		{name: "Issuer", req: req{method: "GET", path: "/issuer"}, wantStatus: 200},
	})
	for _, path := range []string{"/.well-known/jwks.json", "/.well-known/did.json", "/keys/" + curTP, "/issuer"} {
		if got := e.do(t, req{method: "GET", path: path}).Header.Get("Cache-Control"); got != "public, max-age=300" {
			t.Errorf("%s: Cache-Control = %q", path, got)
		}
	}

	// The key set lists both keys, newest first, with their kid URLs, then the receipt key.
	var set credential.JWKSet
	e.do(t, req{method: "GET", path: "/.well-known/jwks.json"}).decode(t, &set)
	if len(set.Keys) != 3 || set.Keys[0].Kid != cur.KID || set.Keys[1].Kid != old.KID {
		t.Fatalf("jwks = %+v, want kids %s, %s", set.Keys, cur.KID, old.KID)
	}
	if set.Keys[0].Alg != credential.AlgEdDSA || set.Keys[1].Alg != credential.AlgRS256 {
		t.Errorf("jwks algs = %s, %s", set.Keys[0].Alg, set.Keys[1].Alg)
	}

	// The DID document is did:web of the public host, both keys under assertionMethod.
	r := e.do(t, req{method: "GET", path: "/.well-known/did.json"})
	if ct := r.Header.Get("Content-Type"); ct != api.DIDMediaType {
		t.Errorf("did.json Content-Type = %q", ct)
	}
	var did credential.DIDDoc
	r.decode(t, &did)
	if did.ID != "did:web:localhost%3A8080" || len(did.VerificationMethod) != 2 || len(did.AssertionMethod) != 2 {
		t.Fatalf("did.json = %+v", did)
	}
	if vm := did.VerificationMethod[0]; vm.ID != did.ID+"#"+curTP || vm.Type != "JsonWebKey" || vm.PublicKeyJWK.Kid != cur.KID {
		t.Errorf("verificationMethod[0] = %+v", vm)
	}

	// The issuer profile names the issuer and lists its did:web.
	var p credential.Profile
	e.do(t, req{method: "GET", path: "/issuer"}).decode(t, &p)
	if p.ID != publicURL+"/issuer" || p.Name != api.IssuerName || p.URL != publicURL ||
		len(p.OtherIdentifier) != 1 || p.OtherIdentifier[0].Identifier != did.ID {
		t.Errorf("issuer = %+v", p)
	}
}

// TestIssuerKidURLVerifiesSignedToken signs with the served signer, dereferences the token's
// kid through the router, and verifies the token with the JWK found there.
func TestIssuerKidURLVerifiesSignedToken(t *testing.T) {
	t.Parallel()
	keys, old, _ := rotatedKeys(t)
	e := newEnv(t, withIssuerKeys(keys))
	tok, err := keys.Signer.SignDocument(map[string]any{"type": []string{"VerifiableCredential"}},
		credential.Claims{Issuer: publicURL + "/issuer", ID: "urn:uuid:1", NotBefore: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(t *testing.T, tok string) {
		t.Helper()
		hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		if err != nil {
			t.Fatal(err)
		}
		var h struct{ Kid string }
		if err := json.Unmarshal(hdr, &h); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h.Kid, publicURL+"/keys/") {
			t.Fatalf("kid %q is not a key URL of this service", h.Kid)
		}
		r := e.do(t, req{method: "GET", path: strings.TrimPrefix(h.Kid, publicURL)})
		if r.Code != 200 {
			t.Fatalf("GET kid URL = %d: %s", r.Code, r.Body)
		}
		var j credential.JWK
		r.decode(t, &j)
		pub, err := j.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		if pub.KID != h.Kid {
			t.Fatalf("served JWK kid = %s, want %s", pub.KID, h.Kid)
		}
		v, err := credential.NewVerifier(pub)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(tok, e.clock.Now().Add(time.Minute)); err != nil {
			t.Fatalf("verify with the served JWK: %v", err)
		}
	}
	verify(t, tok)

	// A credential signed before the rotation still verifies through its own kid URL.
	oldSigner, err := credential.NewSigner(old)
	if err != nil {
		t.Fatal(err)
	}
	oldTok, err := oldSigner.Sign(map[string]any{"iss": publicURL + "/issuer"})
	if err != nil {
		t.Fatal(err)
	}
	verify(t, oldTok)
}

// TestIssuerKeysExcludeAccessTokenKey proves the published documents carry credential (and,
// in the key set, receipt) keys only: the key signing access tokens appears in neither the key set nor the DID document.
func TestIssuerKeysExcludeAccessTokenKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	access, _, err := e.tokens.Issue("00000000-0000-4000-8000-000000000000", false)
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(access, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(hdr, &h); err != nil || h.Kid == "" {
		t.Fatalf("access token header %s: %v", hdr, err)
	}
	for _, path := range []string{"/.well-known/jwks.json", "/.well-known/did.json"} {
		r := e.do(t, req{method: "GET", path: path})
		if strings.Contains(string(r.Body), h.Kid) {
			t.Errorf("%s lists the access-token key %s: %s", path, h.Kid, r.Body)
		}
	}
	var set credential.JWKSet
	e.do(t, req{method: "GET", path: "/.well-known/jwks.json"}).decode(t, &set)
	if len(set.Keys) != 2 {
		t.Errorf("jwks has %d keys, want the one credential key and the one receipt key", len(set.Keys))
	}
	e.run(t, []scenario{{name: "AccessKeyIsNotAKidURL", req: req{method: "GET", path: "/keys/" + h.Kid}, wantStatus: 404, wantType: "not-found"}})
}
