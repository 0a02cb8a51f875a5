package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
	"github.com/aalscert/aalscert/password"
)

// Lifetimes of the tokens sent by email.
const (
	verifyEmailTTL   = 48 * time.Hour
	resetPasswordTTL = time.Hour
)

// authRoutes registers sign-up, sign-in, sessions, password reset and TOTP under /v1.
func (s *Server) authRoutes(g *echo.Group) {
	g.POST("/auth/register", s.register)
	g.POST("/auth/verify-email", s.verifyEmail)
	g.POST("/auth/verify-email/resend", s.resendVerifyEmail)
	g.POST("/auth/login", s.login)
	g.POST("/auth/refresh", s.refresh)
	g.POST("/auth/logout", s.logout)
	g.POST("/auth/password-reset", s.requestPasswordReset)
	g.POST("/auth/password-reset/confirm", s.confirmPasswordReset)
	s.totpRoutes(g)
}

type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

func (r *registerRequest) validate() error {
	ve := &models.ValidationError{}
	if msg := emailAddressProblem(r.Email); msg != "" {
		ve.Add("email", msg)
	}
	if msg := password.Check(r.Password); msg != "" {
		ve.Add("password", msg)
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(r.Name)); n < 1 || n > 200 {
		ve.Add("name", "must be 1 to 200 characters")
	}
	return ve.Err()
}

// emailAddressProblem returns "" for a plain address (local@domain), else what is wrong.
func emailAddressProblem(s string) string {
	s = models.NormalizeEmail(s)
	switch {
	case s == "":
		return "is required"
	case len(s) > 254:
		return "must be at most 254 characters"
	}
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "is not an email address"
	}
	return ""
}

// register handles POST /v1/auth/register.
func (s *Server) register(c echo.Context) error {
	var in registerRequest
	if err := c.Bind(&in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	hash, err := password.Hash(in.Password)
	if err != nil {
		return err
	}
	u := &models.User{Email: in.Email, PasswordHash: hash, Name: strings.TrimSpace(in.Name)}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if err := models.CreateUser(ctx(c), tx.DB, u); err != nil {
			return err
		}
		return s.sendVerifyEmail(ctx(c), tx, u)
	})
	if err != nil {
		return err
	}
	u, err = models.FindUser(ctx(c), s.db.Gorm, u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newUserResponse(u))
}

// sendVerifyEmail sends u a link that confirms u's current address, within tx.
func (s *Server) sendVerifyEmail(ctx context.Context, tx models.Tx, u *models.User) error {
	secret, err := models.CreateUserToken(ctx, tx.DB, u.ID, models.TokenVerifyEmail, u.Email, verifyEmailTTL, s.now())
	if err != nil {
		return err
	}
	return s.sendMail(ctx, tx, outgoing{
		To: u.Email, UserID: &u.ID, Template: "verify_email", Secrets: []string{secret},
		Data: map[string]any{"Name": u.Name, "Email": u.Email, "ExpiresIn": "48 hours",
			"Link": s.cfg.AppURL + "/verify-email?token=" + url.QueryEscape(secret)},
	})
}

type tokenRequest struct {
	Token string `json:"token"`
}

