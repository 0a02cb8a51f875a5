package bench

import (
	"testing"
	"time"

	"github.com/aalscert/aalscert/credential"
)

// signCredential is a realistic AALS credential document: an initial award with CE credits
// and a revocation status entry.
func signCredential(b *testing.B) credential.OpenBadgeCredential {
	b.Helper()
	credits := 8.0
	doc, err := credential.Document(credential.Credential{
		ID: "3f2b8c1e-5d4a-4e6b-9a7c-1b2d3e4f5a6b",
		Issuer: credential.Issuer{
			URL:     "https://certs.example.org/issuer",
			DID:     "did:web:certs.example.org",
			Name:    "AALS Certification Program",
			Website: "https://aals.example.org",
		},
		Name:          "Advanced Anesthesia Life Support (AALS) Provider",
		ValidFrom:     time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC),
		ValidUntil:    time.Date(2028, 4, 1, 4, 59, 59, 0, time.UTC),
		AwardedDate:   time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC),
		HolderID:      "urn:uuid:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
		HolderEmail:   "jane.doe@example.org",
		EmailSalt:     "q8Xn2LkP",
		CreditsEarned: &credits,
		Achievement: credential.Achievement{
			ID:                "https://certs.example.org/courses/AALS",
			Name:              "Advanced Anesthesia Life Support (AALS)",
			Description:       "Perioperative resuscitation for anesthesia professionals.",
			CriteriaNarrative: "Passed the AALS written examination (30 items, pass mark 84%) covering recognition of deterioration, OR-specific reversible causes, crisis management and post-arrest care.",
			CreditsAvailable:  &credits,
			Version:           "2025",
			HumanCode:         "AALS",
		},
		Status: credential.StatusEntry{ListURL: "https://certs.example.org/v1/status-lists/1", Index: 48213},
	})
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

func signerFor(b *testing.B, alg string) (*credential.Signer, *credential.Verifier) {
	b.Helper()
	priv, err := credential.GenerateKey(alg)
	if err != nil {
		b.Fatal(err)
	}
	key, err := credential.NewKey("https://certs.example.org", priv)
	if err != nil {
		b.Fatal(err)
	}
	s, err := credential.NewSigner(key)
	if err != nil {
		b.Fatal(err)
	}
	v, err := credential.NewVerifier(key.Public())
	if err != nil {
		b.Fatal(err)
	}
	return s, v
}

func benchmarkSign(b *testing.B, alg string) {
	s, _ := signerFor(b, alg)
	doc := signCredential(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SignCredential(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkVerify(b *testing.B, alg string) {
	s, v := signerFor(b, alg)
	tok, err := s.SignCredential(signCredential(b))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignRS256 measures issuing one credential as an RS256 VC-JWT (RSA-2048).
func BenchmarkSignRS256(b *testing.B) { benchmarkSign(b, credential.AlgRS256) }

// BenchmarkSignEdDSA measures issuing one credential as an EdDSA VC-JWT (Ed25519).
func BenchmarkSignEdDSA(b *testing.B) { benchmarkSign(b, credential.AlgEdDSA) }

// BenchmarkVerifyRS256 measures checking one RS256 credential: signature and dates.
func BenchmarkVerifyRS256(b *testing.B) { benchmarkVerify(b, credential.AlgRS256) }

// BenchmarkVerifyEdDSA measures checking one EdDSA credential: signature and dates.
func BenchmarkVerifyEdDSA(b *testing.B) { benchmarkVerify(b, credential.AlgEdDSA) }
