package api

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// principal is who is calling: a signed-in user, or an org's API key.
type principal struct {
	User   *models.User
	MFA    bool           // the session was opened with a second factor
	APIKey *models.APIKey // set for API-key callers; User is nil then
}

const principalKey = "aals.principal"

// APIKeyPrefix starts every org API key, so the server can tell keys from access tokens.
const APIKeyPrefix = "aals_"

// authenticate reads the bearer credential, if any, and remembers the caller. It rejects a
// bad credential with 401; routes decide whether a caller is required at all.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		if h == "" {
			return next(c)
		}
		scheme, cred, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
			return problem(http.StatusUnauthorized, "unauthorized", "use Authorization: Bearer <token>")
		}
		p, err := s.resolveCredential(c, strings.TrimSpace(cred))
		if err != nil {
			return err
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

func (s *Server) resolveCredential(c echo.Context, cred string) (*principal, error) {
	if strings.HasPrefix(cred, APIKeyPrefix) {
		key, err := models.AuthenticateAPIKey(ctx(c), s.db.Gorm, cred, s.now())
		if err != nil {
			return nil, problem(http.StatusUnauthorized, "unauthorized", "API key is invalid or revoked")
		}
		return &principal{APIKey: key}, nil
	}
	claims, err := s.tokens.Verify(cred)
	if err != nil {
		return nil, problem(http.StatusUnauthorized, "unauthorized", "access token is invalid or expired")
	}
	id, err := uuid.Parse(claims.Subject)
	if err != nil {
		return nil, problem(http.StatusUnauthorized, "unauthorized", "access token is invalid or expired")
	}
	u, err := models.FindUser(ctx(c), s.db.Gorm, id)
	if err != nil {
		if models.IsNotFound(err) {
			return nil, problem(http.StatusUnauthorized, "unauthorized", "account no longer exists")
		}
		return nil, err
	}
	return &principal{User: u, MFA: claims.MFA}, nil
}

// caller returns the authenticated principal, or nil.
func caller(c echo.Context) *principal {
	p, _ := c.Get(principalKey).(*principal)
	return p
}

// requireUser returns the signed-in user, or a 401 problem. API keys are not users.
func requireUser(c echo.Context) (*models.User, error) {
	p := caller(c)
	if p == nil || p.User == nil {
		return nil, problem(http.StatusUnauthorized, "unauthorized", "sign in to use this route")
	}
	return p.User, nil
}

// requirePlatformAdmin returns the signed-in platform admin. Where AdminMFA is set, the
// session must have been opened with TOTP.
func (s *Server) requirePlatformAdmin(c echo.Context) (*models.User, error) {
	u, err := requireUser(c)
	if err != nil {
		return nil, err
	}
	if !u.IsPlatformAdmin() {
		return nil, problem(http.StatusForbidden, "forbidden", "platform admins only")
	}
	if s.cfg.AdminMFA && !caller(c).MFA {
		return nil, problem(http.StatusForbidden, "mfa-required",
			"platform admins must sign in with a TOTP code; enable TOTP at /v1/me/totp and sign in again")
	}
	return u, nil
}
