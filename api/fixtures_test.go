package api_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/models"
	"github.com/aalscert/aalscert/password"
)

// fixturePassword is the password of every user made by env.user.
const fixturePassword = "correct horse battery staple"

var fixtureHash = func() string {
	h, err := password.Hash(fixturePassword)
	if err != nil {
		panic(err)
	}
	return h
}()

// userOption adjusts a fixture user before it is stored.
type userOption func(*models.User)

// unverified leaves the user's address unverified.
func unverified(u *models.User) { u.EmailVerifiedAt = nil }

// platformAdmin makes the user one of the program's staff.
func platformAdmin(u *models.User) {
	role := models.PlatformAdmin
	u.PlatformRole = &role
}

// user stores a user with a verified address (unless told otherwise) and returns it with an
// access token, without going through the sign-up routes.
func (e *env) user(t testing.TB, email string, opts ...userOption) (*models.User, string) {
	t.Helper()
	now := e.clock.Now()
	u := &models.User{Email: email, EmailVerifiedAt: &now, PasswordHash: fixtureHash, Name: "User " + email}
	for _, o := range opts {
		o(u)
	}
	if err := models.CreateUser(context.Background(), e.db.Gorm, u); err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u, e.token(t, u)
}

// token mints a fresh access token for u (say, after the clock moved past the last one).
func (e *env) token(t testing.TB, u *models.User) string {
	t.Helper()
	tok, _, err := e.tokens.Issue(u.ID.String(), false)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// org creates an org through the API as the user with token and returns its ID.
func (e *env) org(t testing.TB, token, name string) string {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/orgs", token: token, body: map[string]any{"name": name}})
	if r.Code != 201 {
		t.Fatalf("create org: %d %s", r.Code, r.Body)
	}
	var o struct{ ID string }
	r.decode(t, &o)
	return o.ID
}

// approve marks the org approved, as a platform admin would.
func (e *env) approve(t testing.TB, orgID string) {
	t.Helper()
	admin := e.adminUser(t)
	if _, err := models.ApproveOrg(context.Background(), e.db.Gorm, uuid.MustParse(orgID), admin.ID, e.clock.Now()); err != nil {
		t.Fatalf("approve org: %v", err)
	}
}

// adminUser returns a platform admin, creating one the first time.
func (e *env) adminUser(t testing.TB) *models.User {
	t.Helper()
	u, err := models.FindUserByEmail(context.Background(), e.db.Gorm, "staff@program.test")
	if err == nil {
		return u
	}
	u, _ = e.user(t, "staff@program.test", platformAdmin)
	return u
}

// addMember makes the user a member of the org with roles, bypassing invitations.
func (e *env) addMember(t testing.TB, orgID string, u *models.User, roles ...string) {
	t.Helper()
	_, err := e.db.Pool.Exec(context.Background(),
		`INSERT INTO org_members (org_id, user_id, roles, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
		orgID, u.ID, roles, e.clock.Now())
	if err != nil {
		t.Fatalf("add member: %v", err)
	}
}

// apiKey creates an API key for the (approved) org as its admin and returns its ID and key.
func (e *env) apiKey(t testing.TB, adminToken, orgID string) (id, key string) {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgID + "/api-keys", token: adminToken, body: map[string]any{"name": "LIMS"}})
	if r.Code != 201 {
		t.Fatalf("create API key: %d %s", r.Code, r.Body)
	}
	var k struct{ ID, Key string }
	r.decode(t, &k)
	return k.ID, k.Key
}

// count runs a counting query.
func (e *env) count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
