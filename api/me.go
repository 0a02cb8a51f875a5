package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
	"github.com/aalscert/aalscert/password"
)

// meRoutes registers the signed-in user's profile and data export. (TOTP enrolment under
// /me/totp is registered by totp.go.)
func (s *Server) meRoutes(g *echo.Group) {
	g.GET("/me", s.getMe)
	g.PATCH("/me", s.updateMe)
	g.GET("/me/export", s.exportMe)
}

// Professions a provider may state.
var professions = []string{"crna", "anesthesiologist", "anesthesiologist_assistant", "srna",
	"physician", "nurse", "paramedic", "other"}

// licenseStates are the US states, DC and the territories that license clinicians.
var licenseStates = strings.Fields(`AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD
	MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY
	DC AS GU MP PR VI`)

// getMe handles GET /v1/me.
func (s *Server) getMe(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

// meUpdateInput is the body of PATCH /v1/me. Each field is raw JSON so that an absent field
// (left alone) differs from null (cleared).
type meUpdateInput struct {
	Name            json.RawMessage `json:"name"`
	Profession      json.RawMessage `json:"profession"`
	NPI             json.RawMessage `json:"npi"`
	LicenseNumber   json.RawMessage `json:"license_number"`
	LicenseState    json.RawMessage `json:"license_state"`
	Email           json.RawMessage `json:"email"`
	CurrentPassword json.RawMessage `json:"current_password"`
	ReminderEmails  json.RawMessage `json:"reminder_emails"`
}

// meUpdate is a validated PATCH /v1/me.
type meUpdate struct {
	upd      models.UserUpdate
	newEmail string // "" unless the address changes
	password string
}

// updateMe handles PATCH /v1/me. Changing the address needs the current password, marks the
// account unverified and sends a link to the new address. reminder_emails takes effect at the
// next reminder scan.
func (s *Server) updateMe(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	var in meUpdateInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	mu, err := in.validate(u)
	if err != nil {
		return err
	}
	if err := mu.authorize(u); err != nil {
		return err
	}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if err := models.UpdateUser(ctx(c), tx.DB, u.ID, mu.upd); err != nil {
			return err
		}
		if mu.newEmail == "" {
			return nil
		}
		return s.sendAddressChange(c, tx, u, mu.newEmail)
	})
	if err != nil {
		return err
	}
	if u, err = models.FindUser(ctx(c), s.db.Gorm, u.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

// authorize refuses a name change once the name is locked, and an address change without the
// right password.
func (mu *meUpdate) authorize(u *models.User) error {
	if mu.upd.Name != nil && *mu.upd.Name != u.Name && u.NameLockedAt != nil {
		return models.ErrNameLocked
	}
	if mu.newEmail == "" {
		return nil
	}
	ok, err := password.Verify(mu.password, u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return models.Invalid("current_password", "is wrong")
	}
	return nil
}

// sendAddressChange spends older verification links and sends one to the new address.
func (s *Server) sendAddressChange(c echo.Context, tx models.Tx, u *models.User, email string) error {
	if err := models.RevokeUserTokens(ctx(c), tx.DB, u.ID, models.TokenVerifyEmail, s.now()); err != nil {
		return err
	}
	changed := *u
	changed.Email = email
	return s.sendVerifyEmail(ctx(c), tx, &changed)
}

// validate checks every field and reports all errors together.
func (in *meUpdateInput) validate(u *models.User) (*meUpdate, error) {
	v := &models.ValidationError{}
	mu := &meUpdate{}
	if name, set := patchString(v, "name", in.Name); set {
		mu.upd.Name = profileName(v, name)
	}
	if p, set := patchString(v, "profession", in.Profession); set {
		mu.upd.Profession = patchNullable(v, "profession", p, profileOneOf(professions, "must be one of "+strings.Join(professions, ", ")))
	}
	if n, set := patchString(v, "npi", in.NPI); set {
		mu.upd.NPI = patchNullable(v, "npi", n, profileNPI)
	}
	if l, set := patchString(v, "license_number", in.LicenseNumber); set {
		mu.upd.LicenseNumber = patchNullable(v, "license_number", l, profileLicenseNumber)
	}
	if st, set := patchString(v, "license_state", in.LicenseState); set {
		mu.upd.LicenseState = patchNullable(v, "license_state", st, profileLicenseState)
	}
	mu.upd.ReminderEmails = patchBool(v, "reminder_emails", in.ReminderEmails)
	mu.email(v, in, u)
	return mu, v.Err()
}

// email records an address change, which needs current_password.
func (mu *meUpdate) email(v *models.ValidationError, in *meUpdateInput, u *models.User) {
	e, set := patchString(v, "email", in.Email)
	if !set {
		return
	}
	if e == nil {
		v.Add("email", "must not be null")
		return
	}
	addr := models.NormalizeEmail(*e)
	if msg := emailAddressProblem(addr); msg != "" {
		v.Add("email", msg)
		return
	}
	if strings.EqualFold(addr, u.Email) {
		return
	}
	pw, _ := patchString(v, "current_password", in.CurrentPassword)
	if pw == nil || *pw == "" {
		v.Add("current_password", "is required to change the email address")
		return
	}
	var unverified *time.Time
	mu.newEmail, mu.password = addr, *pw
	mu.upd.Email, mu.upd.EmailVerifiedAt = &addr, &unverified
}

// patchString reads a PATCH field: (nil, false) when absent, (nil, true) for null, else the
// string. A value of another type is a field error.
func patchString(v *models.ValidationError, field string, raw json.RawMessage) (*string, bool) {
	if raw == nil {
		return nil, false
	}
	if string(raw) == "null" {
		return nil, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		v.Add(field, "must be a string or null")
		return nil, false
	}
	return &s, true
}

// patchBool reads a PATCH field that cannot be cleared: nil when absent, else the boolean. A
// null or a value of another type is a field error.
func patchBool(v *models.ValidationError, field string, raw json.RawMessage) *bool {
	if raw == nil {
		return nil
	}
	var b bool
	if string(raw) == "null" || json.Unmarshal(raw, &b) != nil {
		v.Add(field, "must be true or false")
		return nil
	}
	return &b
}

// nullable returns the update for a field that null clears: a pointer to nil for null, to
// the checked value otherwise, or nil (no change) after recording a field error.
func patchNullable(v *models.ValidationError, field string, s *string, check func(string) (string, string)) **string {
	if s == nil {
		var none *string
		return &none
	}
	val, msg := check(*s)
	if msg != "" {
		v.Add(field, msg)
		return nil
	}
	p := &val
	return &p
}

func profileName(v *models.ValidationError, name *string) *string {
	if name == nil {
		v.Add("name", "must not be null")
		return nil
	}
	n := strings.TrimSpace(*name)
	if n == "" || utf8.RuneCountInString(n) > 200 {
		v.Add("name", "must be 1 to 200 characters")
		return nil
	}
	return &n
}

func profileOneOf(allowed []string, msg string) func(string) (string, string) {
	return func(s string) (string, string) {
		if !slices.Contains(allowed, s) {
			return "", msg
		}
		return s, ""
	}
}

func profileNPI(s string) (string, string) {
	if !models.ValidNPI(s) {
		return "", "must be 10 digits ending in a valid check digit"
	}
	return s, ""
}

func profileLicenseNumber(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 50 {
		return "", "must be 1 to 50 characters (null clears it)"
	}
	return s, ""
}

func profileLicenseState(s string) (string, string) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if !slices.Contains(licenseStates, s) {
		return "", "must be a two-letter US state or territory code"
	}
	return s, ""
}
