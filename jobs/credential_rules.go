package jobs

import (
	"time"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// CredentialRules are the credential package's rules in the form models.IssueCredential
// takes: verification codes, the end-of-month expiry and renewal rules on the issuer's
// calendar, and status-list indexes from each list's keyed permutation.
func CredentialRules() models.IssueRules {
	return models.IssueRules{
		NewCode: credential.NewCode,
		ValidThrough: func(issued time.Time, loc *time.Location, months int) time.Time {
			return credential.ValidThrough(issued, loc, months).Time()
		},
		RenewedValidThrough: func(old, passed time.Time, loc *time.Location, months int) time.Time {
			return credential.RenewedValidThrough(credential.DateOf(old), passed, loc, months).Time()
		},
		ValidUntil: func(through time.Time, loc *time.Location) time.Time {
			return credential.ValidUntil(credential.DateOf(through), loc)
		},
		SlotIndex:     credential.SlotIndex,
		ListSize:      credential.MinListSize,
		DefaultMonths: credential.ValidityMonths,
	}
}
