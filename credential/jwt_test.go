package credential

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testNow is the fixed clock: within the test credential's validity.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func mustSigner(t testing.TB, k Key) *Signer {
	t.Helper()
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustVerifier(t testing.TB, keys ...Key) *Verifier {
	t.Helper()
	var pubs []PublicKey
	for _, k := range keys {
		pubs = append(pubs, k.Public())
	}
	v, err := NewVerifier(pubs...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// goldenTokens are the signed forms of testCredential, one per algorithm.
var goldenTokens = []struct {
	file string
	key  func(testing.TB) Key
	alg  jose.SignatureAlgorithm
}{
	{"credential_rs256.jwt", rsaKey, jose.RS256},
	{"credential_eddsa.jwt", edKey, jose.EdDSA},
}

func readGoldenToken(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("read golden token (run with -update to create it): %v", err)
	}
	return strings.TrimSpace(string(data))
}

func TestSignCredentialGolden(t *testing.T) {
	for _, g := range goldenTokens {
		t.Run(g.file, func(t *testing.T) {
			tok, err := mustSigner(t, g.key(t)).SignCredential(mustDocument(t))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, g.file, []byte(tok+"\n"))
		})
	}
}

func TestGoldenTokensVerify(t *testing.T) {
	want, err := json.Marshal(mustDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldenTokens {
		t.Run(g.file, func(t *testing.T) {
			tok := readGoldenToken(t, g.file)
			key := g.key(t)

			payload, err := mustVerifier(t, rsaKey(t), edKey(t)).Verify(tok, testNow)
			if err != nil {
				t.Fatalf("our verifier: %v", err)
			}
			for claim, want := range map[string]string{
				"iss": "https://certs.example.org/issuer",
				"jti": "urn:uuid:3f2b8c1e-5d4a-4e6b-9a7c-1b2d3e4f5a6b",
				"sub": "urn:uuid:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
				"nbf": "1773500645", // 2026-03-14T15:04:05Z
				"exp": "1838177999", // 2028-04-01T04:59:59Z
			} {
				if got := payload[claim]; toString(got) != want {
					t.Errorf("%s = %v, want %s", claim, got, want)
				}
			}
			if _, wrapped := payload["vc"]; wrapped {
				t.Error("payload has a vc wrapper claim")
			}

			// An independent JOSE implementation accepts the token too.
			jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{g.alg})
			if err != nil {
				t.Fatalf("go-jose parse: %v", err)
			}
			h := jws.Signatures[0].Protected
			if h.KeyID != key.KID || h.Algorithm != string(g.alg) || h.ExtraHeaders["typ"] != "JWT" || len(h.ExtraHeaders) != 1 {
				t.Errorf("go-jose header = %+v", h)
			}
			body, err := jws.Verify(key.Private.Public())
			if err != nil {
				t.Fatalf("go-jose verify: %v", err)
			}
			// The payload is the credential document itself, with only the claims added.
			var doc map[string]any
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{"iss", "jti", "sub", "nbf", "exp"} {
				delete(doc, c)
			}
			got, _ := json.Marshal(doc)
			var wantDoc map[string]any
			_ = json.Unmarshal(want, &wantDoc)
			wantNorm, _ := json.Marshal(wantDoc)
			if string(got) != string(wantNorm) {
				t.Errorf("payload without claims:\ngot  %s\nwant %s", got, wantNorm)
			}
		})
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case string:
		return x
	}
	return ""
}

// TestFlippedByteFails flips one bit in each byte of the payload and signature of each golden
// token: neither our verifier nor go-jose may accept any of them.
func TestFlippedByteFails(t *testing.T) {
	v := mustVerifier(t, rsaKey(t), edKey(t))
	for _, g := range goldenTokens {
		t.Run(g.file, func(t *testing.T) {
			tok := readGoldenToken(t, g.file)
			pub := g.key(t).Private.Public()
			dot := strings.Index(tok, ".")
			for i := dot + 1; i < len(tok); i++ {
				if tok[i] == '.' {
					continue
				}
				b := []byte(tok)
				b[i] ^= 0x01
				bad := string(b)
				if _, err := v.VerifySignature(bad); err == nil {
					t.Fatalf("our verifier accepted a flip at %d", i)
				} else if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformedToken) {
					t.Fatalf("flip at %d: got %v, want ErrSignature or ErrMalformedToken", i, err)
				}
				if jws, err := jose.ParseSignedCompact(bad, []jose.SignatureAlgorithm{g.alg}); err == nil {
					if _, err := jws.Verify(pub); err == nil {
						t.Fatalf("go-jose accepted a flip at %d", i)
					}
				}
			}
		})
	}
}

