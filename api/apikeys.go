package api

import (
	"crypto/rand"
	"encoding/base32"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/lib/pq"

	"github.com/aalscert/aalscert/models"
)

// apiKeyResponse is an org's API key. Key is set only in the answer that creates it.
type apiKeyResponse struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Key        string     `json:"key,omitempty"`
	Scopes     []string   `json:"scopes"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

func newAPIKeyResponse(k models.APIKey) apiKeyResponse {
	return apiKeyResponse{ID: k.ID.String(), Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes,
		LastUsedAt: utcPtr(k.LastUsedAt), RevokedAt: utcPtr(k.RevokedAt), CreatedAt: k.CreatedAt.UTC()}
}

// keyAlphabet is lowercase base32: no underscore, so a key splits unambiguously on "_".
var keyAlphabet = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newAPIKey returns a fresh key "aals_<prefix>_<secret>" and its prefix: 12 characters (60
// bits) to find the key by, and 256 bits of secret.
func newAPIKey() (prefix, key string) {
	b := make([]byte, 40)
	_, _ = rand.Read(b)
	prefix = keyAlphabet.EncodeToString(b[:8])[:12]
	return prefix, APIKeyPrefix + prefix + "_" + keyAlphabet.EncodeToString(b[8:])
}

// apiKeyInput is the body of POST /v1/orgs/{orgID}/api-keys.
type apiKeyInput struct {
	Name string `json:"name"`
}

// createAPIKey handles POST /v1/orgs/{orgID}/api-keys: an admin of an approved org creates a
// key that verifies on the org's behalf. The key is in this answer only; the server keeps a
// hash.
func (s *Server) createAPIKey(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	var in apiKeyInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return models.Invalid("name", "must be 1 to 100 characters")
	}
	if !sc.Org.Approved() {
		return models.ErrOrgNotApproved
	}
	prefix, key := newAPIKey()
	k := &models.APIKey{OrgID: sc.Org.ID, Name: name, Prefix: prefix, SecretHash: models.HashSecret(key),
		Scopes: pq.StringArray{models.ScopeVerify}, CreatedBy: sc.user().ID, CreatedAt: s.now()}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if err := models.CreateAPIKey(ctx(c), tx.DB, k); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "api_key.create", ObjectType: "api_key",
			ObjectID: k.ID.String(), After: newAPIKeyResponse(*k)})
	})
	if err != nil {
		return err
	}
	out := newAPIKeyResponse(*k)
	out.Key = key
	return c.JSON(http.StatusCreated, out)
}

// listAPIKeys handles GET /v1/orgs/{orgID}/api-keys: the org's keys, without their secrets.
func (s *Server) listAPIKeys(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListAPIKeys(ctx(c), s.db.Gorm, models.APIKeyFilter{OrgID: sc.Org.ID, Page: page})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, newAPIKeyResponse))
}

// revokeAPIKey handles DELETE /v1/orgs/{orgID}/api-keys/{keyID}: the key stops working at
// once.
func (s *Server) revokeAPIKey(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	id, err := pathID(c, "keyID")
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		k, err := models.RevokeAPIKey(ctx(c), tx.DB, sc.Org.ID, id, s.now())
		if err != nil {
			return err
		}
		before := newAPIKeyResponse(*k)
		before.RevokedAt = nil
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "api_key.revoke", ObjectType: "api_key",
			ObjectID: id.String(), Before: before, After: newAPIKeyResponse(*k)})
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