// verifyEmail handles POST /v1/auth/verify-email.
func (s *Server) verifyEmail(c echo.Context) error {
	var in tokenRequest
	if err := c.Bind(&in); err != nil {
		return err
	}
	if in.Token == "" {
		return models.Invalid("token", "is required")
	}
	u, err := s.applyEmailVerification(ctx(c), in.Token)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

// applyEmailVerification spends a verify-email token and marks the address it was sent to
// verified, if that is still the user's address. It returns ErrTokenInvalid otherwise.
// Credentials held back for the unverified address are issued in the same transaction.
func (s *Server) applyEmailVerification(ctx context.Context, secret string) (*models.User, error) {
	now := s.now()
	var u *models.User
	err := s.db.InTx(ctx, func(tx models.Tx) error {
		tok, err := models.SpendUserToken(ctx, tx.DB, secret, models.TokenVerifyEmail, now)
		if err != nil {
			return err
		}
		if u, err = models.LockUser(ctx, tx.DB, tok.UserID); err != nil {
			return err
		}
		if !strings.EqualFold(tok.Email, u.Email) {
			return models.ErrTokenInvalid
		}
		if u.EmailVerifiedAt != nil {
			return nil
		}
		u.EmailVerifiedAt = &now
		if err := models.UpdateUser(ctx, tx.DB, u.ID, models.UserUpdate{EmailVerifiedAt: &u.EmailVerifiedAt}); err != nil {
			return err
		}
		return jobs.IssueHeldCredentials(ctx, tx, s.issuance(), u.ID)
	})
	return u, err
}

// resendVerifyEmail handles POST /v1/auth/verify-email/resend.
func (s *Server) resendVerifyEmail(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	if u.EmailVerified() {
		return models.ErrEmailVerified
	}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		allowed, err := s.mailBudgetLeft(ctx(c), tx, u.ID, models.TokenVerifyEmail)
		if err != nil {
			return err
		}
		if !allowed {
			return &Problem{Code: "too-many-requests", Status: http.StatusTooManyRequests, Title: titles["too-many-requests"],
				Detail: "too many verification emails in the last hour; use the newest one", Headers: retryAfter(3600)}
		}
		return s.sendVerifyEmail(ctx(c), tx, u)
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusAccepted)
}

// mailsPerHour bounds the verification and reset emails one account can trigger, so nobody
// can flood a mailbox through these routes.
const mailsPerHour = 5

// mailBudgetLeft reports whether another email of purpose may go to the user this hour. It
// locks the user row so concurrent requests count one after another.
func (s *Server) mailBudgetLeft(ctx context.Context, tx models.Tx, userID uuid.UUID, purpose string) (bool, error) {
	if _, err := models.LockUser(ctx, tx.DB, userID); err != nil {
		return false, err
	}
	n, err := models.CountUserTokensSince(ctx, tx.DB, userID, purpose, s.now().Add(-time.Hour))
	return n < mailsPerHour, err
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	TOTPCode string `json:"totp_code"`
}

func (r *loginRequest) validate() error {
	ve := &models.ValidationError{}
	if strings.TrimSpace(r.Email) == "" {
		ve.Add("email", "is required")
	}
	if r.Password == "" {
		ve.Add("password", "is required")
	}
	return ve.Err()
}