// forge builds a token with the given header over the golden payload and signature.
func forge(t *testing.T, header string, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	return b64.EncodeToString([]byte(header)) + "." + parts[1] + "." + parts[2]
}

func TestVerifyRejects(t *testing.T) {
	rs, ed := rsaKey(t), edKey(t)
	v := mustVerifier(t, rs, ed)
	rsTok := readGoldenToken(t, "credential_rs256.jwt")
	edTok := readGoldenToken(t, "credential_eddsa.jwt")
	parts := strings.Split(rsTok, ".")

	// An EdDSA signature made with the Ed25519 key over a header naming the RSA kid.
	edSignedAsRSAKid := func() string {
		s := mustSigner(t, Key{KID: rs.KID, Alg: AlgEdDSA, Private: ed.Private})
		tok, err := s.SignCredential(mustDocument(t))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}()
	other := mustSigner(t, Key{KID: "https://elsewhere.example/keys/x", Alg: AlgEdDSA, Private: ed.Private})
	unknownKid, _ := other.SignCredential(mustDocument(t))

	for _, c := range []struct {
		name  string
		token string
		want  error
	}{
		{"AlgNone", forge(t, `{"alg":"none","kid":"`+rs.KID+`","typ":"JWT"}`, rsTok), ErrAlgorithm},
		{"AlgNoneEmptySig", forge(t, `{"alg":"none","kid":"`+rs.KID+`"}`, parts[0]+"."+parts[1]+"."), ErrAlgorithm},
		{"AlgSwappedToHS256", forge(t, `{"alg":"HS256","kid":"`+rs.KID+`","typ":"JWT"}`, rsTok), ErrAlgorithm},
		{"AlgSwappedToEdDSA", edSignedAsRSAKid, ErrAlgorithm},
		{"AlgSwappedToPS256", forge(t, `{"alg":"PS256","kid":"`+rs.KID+`","typ":"JWT"}`, rsTok), ErrAlgorithm},
		{"KidOfOtherKey", forge(t, `{"alg":"EdDSA","kid":"`+ed.KID+`","typ":"JWT"}`, rsTok), ErrSignature},
		{"UnknownKid", unknownKid, ErrUnknownKey},
		{"NoKid", forge(t, `{"alg":"RS256","typ":"JWT"}`, rsTok), ErrUnknownKey},
		{"JKUHeader", forge(t, `{"alg":"RS256","kid":"`+rs.KID+`","jku":"https://evil.example/jwks"}`, rsTok), ErrAlgorithm},
		{"EmbeddedJWK", forge(t, `{"alg":"RS256","kid":"`+rs.KID+`","jwk":{}}`, rsTok), ErrAlgorithm},
		{"OtherTyp", forge(t, `{"alg":"RS256","kid":"`+rs.KID+`","typ":"at+jwt"}`, rsTok), ErrAlgorithm},
		{"TwoParts", parts[0] + "." + parts[1], ErrMalformedToken},
		{"HeaderNotJSON", forge(t, `not json`, rsTok), ErrMalformedToken},
		{"Empty", "", ErrMalformedToken},
		{"SignatureOfOtherToken", parts[0] + "." + parts[1] + "." + strings.Split(edTok, ".")[2], ErrSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			payload, err := v.Verify(c.token, testNow)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if payload != nil {
				t.Error("payload returned for a token that failed its signature check")
			}
		})
	}
}

