package api

import (
	"time"

	"github.com/aalscert/aalscert/models"
)

// userResponse is a user as the API shows it: never a secret.
type userResponse struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Name          string    `json:"name"`
	NameLocked    bool      `json:"name_locked"`
	Profession    *string   `json:"profession"`
	NPI           *string   `json:"npi"`
	LicenseNumber *string   `json:"license_number"`
	LicenseState  *string   `json:"license_state"`
	PlatformRole  *string   `json:"platform_role"`
	TOTPEnabled   bool      `json:"totp_enabled"`
	CreatedAt     time.Time `json:"created_at"`

	// ReminderEmails is whether renewal reminders are emailed (PATCH /v1/me, the unsubscribe link).
	ReminderEmails bool `json:"reminder_emails"`
}

func newUserResponse(u *models.User) userResponse {
	return userResponse{
		ID: u.ID.String(), Email: u.Email, EmailVerified: u.EmailVerified(), Name: u.Name,
		NameLocked: u.NameLockedAt != nil, Profession: u.Profession, NPI: u.NPI,
		LicenseNumber: u.LicenseNumber, LicenseState: u.LicenseState, PlatformRole: u.PlatformRole,
		TOTPEnabled: u.TOTPEnabled(), ReminderEmails: u.ReminderEmails, CreatedAt: u.CreatedAt.UTC(),
	}
}