// tokenPairResponse is what a sign-in or a refresh returns.
type tokenPairResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// login handles POST /v1/auth/login.
func (s *Server) login(c echo.Context) error {
	var in loginRequest
	if err := c.Bind(&in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	u, mfa, err := s.signIn(c, in)
	if err != nil {
		return err
	}
	return s.openSession(c, u, mfa)
}

// signIn checks credentials for the login route and for pages' sign-in forms alike:
// throttled, every failure counted, a success clearing its (account, address) counter. It
// reports whether a second factor was verified.
func (s *Server) signIn(c echo.Context, in loginRequest) (*models.User, bool, error) {
	now := s.now()
	u, err := models.FindUserByEmail(ctx(c), s.db.Gorm, in.Email)
	if err != nil && !models.IsNotFound(err) {
		return nil, false, err
	}
	att := models.LoginAttempt{Account: models.LoginAccount(u, in.Email), Addr: c.RealIP()}
	if err := s.loginThrottled(c, att, now); err != nil {
		return nil, false, err
	}
	mfa, err := s.checkLogin(ctx(c), u, in, now)
	if errors.Is(err, models.ErrInvalidCredentials) {
		if rerr := models.RecordLoginFailure(ctx(c), s.db.Gorm, att, now); rerr != nil {
			return nil, false, rerr
		}
	}
	if err != nil {
		return nil, false, err
	}
	return u, mfa, models.ClearLoginFailures(ctx(c), s.db.Gorm, att)
}

// loginThrottled returns a 429 problem if the attempt must wait, else nil.
func (s *Server) loginThrottled(c echo.Context, att models.LoginAttempt, now time.Time) error {
	wait, err := models.LoginWait(ctx(c), s.db.Gorm, att, now)
	if err != nil || wait <= 0 {
		return err
	}
	secs := int(math.Ceil(wait.Seconds()))
	p := problem(http.StatusTooManyRequests, "too-many-requests", "too many failed sign-ins; wait before trying again")
	p.Headers = retryAfter(secs)
	p.Extra = map[string]any{"retry_after": max(secs, 1)}
	return p
}

// checkLogin checks the password and, if the account has TOTP, the code. It reports whether a
// second factor was verified. Unknown address, an account with no password yet (see
// models.NoPassword), wrong password and wrong code all return ErrInvalidCredentials, after
// about the same work.
func (s *Server) checkLogin(ctx context.Context, u *models.User, in loginRequest, now time.Time) (bool, error) {
	if u == nil || !u.HasPassword() {
		password.VerifyNone(in.Password)
		return false, models.ErrInvalidCredentials
	}
	ok, err := password.Verify(in.Password, u.PasswordHash)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, models.ErrInvalidCredentials
	}
	if !u.TOTPEnabled() {
		return false, nil
	}
	if in.TOTPCode == "" {
		return false, models.ErrTOTPRequired
	}
	err = s.db.InTx(ctx, func(tx models.Tx) error {
		locked, err := models.LockUser(ctx, tx.DB, u.ID)
		if err != nil {
			return err
		}
		return s.spendTOTPCode(ctx, tx.DB, locked, in.TOTPCode, now)
	})
	if err != nil {
		if errors.Is(err, models.ErrInvalid) {
			return false, models.ErrInvalidCredentials
		}
		return false, err
	}
	return true, nil
}

// refreshClient describes the caller for the records of its refresh tokens.
func refreshClient(c echo.Context) models.RefreshClient {
	return models.RefreshClient{UserAgent: c.Request().UserAgent(), ClientIP: c.RealIP()}
}

// openSession starts a refresh-token family for u and answers with a token pair.
func (s *Server) openSession(c echo.Context, u *models.User, mfa bool) error {
	refresh, err := models.CreateRefreshToken(ctx(c), s.db.Gorm, u.ID, mfa, refreshClient(c), s.now())
	if err != nil {
		return err
	}
	return s.tokenPair(c, u.ID.String(), mfa, refresh)
}

