package credential

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The JSON-LD contexts of an Open Badges 3.0 credential, in the order the standard requires.
const (
	ContextVC2 = "https://www.w3.org/ns/credentials/v2"
	ContextOB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
)

// ErrInvalidCredential is returned by Document for an input that would not make a valid
// credential.
var ErrInvalidCredential = errors.New("invalid credential")

// Issuer describes the program that grants credentials. URL is AALS_PUBLIC_URL + "/issuer",
// which serves the issuer's profile and is its id in credentials; DID is its did:web, listed
// as another identifier so did-based wallets can resolve the keys.
type Issuer struct {
	URL     string
	DID     string
	Name    string
	Website string
}

// Achievement describes what a credential certifies: a course (AALS or ACLS) at an edition.
type Achievement struct {
	ID                string // a URL for the course
	Name              string
	Description       string
	CriteriaNarrative string // what was assessed
	CreditsAvailable  *float64
	Version           string // the course edition
	HumanCode         string // the course code, e.g. "AALS"
}

// StatusEntry is the credential's place in a revocation status list.
type StatusEntry struct {
	ID      string // optional
	ListURL string // the URL of the status list credential
	Index   int
	Purpose string // "revocation" when empty
}

// Credential is everything needed to write one credential document.
type Credential struct {
	ID            string // a UUID; the document's id is urn:uuid:<ID>
	Issuer        Issuer
	Name          string
	ValidFrom     time.Time
	ValidUntil    time.Time
	AwardedDate   time.Time // the first award, kept across reissues
	HolderID      string    // a URI for the holder, e.g. urn:uuid:…
	HolderEmail   string
	EmailSalt     string
	CreditsEarned *float64
	Achievement   Achievement
	Status        StatusEntry
}

// OpenBadgeCredential is an Open Badges 3.0 credential in the VC Data Model 2.0. Fields are
// in the order they are written, so a document always marshals to the same bytes.
type OpenBadgeCredential struct {
	Context           []string           `json:"@context"`
	ID                string             `json:"id"`
	Type              []string           `json:"type"`
	Name              string             `json:"name"`
	Issuer            Profile            `json:"issuer"`
	ValidFrom         string             `json:"validFrom"`
	ValidUntil        string             `json:"validUntil,omitempty"`
	AwardedDate       string             `json:"awardedDate,omitempty"`
	CredentialSubject AchievementSubject `json:"credentialSubject"`
	CredentialStatus  *StatusListEntry   `json:"credentialStatus,omitempty"`
}

// Profile is an Open Badges issuer profile. Context is set only when the profile is a
// document of its own (GET /issuer), not inside a credential.
type Profile struct {
	Context         []string          `json:"@context,omitempty"`
	ID              string            `json:"id"`
	Type            []string          `json:"type"`
	Name            string            `json:"name"`
	URL             string            `json:"url,omitempty"`
	OtherIdentifier []IdentifierEntry `json:"otherIdentifier,omitempty"`
}

// IdentifierEntry is another identifier of a profile. Open Badges 3.0 has no "did" identifier
// type; its enumeration is extended only with "ext:"-prefixed terms, so a DID is "ext:did".
type IdentifierEntry struct {
	Type           string `json:"type"`
	Identifier     string `json:"identifier"`
	IdentifierType string `json:"identifierType"`
}

// AchievementSubject is the holder and what they achieved.
type AchievementSubject struct {
	ID            string              `json:"id,omitempty"`
	Type          []string            `json:"type"`
	Identifier    []IdentityObject    `json:"identifier,omitempty"`
	CreditsEarned *float64            `json:"creditsEarned,omitempty"`
	Achievement   AchievementDocument `json:"achievement"`
}

// IdentityObject identifies the holder by a salted hash, so the credential names the holder's
// email without disclosing it.
type IdentityObject struct {
	Type         string `json:"type"`
	IdentityType string `json:"identityType"`
	Hashed       bool   `json:"hashed"`
	IdentityHash string `json:"identityHash"`
	Salt         string `json:"salt"`
}

// AchievementDocument is the achievement as written in a credential.
type AchievementDocument struct {
	ID               string   `json:"id"`
	Type             []string `json:"type"`
	AchievementType  string   `json:"achievementType"`
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	Criteria         Criteria `json:"criteria"`
	CreditsAvailable *float64 `json:"creditsAvailable,omitempty"`
	Version          string   `json:"version,omitempty"`
	HumanCode        string   `json:"humanCode,omitempty"`
}

// Criteria says what the holder did to earn the achievement.
type Criteria struct {
	Narrative string `json:"narrative"`
}