func TestVerifyDates(t *testing.T) {
	v := mustVerifier(t, rsaKey(t))
	tok := readGoldenToken(t, "credential_rs256.jwt")
	validFrom := time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC)
	validUntil := time.Date(2028, 4, 1, 4, 59, 59, 0, time.UTC)
	for _, c := range []struct {
		name string
		now  time.Time
		want error
	}{
		{"JustValid", validFrom.Add(-DateLeeway), nil},
		{"NotYetValid", validFrom.Add(-DateLeeway - time.Second), ErrNotYetValid},
		{"LastSecond", validUntil.Add(DateLeeway), nil},
		{"Expired", validUntil.Add(DateLeeway + time.Second), ErrExpired},
	} {
		t.Run(c.name, func(t *testing.T) {
			payload, err := v.Verify(tok, c.now)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			// A genuine credential outside its dates is still returned, to be shown as expired.
			if payload == nil || payload["id"] != "urn:uuid:3f2b8c1e-5d4a-4e6b-9a7c-1b2d3e4f5a6b" {
				t.Fatalf("payload = %v", payload)
			}
			if c.want != nil && (errors.Is(err, ErrSignature) || errors.Is(err, ErrMalformedToken)) {
				t.Fatalf("date failure %v also reads as a signature failure", err)
			}
		})
	}
}

func TestCheckDatesMalformed(t *testing.T) {
	for name, p := range map[string]map[string]any{
		"ExpString":    {"exp": "soon"},
		"NbfHuge":      {"nbf": json.Number("1e300")},
		"ValidFromBad": {"validFrom": "2026-03-14"},
	} {
		if err := CheckDates(p, testNow); !errors.Is(err, ErrMalformedToken) {
			t.Errorf("%s: got %v, want ErrMalformedToken", name, err)
		}
	}
	if err := CheckDates(map[string]any{}, testNow); err != nil {
		t.Errorf("no dates: got %v, want nil", err)
	}
}

func TestSignGeneric(t *testing.T) {
	k := edKey(t)
	s := mustSigner(t, k)
	list, err := s.SignDocument(map[string]any{"id": "https://certs.example.org/v1/status-lists/1"},
		Claims{Issuer: "https://certs.example.org/issuer", ID: "https://certs.example.org/v1/status-lists/1", NotBefore: testNow})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := mustVerifier(t, k).Verify(list, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := payload["exp"]; ok {
		t.Error("exp written for a document without an end")
	}
	if _, ok := payload["sub"]; ok {
		t.Error("sub written for a document without a subject")
	}
	plain, err := s.Sign(struct {
		A string `json:"a"`
	}{"x&y"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := b64.DecodeString(strings.Split(plain, ".")[1]); string(got) != `{"a":"x&y"}` {
		t.Errorf("payload = %s, want {\"a\":\"x&y\"}", got)
	}
	if _, err := s.SignDocument([]int{1}, Claims{}); err == nil {
		t.Error("signed a document that is not a JSON object")
	}
}

func TestNewSignerRejectsMismatch(t *testing.T) {
	rs, ed := rsaKey(t), edKey(t)
	for name, k := range map[string]Key{
		"RSAasEdDSA": {KID: rs.KID, Alg: AlgEdDSA, Private: rs.Private},
		"EdAsRS256":  {KID: ed.KID, Alg: AlgRS256, Private: ed.Private},
		"NoKID":      {Alg: AlgEdDSA, Private: ed.Private},
	} {
		if _, err := NewSigner(k); !errors.Is(err, ErrUnsupportedKey) {
			t.Errorf("%s: got %v, want ErrUnsupportedKey", name, err)
		}
	}
	if _, err := NewVerifier(PublicKey{KID: rs.KID, Alg: AlgEdDSA, Key: rs.Private.Public()}); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("verifier pinned RSA key to EdDSA: got %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	for _, g := range goldenTokens {
		data, err := os.ReadFile(filepath.Join("testdata", g.file))
		if err == nil {
			f.Add(strings.TrimSpace(string(data)))
		}
	}
	f.Add("e30.e30.")
	f.Add("..")
	rs, ed := rsaKey(f), edKey(f)
	v := mustVerifier(f, rs, ed)
	f.Fuzz(func(t *testing.T, tok string) {
		payload, err := v.Verify(tok, testNow)
		if err != nil && payload != nil && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrNotYetValid) && !errors.Is(err, ErrMalformedToken) {
			t.Fatalf("payload returned with %v", err)
		}
	})
}