// tokenPair answers with a fresh access token and the given refresh token. Token responses
// are never cached (RFC 6749, section 5.1).
func (s *Server) tokenPair(c echo.Context, userID string, mfa bool, refresh string) error {
	access, ttl, err := s.tokens.Issue(userID, mfa)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, tokenPairResponse{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", ExpiresIn: ttl})
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (r *refreshRequest) validate() error {
	if r.RefreshToken == "" {
		return models.Invalid("refresh_token", "is required")
	}
	return nil
}

// refresh handles POST /v1/auth/refresh.
func (s *Server) refresh(c echo.Context) error {
	var in refreshRequest
	if err := c.Bind(&in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	var next string
	var old *models.RefreshToken
	var reused error
	err := s.db.InTx(ctx(c), func(tx models.Tx) error {
		var err error
		next, old, err = models.RotateRefreshToken(ctx(c), tx.DB, in.RefreshToken, refreshClient(c), s.now())
		if errors.Is(err, models.ErrRefreshReused) {
			reused = err // commit the family's revocation, then refuse
			return nil
		}
		return err
	})
	switch {
	case reused != nil:
		return reused
	case errors.Is(err, models.ErrUnauthorized):
		return problem(http.StatusUnauthorized, "unauthorized", "refresh token is invalid or expired")
	case err != nil:
		return err
	}
	return s.tokenPair(c, old.UserID.String(), old.MFA, next)
}

// logout handles POST /v1/auth/logout.
func (s *Server) logout(c echo.Context) error {
	var in refreshRequest
	if err := c.Bind(&in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	if err := models.RevokeRefreshToken(ctx(c), s.db.Gorm, in.RefreshToken, s.now()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type passwordResetRequest struct {
	Email string `json:"email"`
}

// requestPasswordReset handles POST /v1/auth/password-reset. It answers 202 whether or not
// the address is registered.
func (s *Server) requestPasswordReset(c echo.Context) error {
	var in passwordResetRequest
	if err := c.Bind(&in); err != nil {
		return err
	}
	if msg := emailAddressProblem(in.Email); msg != "" {
		return models.Invalid("email", msg)
	}
	u, err := models.FindUserByEmail(ctx(c), s.db.Gorm, in.Email)
	if models.IsNotFound(err) {
		return c.NoContent(http.StatusAccepted)
	}
	if err != nil {
		return err
	}
	// Past the hourly budget the answer is the same 202, so it tells nothing about the account.
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		allowed, err := s.mailBudgetLeft(ctx(c), tx, u.ID, models.TokenResetPassword)
		if err != nil || !allowed {
			return err
		}
		return s.sendResetPassword(ctx(c), tx, u)
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusAccepted)
}

// sendResetPassword sends u a link to choose a new password, within tx.
func (s *Server) sendResetPassword(ctx context.Context, tx models.Tx, u *models.User) error {
	secret, err := models.CreateUserToken(ctx, tx.DB, u.ID, models.TokenResetPassword, u.Email, resetPasswordTTL, s.now())
	if err != nil {
		return err
	}
	return s.sendMail(ctx, tx, outgoing{
		To: u.Email, UserID: &u.ID, Template: "reset_password", Secrets: []string{secret},
		Data: map[string]any{"Name": u.Name, "ExpiresIn": "1 hour",
			"Link": s.cfg.AppURL + "/reset-password?token=" + url.QueryEscape(secret)},
	})
}

type passwordResetConfirmRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// confirmPasswordReset handles POST /v1/auth/password-reset/confirm.
func (s *Server) confirmPasswordReset(c echo.Context) error {
	var in passwordResetConfirmRequest
	if err := c.Bind(&in); err != nil {
		return err
	}
	ve := &models.ValidationError{}
	if in.Token == "" {
		ve.Add("token", "is required")
	}
	if msg := password.Check(in.Password); msg != "" {
		ve.Add("password", msg)
	}
	if err := ve.Err(); err != nil {
		return err
	}
	if err := s.applyPasswordReset(ctx(c), in.Token, in.Password); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// applyPasswordReset spends a reset token and sets the password, which the caller has checked
// against the policy. Other reset links stop working and every session of the user is
// revoked. It returns ErrTokenInvalid for an unknown, used or expired token, or one sent to
// an address the user no longer has.
func (s *Server) applyPasswordReset(ctx context.Context, secret, pw string) error {
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	now := s.now()
	return s.db.InTx(ctx, func(tx models.Tx) error {
		tok, err := models.SpendUserToken(ctx, tx.DB, secret, models.TokenResetPassword, now)
		if err != nil {
			return err
		}
		u, err := models.LockUser(ctx, tx.DB, tok.UserID)
		if err != nil {
			return err
		}
		if !strings.EqualFold(tok.Email, u.Email) {
			return models.ErrTokenInvalid
		}
		if err := models.UpdateUser(ctx, tx.DB, u.ID, models.UserUpdate{PasswordHash: &hash}); err != nil {
			return err
		}
		if err := models.RevokeUserTokens(ctx, tx.DB, u.ID, models.TokenResetPassword, now); err != nil {
			return err
		}
		if err := models.DeleteUserAdminSessions(ctx, tx.DB, u.ID); err != nil {
			return err
		}
		return models.RevokeUserRefreshTokens(ctx, tx.DB, u.ID, now)
	})
}
