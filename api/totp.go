package api

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/models"
	"github.com/aalscert/aalscert/password"
)

// TOTP parameters (RFC 6238 defaults, which every authenticator app supports).
const (
	totpIssuer = "aalscert"
	totpPeriod = 30 // seconds per time step
	totpDigits = otp.DigitsSix
)

// totpRoutes registers the TOTP enrolment routes of the signed-in user.
func (s *Server) totpRoutes(g *echo.Group) {
	g.POST("/me/totp", s.startTOTP)
	g.POST("/me/totp/confirm", s.confirmTOTP)
	g.DELETE("/me/totp", s.disableTOTP)
}

// totpSetupResponse is a new, pending TOTP secret, shown once.
type totpSetupResponse struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
}

type totpCodeRequest struct {
	Code string `json:"code"`
}

func (r *totpCodeRequest) validate() error {
	if r.Code == "" {
		return models.Invalid("code", "is required")
	}
	return nil
}

// errTOTPCode is the answer to a wrong or replayed code.
var errTOTPCode = models.Invalid("code", "is wrong or was already used")

// startTOTP handles POST /v1/me/totp. It stores a new pending secret; TOTP is enabled only
// once a code from it is confirmed.
func (s *Server) startTOTP(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	// Starting enrolment needs the password: a stolen access token alone must not be able to
	// put a second factor the owner does not hold in front of their account.
	var in totpStartRequest
	if err := c.Bind(&in); err != nil {
		return err
	}
	if in.Password == "" {
		return models.Invalid("password", "is required")
	}
	if ok, err := password.Verify(in.Password, u.PasswordHash); err != nil || !ok {
		return models.Invalid("password", "is incorrect")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email, Period: totpPeriod, Digits: totpDigits})
	if err != nil {
		return err
	}
	sealed := s.keyring.Seal([]byte(key.Secret()), totpAAD(u))
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		locked, err := models.LockUser(ctx(c), tx.DB, u.ID)
		if err != nil {
			return err
		}
		if locked.TOTPEnabled() {
			return models.ErrTOTPEnabled
		}
		return models.UpdateUser(ctx(c), tx.DB, u.ID, models.UserUpdate{TOTPSecretEnc: &sealed})
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, totpSetupResponse{Secret: key.Secret(), OTPAuthURL: key.URL()})
}

// totpStartRequest is the body of POST /v1/me/totp.
type totpStartRequest struct {
	Password string `json:"password"`
}

// confirmTOTP handles POST /v1/me/totp/confirm.
func (s *Server) confirmTOTP(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	var in totpCodeRequest
	if err := c.Bind(&in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	now := s.now()
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		locked, err := models.LockUser(ctx(c), tx.DB, u.ID)
		switch {
		case err != nil:
			return err
		case locked.TOTPEnabled():
			return models.ErrTOTPEnabled
		case locked.TOTPSecretEnc == nil:
			return models.ErrTOTPNotStarted
		}
		if err := s.spendTOTPCode(ctx(c), tx.DB, locked, in.Code, now); err != nil {
			return err
		}
		enabled := &now
		return models.UpdateUser(ctx(c), tx.DB, u.ID, models.UserUpdate{TOTPEnabledAt: &enabled})
	})
	if err != nil {
		return err
	}
	if u, err = models.FindUser(ctx(c), s.db.Gorm, u.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

// disableTOTP handles DELETE /v1/me/totp. A current code is required, so a stolen access
// token alone cannot remove the second factor.
func (s *Server) disableTOTP(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	var in totpCodeRequest
	if err := c.Bind(&in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		locked, err := models.LockUser(ctx(c), tx.DB, u.ID)
		if err != nil {
			return err
		}
		if !locked.TOTPEnabled() {
			return models.ErrTOTPNotEnabled
		}
		if err := s.spendTOTPCode(ctx(c), tx.DB, locked, in.Code, s.now()); err != nil {
			return err
		}
		var none []byte
		var off *time.Time
		return models.UpdateUser(ctx(c), tx.DB, u.ID, models.UserUpdate{TOTPSecretEnc: &none, TOTPEnabledAt: &off})
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// totpAAD binds a sealed TOTP secret to its user.
func totpAAD(u *models.User) []byte { return []byte("totp:" + u.ID.String()) }

// spendTOTPCode checks code against u's TOTP secret and records its time step, so a code is
// accepted at most once. u must be locked FOR UPDATE in db. It returns errTOTPCode for a wrong
// or already used code.
func (s *Server) spendTOTPCode(ctx context.Context, db *gorm.DB, u *models.User, code string, now time.Time) error {
	if u.TOTPSecretEnc == nil {
		return errTOTPCode
	}
	secret, err := s.keyring.Open(u.TOTPSecretEnc, totpAAD(u))
	if err != nil {
		return err
	}
	step, ok := matchTOTP(string(secret), code, now)
	if !ok || u.TOTPLastStep != nil && step <= *u.TOTPLastStep {
		return errTOTPCode
	}
	last := &step
	return models.UpdateUser(ctx, db, u.ID, models.UserUpdate{TOTPLastStep: &last})
}

// matchTOTP returns the time step whose code equals code. The steps before and after the
// current one are accepted too, for clocks that drift.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	if len(code) != totpDigits.Length() {
		return 0, false
	}
	step := now.Unix() / totpPeriod
	for _, st := range []int64{step - 1, step, step + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(st*totpPeriod, 0),
			totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return st, true
		}
	}
	return 0, false
}
