package credential

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// update rewrites the golden files in testdata: go test ./credential -update.
var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares got with testdata/name, or rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot  %s\nwant %s", name, got, want)
	}
}

func float(f float64) *float64 { return &f }

// testCredential is an AALS initial credential issued 2026-03-14, valid through 2028-03-31.
func testCredential() Credential {
	return Credential{
		ID: "3f2b8c1e-5d4a-4e6b-9a7c-1b2d3e4f5a6b",
		Issuer: Issuer{
			URL:     "https://certs.example.org/issuer",
			DID:     "did:web:certs.example.org",
			Name:    "AALS Certification Program",
			Website: "https://aals.example.org",
		},
		Name:          "Advanced Anesthesia Life Support (AALS) Provider",
		ValidFrom:     time.Date(2026, 3, 14, 15, 4, 5, 999, time.UTC),
		ValidUntil:    time.Date(2028, 4, 1, 4, 59, 59, 0, time.UTC),
		AwardedDate:   time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC),
		HolderID:      "urn:uuid:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
		HolderEmail:   "Jane.Doe@Example.org ",
		EmailSalt:     "q8Xn2LkP",
		CreditsEarned: float(8),
		Achievement: Achievement{
			ID:                "https://certs.example.org/courses/AALS",
			Name:              "Advanced Anesthesia Life Support (AALS)",
			Description:       "Perioperative resuscitation for anesthesia professionals & teams.",
			CriteriaNarrative: "Passed the AALS written examination (30 items, pass mark 84%) covering recognition of deterioration, OR-specific reversible causes, crisis management and post-arrest care.",
			CreditsAvailable:  float(8),
			Version:           "2025",
			HumanCode:         "AALS",
		},
		Status: StatusEntry{
			ID:      "https://certs.example.org/v1/status-lists/1#48213",
			ListURL: "https://certs.example.org/v1/status-lists/1",
			Index:   48213,
		},
	}
}

func mustDocument(t testing.TB) OpenBadgeCredential {
	t.Helper()
	doc, err := Document(testCredential())
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestDocumentGolden(t *testing.T) {
	// Written as the token carries it: no HTML escaping.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(mustDocument(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "credential.json", buf.Bytes())
}

func TestDocumentShape(t *testing.T) {
	raw, err := json.Marshal(mustDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	get := func(path ...any) any {
		var v any = m
		for _, p := range path {
			switch k := p.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}
	sum := sha256.Sum256([]byte("jane.doe@example.orgq8Xn2LkP"))
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"@context", 0}, "https://www.w3.org/ns/credentials/v2"},
		{[]any{"@context", 1}, "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"},
		{[]any{"id"}, "urn:uuid:3f2b8c1e-5d4a-4e6b-9a7c-1b2d3e4f5a6b"},
		{[]any{"type", 1}, "OpenBadgeCredential"},
		{[]any{"issuer", "id"}, "https://certs.example.org/issuer"},
		{[]any{"issuer", "type", 0}, "Profile"},
		{[]any{"issuer", "otherIdentifier", 0, "identifier"}, "did:web:certs.example.org"},
		{[]any{"issuer", "otherIdentifier", 0, "type"}, "IdentifierEntry"},
		{[]any{"validFrom"}, "2026-03-14T15:04:05Z"},
		{[]any{"validUntil"}, "2028-04-01T04:59:59Z"},
		{[]any{"awardedDate"}, "2026-03-14T15:04:05Z"},
		{[]any{"credentialSubject", "type", 0}, "AchievementSubject"},
		{[]any{"credentialSubject", "identifier", 0, "identityHash"}, "sha256$" + hex.EncodeToString(sum[:])},
		{[]any{"credentialSubject", "identifier", 0, "hashed"}, true},
		{[]any{"credentialSubject", "creditsEarned"}, 8.0},
		{[]any{"credentialSubject", "achievement", "achievementType"}, "Certification"},
		{[]any{"credentialSubject", "achievement", "criteria", "narrative"}, testCredential().Achievement.CriteriaNarrative},
		{[]any{"credentialStatus", "type"}, "BitstringStatusListEntry"},
		{[]any{"credentialStatus", "statusPurpose"}, "revocation"},
		{[]any{"credentialStatus", "statusListIndex"}, "48213"},
	} {
		if got := get(c.path...); got != c.want {
			t.Errorf("%v = %v, want %v", c.path, got, c.want)
		}
	}
}

func TestDocumentInvalid(t *testing.T) {
	for name, mutate := range map[string]func(*Credential){
		"NoID":                func(c *Credential) { c.ID = "" },
		"NoIssuer":            func(c *Credential) { c.Issuer.URL = "" },
		"NoEmail":             func(c *Credential) { c.HolderEmail = " " },
		"NoCriteria":          func(c *Credential) { c.Achievement.CriteriaNarrative = "" },
		"NoStatusList":        func(c *Credential) { c.Status.ListURL = "" },
		"NoValidFrom":         func(c *Credential) { c.ValidFrom = time.Time{} },
		"UntilBeforeFrom":     func(c *Credential) { c.ValidUntil = c.ValidFrom.Add(-time.Hour) },
		"NegativeStatusIndex": func(c *Credential) { c.Status.Index = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			c := testCredential()
			mutate(&c)
			if _, err := Document(c); !errors.Is(err, ErrInvalidCredential) {
				t.Fatalf("got %v, want ErrInvalidCredential", err)
			}
		})
	}
}

func TestIssuerProfile(t *testing.T) {
	got, err := json.Marshal(IssuerProfile(testCredential().Issuer))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"@context":["https://www.w3.org/ns/credentials/v2","https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],` +
		`"id":"https://certs.example.org/issuer","type":["Profile"],"name":"AALS Certification Program","url":"https://aals.example.org",` +
		`"otherIdentifier":[{"type":"IdentifierEntry","identifier":"did:web:certs.example.org","identifierType":"ext:did"}]}`
	if string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