// StatusListEntry is a Bitstring Status List entry. StatusListIndex is a decimal string, as
// the standard requires.
type StatusListEntry struct {
	ID                   string `json:"id,omitempty"`
	Type                 string `json:"type"`
	StatusPurpose        string `json:"statusPurpose"`
	StatusListIndex      string `json:"statusListIndex"`
	StatusListCredential string `json:"statusListCredential"`
}

// Document returns c as an Open Badges 3.0 OpenBadgeCredential. Times are written in UTC to
// the second. It returns ErrInvalidCredential when a required field is missing, ValidUntil is
// before ValidFrom, or the status index is negative.
func Document(c Credential) (OpenBadgeCredential, error) {
	if err := validate(c); err != nil {
		return OpenBadgeCredential{}, err
	}
	purpose := c.Status.Purpose
	if purpose == "" {
		purpose = "revocation"
	}
	a := c.Achievement
	return OpenBadgeCredential{
		Context:     []string{ContextVC2, ContextOB3},
		ID:          "urn:uuid:" + strings.ToLower(c.ID),
		Type:        []string{"VerifiableCredential", "OpenBadgeCredential"},
		Name:        c.Name,
		Issuer:      issuerProfile(c.Issuer),
		ValidFrom:   FormatTime(c.ValidFrom),
		ValidUntil:  formatOptional(c.ValidUntil),
		AwardedDate: formatOptional(c.AwardedDate),
		CredentialSubject: AchievementSubject{
			ID:            c.HolderID,
			Type:          []string{"AchievementSubject"},
			Identifier:    []IdentityObject{EmailIdentity(c.HolderEmail, c.EmailSalt)},
			CreditsEarned: c.CreditsEarned,
			Achievement: AchievementDocument{
				ID:               a.ID,
				Type:             []string{"Achievement"},
				AchievementType:  "Certification",
				Name:             a.Name,
				Description:      a.Description,
				Criteria:         Criteria{Narrative: a.CriteriaNarrative},
				CreditsAvailable: a.CreditsAvailable,
				Version:          a.Version,
				HumanCode:        a.HumanCode,
			},
		},
		CredentialStatus: &StatusListEntry{
			ID:                   c.Status.ID,
			Type:                 "BitstringStatusListEntry",
			StatusPurpose:        purpose,
			StatusListIndex:      strconv.Itoa(c.Status.Index),
			StatusListCredential: c.Status.ListURL,
		},
	}, nil
}

func validate(c Credential) error {
	var missing []string
	for name, v := range map[string]string{
		"id": c.ID, "issuer URL": c.Issuer.URL, "issuer name": c.Issuer.Name, "name": c.Name,
		"holder email": c.HolderEmail, "email salt": c.EmailSalt, "achievement id": c.Achievement.ID,
		"achievement name": c.Achievement.Name, "achievement description": c.Achievement.Description,
		"criteria": c.Achievement.CriteriaNarrative, "status list URL": c.Status.ListURL,
	} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if c.ValidFrom.IsZero() {
		missing = append(missing, "validFrom")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrInvalidCredential, strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	if !c.ValidUntil.IsZero() && c.ValidUntil.Before(c.ValidFrom) {
		return fmt.Errorf("%w: validUntil %s before validFrom %s", ErrInvalidCredential,
			FormatTime(c.ValidUntil), FormatTime(c.ValidFrom))
	}
	if c.Status.Index < 0 {
		return fmt.Errorf("%w: negative status index %d", ErrInvalidCredential, c.Status.Index)
	}
	return nil
}

// EmailIdentity returns the hashed email identifier of a holder: identityHash is
// "sha256$" + hex(sha256(email + salt)), with the email trimmed and lower-cased so that a
// verifier who types the address in another case still finds a match.
func EmailIdentity(email, salt string) IdentityObject {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email)) + salt))
	return IdentityObject{
		Type:         "IdentityObject",
		IdentityType: "emailAddress",
		Hashed:       true,
		IdentityHash: "sha256$" + hex.EncodeToString(sum[:]),
		Salt:         salt,
	}
}

// IssuerProfile returns the issuer's profile as the standalone document served at GET /issuer,
// whose id is that same URL.
func IssuerProfile(iss Issuer) Profile {
	p := issuerProfile(iss)
	p.Context = []string{ContextVC2, ContextOB3}
	return p
}

func issuerProfile(iss Issuer) Profile {
	p := Profile{ID: iss.URL, Type: []string{"Profile"}, Name: iss.Name, URL: iss.Website}
	if iss.DID != "" {
		p.OtherIdentifier = []IdentifierEntry{{Type: "IdentifierEntry", Identifier: iss.DID, IdentifierType: "ext:did"}}
	}
	return p
}

// FormatTime writes t as an XSD dateTimeStamp: RFC 3339 in UTC, to the second.
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

func formatOptional(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return FormatTime(t)
}
