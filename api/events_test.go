package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// withLoopbackWebhooks lets webhooks reach test servers on 127.0.0.1, as in development.
func withLoopbackWebhooks(c *api.Config, _ *api.Deps) { c.AllowLoopbackWebhooks = true }

// receiver is a webhook endpoint on 127.0.0.1 that records what it gets.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []received
}

type received struct {
	Header http.Header
	Body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: http.StatusNoContent}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		b, _ := io.ReadAll(q.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, received{Header: q.Header.Clone(), Body: b})
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setStatus(code int) { r.mu.Lock(); r.status = code; r.mu.Unlock() }

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// verifySignature checks a delivery the way a receiver would, with its own HMAC.
func verifySignature(t *testing.T, secret string, got received) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(got.Header.Get("webhook-id") + "." + got.Header.Get("webhook-timestamp") + "."))
	mac.Write(got.Body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if sig := got.Header.Get("webhook-signature"); !hmac.Equal([]byte(sig), []byte(want)) {
		t.Fatalf("webhook-signature = %q, want %q", sig, want)
	}
}

// workEventJobs runs the jobs that emit and deliver events to the end.
func (e *env) workEventJobs(t *testing.T) {
	t.Helper()
	e.workJobs(t, "credential_created", "webhook_delivery", "org_time_events")
}

type feedEvent struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      struct {
		Credential struct {
			Code, Course, Status string
			ValidThrough         string `json:"valid_through"`
			HolderName           string `json:"holder_name"`
		} `json:"credential"`
	} `json:"data"`
}

func (e *env) feed(t *testing.T, orgID, token string) []feedEvent {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/v1/orgs/" + orgID + "/events", token: token})
	if r.Code != 200 {
		t.Fatalf("feed: %d %s", r.Code, r.Body)
	}
	var out struct{ Items []feedEvent }
	r.decode(t, &out)
	return out.Items
}

func eventTypes(evs []feedEvent) []string {
	out := []string{}
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// validNPI is a well-formed NPI (the Luhn check digit is right).
const validNPI = "1234567893"

func TestWatchlist(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	holder, _ := e.user(t, "holder@example.org")
	cred := e.issueCredential(t, holder, "AALS")
	_, adminTok := e.user(t, "admin@a.test")
	_, otherTok := e.user(t, "admin@b.test")
	verifier, verifierTok := e.user(t, "verifier@a.test")
	orgA, orgB := e.org(t, adminTok, "Hospital A"), e.org(t, otherTok, "Hospital B")
	e.approve(t, orgA)
	e.approve(t, orgB)
	e.addMember(t, orgA, verifier, models.RoleVerifier)
	_, key := e.apiKey(t, adminTok, orgA)
	_, unapprovedTok := e.user(t, "admin@c.test")
	orgC := e.org(t, unapprovedTok, "Clinic C")
	path := "/v1/orgs/" + orgA + "/watchlist"

	first := e.do(t, req{method: "POST", path: path, token: verifierTok, body: map[string]string{"npi": validNPI}})
	if first.Code != 201 {
		t.Fatalf("add by NPI: %d %s", first.Code, first.Body)
	}
	var byNPI struct {
		ID       string
		Resolved bool
	}
	first.decode(t, &byNPI)
	// The code is normalized: lower case and without dashes is the same code.
	byCode := e.do(t, req{method: "POST", path: path, token: key, body: map[string]string{"code": strings.ToLower(strings.ReplaceAll(cred.Code, "-", ""))}})
	if byCode.Code != 201 {
		t.Fatalf("add by code: %d %s", byCode.Code, byCode.Body)
	}
	var codeEntry struct {
		ID       string
		Code     string
		Resolved bool
	}
	byCode.decode(t, &codeEntry)
	if codeEntry.Code != cred.Code || !codeEntry.Resolved {
		t.Fatalf("entry by code = %+v, want code %s resolved to its holder", codeEntry, cred.Code)
	}

	e.run(t, []scenario{
		{name: "SameNPIAgainIsTheExistingEntry", req: req{method: "POST", path: path, token: adminTok, body: map[string]string{"npi": validNPI}}, wantStatus: 200},
		{name: "BadCheckDigit", req: req{method: "POST", path: path, token: adminTok, body: map[string]string{"npi": "1234567890"}}, wantStatus: 422, wantType: "validation"},
		{name: "BothNPIAndCode", req: req{method: "POST", path: path, token: adminTok, body: map[string]string{"npi": validNPI, "code": cred.Code}}, wantStatus: 422, wantType: "validation"},
		{name: "Neither", req: req{method: "POST", path: path, token: adminTok, body: map[string]string{}}, wantStatus: 422, wantType: "validation"},
		{name: "NotACode", req: req{method: "POST", path: path, token: adminTok, body: map[string]string{"code": "???"}}, wantStatus: 422, wantType: "validation"},
		{name: "UnknownCode", req: req{method: "POST", path: path, token: adminTok, body: map[string]string{"code": "AALS-ZZZZ-ZZZZ"}}, wantStatus: 422},
		{name: "UnknownField", req: req{method: "POST", path: path, token: adminTok, body: map[string]string{"npi": validNPI, "name": "x"}}, wantStatus: 400, wantType: "malformed-request"},
		{name: "OtherOrgAdmin", req: req{method: "GET", path: path, token: otherTok}, wantStatus: 404, wantType: "not-found"},
		{name: "UnapprovedOrg", req: req{method: "POST", path: "/v1/orgs/" + orgC + "/watchlist", token: unapprovedTok, body: map[string]string{"npi": validNPI}}, wantStatus: 403, wantType: "org-not-approved"},
		{name: "OtherOrgCannotDeleteOurEntry", req: req{method: "DELETE", path: "/v1/orgs/" + orgB + "/watchlist/" + byNPI.ID, token: otherTok}, wantStatus: 404, wantType: "not-found"},
		{name: "MalformedEntryID", req: req{method: "DELETE", path: path + "/nope", token: adminTok}, wantStatus: 404, wantType: "not-found"},
	})
	if n := e.count(t, `SELECT count(*) FROM watchlist WHERE org_id = $1`, orgA); n != 2 {
		t.Fatalf("org A watches %d entries, want 2", n)
	}

	list := e.do(t, req{method: "GET", path: path + "?limit=1", token: key})
	var page struct {
		Items      []struct{ ID string }
		NextCursor string `json:"next_cursor"`
	}
	list.decode(t, &page)
	if list.Code != 200 || len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("first page: %d %s", list.Code, list.Body)
	}
	list = e.do(t, req{method: "GET", path: path + "?limit=1&cursor=" + page.NextCursor, token: key})
	var page2 struct{ Items []struct{ ID string } }
	list.decode(t, &page2)
	if len(page2.Items) != 1 || page2.Items[0].ID == page.Items[0].ID {
		t.Fatalf("second page: %s", list.Body)
	}

	e.run(t, []scenario{
		{name: "Delete", req: req{method: "DELETE", path: path + "/" + byNPI.ID, token: verifierTok}, wantStatus: 204},
		{name: "DeleteAgain", req: req{method: "DELETE", path: path + "/" + byNPI.ID, token: verifierTok}, wantStatus: 404, wantType: "not-found"},
	})
}

func TestSuspendingAWatchedCredentialReachesTheFeedAndTheWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLoopbackWebhooks)
	e.seedCourses(t)
	holder, _ := e.user(t, "holder@example.org")
	cred := e.issueCredential(t, holder, "AALS")
	e.workEventJobs(t) // the issuance's follow-up, before anyone watches
	_, adminTok := e.user(t, "admin@a.test")
	_, otherTok := e.user(t, "admin@b.test")
	orgA, orgB := e.org(t, adminTok, "Hospital A"), e.org(t, otherTok, "Hospital B")
	e.approve(t, orgA)
	e.approve(t, orgB)
	_, key := e.apiKey(t, adminTok, orgA)
	if r := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgA + "/watchlist", token: adminTok, body: map[string]string{"code": cred.Code}}); r.Code != 201 {
		t.Fatalf("watch: %d %s", r.Code, r.Body)
	}
	rcv := newReceiver(t)
	created := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgA + "/webhooks", token: adminTok,
		body: map[string]any{"url": rcv.URL + "/aals", "event_types": []string{"credential.suspended", "credential.revoked"}}})
	if created.Code != 201 {
		t.Fatalf("create webhook: %d %s", created.Code, created.Body)
	}
	var hook struct{ ID, Secret string }
	created.decode(t, &hook)
	if !strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("secret %q, want whsec_…", hook.Secret)
	}
	list := e.do(t, req{method: "GET", path: "/v1/orgs/" + orgA + "/webhooks", token: adminTok})
	if list.Code != 200 || strings.Contains(string(list.Body), "secret") || strings.Contains(string(list.Body), hook.Secret) {
		t.Fatalf("webhook list shows the secret or failed: %d %s", list.Code, list.Body)
	}

	admin := e.token(t, e.adminUser(t))
	if r := e.do(t, req{method: "POST", path: "/v1/admin/credentials/" + cred.ID.String() + "/suspend", token: admin,
		body: map[string]string{"category": "license_action", "reason": "board order"}}); r.Code != 200 {
		t.Fatalf("suspend: %d %s", r.Code, r.Body)
	}

	feed := e.feed(t, orgA, key)
	if got := eventTypes(feed); len(got) != 1 || got[0] != "credential.suspended" {
		t.Fatalf("org A feed = %v, want [credential.suspended]", got)
	}
	c := feed[0].Data.Credential
	if c.Code != cred.Code || c.Status != "suspended" || c.Course != "AALS" || c.HolderName != cred.HolderName ||
		c.ValidThrough != cred.ValidThrough.Format(time.DateOnly) {
		t.Fatalf("event credential = %+v", c)
	}
	if strings.Contains(string(e.do(t, req{method: "GET", path: "/v1/orgs/" + orgA + "/events", token: key}).Body), "score") {
		t.Fatal("the feed mentions scores")
	}
	if got := eventTypes(e.feed(t, orgB, otherTok)); len(got) != 0 {
		t.Fatalf("org B feed = %v, want nothing: it watches no one", got)
	}
	// Polling from the last cursor gives nothing new and the same cursor.
	r := e.do(t, req{method: "GET", path: "/v1/orgs/" + orgA + "/events?since=" + feed[0].ID, token: key})
	var after struct {
		Items []feedEvent
		Next  string
	}
	r.decode(t, &after)
	if len(after.Items) != 0 || after.Next != feed[0].ID {
		t.Fatalf("after the last event: %s", r.Body)
	}

	e.workEventJobs(t)
	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	verifySignature(t, hook.Secret, got[0])
	if id := got[0].Header.Get("webhook-id"); id != feed[0].ID {
		t.Fatalf("webhook-id = %q, want the event's ID %s", id, feed[0].ID)
	}
	var body struct {
		Type      string
		Timestamp time.Time
		Data      json.RawMessage
	}
	if err := json.Unmarshal(got[0].Body, &body); err != nil || body.Type != "credential.suspended" || !strings.Contains(string(body.Data), cred.Code) {
		t.Fatalf("delivered body %s (%v)", got[0].Body, err)
	}
	deliveries := e.do(t, req{method: "GET", path: "/v1/orgs/" + orgA + "/webhooks/" + hook.ID + "/deliveries", token: adminTok})
	var log struct {
		Items []struct {
			EventID *string `json:"event_id"`
			Status  string
		}
	}
	deliveries.decode(t, &log)
	if len(log.Items) != 1 || log.Items[0].Status != "succeeded" || log.Items[0].EventID == nil || *log.Items[0].EventID != feed[0].ID {
		t.Fatalf("delivery log: %s", deliveries.Body)
	}
	e.run(t, []scenario{
		{name: "OtherOrgCannotReadTheLog", req: req{method: "GET", path: "/v1/orgs/" + orgB + "/webhooks/" + hook.ID + "/deliveries", token: otherTok}, wantStatus: 404, wantType: "not-found"},
		{name: "OtherOrgCannotDelete", req: req{method: "DELETE", path: "/v1/orgs/" + orgB + "/webhooks/" + hook.ID, token: otherTok}, wantStatus: 404, wantType: "not-found"},
		{name: "KeyCannotManageWebhooks", req: req{method: "GET", path: "/v1/orgs/" + orgA + "/webhooks", token: key}, wantStatus: 403, wantType: "forbidden"},
		{name: "Delete", req: req{method: "DELETE", path: "/v1/orgs/" + orgA + "/webhooks/" + hook.ID, token: adminTok}, wantStatus: 204},
	})
}

// cohortMember puts the user in a cohort of the org as an accepted invitee.
func (e *env) cohortMember(t *testing.T, orgID string, admin, u *models.User) {
	t.Helper()
	ctx, now := context.Background(), e.clock.Now()
	cohort := uuid.New()
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO cohorts (id, org_id, name, course_code, offering, due_date, created_by, created_at, updated_at)
		VALUES ($1, $2, 'Nights', 'AALS', 'initial', $3::timestamptz::date, $4, $3, $3)`, cohort, orgID, now, admin.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO cohort_invitations (id, cohort_id, org_id, email, status, expires_at, user_id, invited_by, last_sent_at, accepted_at, created_at)
		VALUES ($1, $2, $3, $4, 'accepted', $5, $6, $7, $5, $5, $5)`, uuid.New(), cohort, orgID, u.Email, now, u.ID, admin.ID); err != nil {
		t.Fatal(err)
	}
}

func TestIssuingAndRenewingACohortMembersCredentialAreEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	admin, adminTok := e.user(t, "admin@a.test")
	orgA := e.org(t, adminTok, "Hospital A")
	e.approve(t, orgA)
	member, _ := e.user(t, "nurse@example.org")
	outsider, _ := e.user(t, "someone@example.org")
	e.cohortMember(t, orgA, admin, member)

	cred := e.issueCredential(t, member, "AALS")
	e.issueCredential(t, outsider, "AALS")
	e.workEventJobs(t)
	feed := e.feed(t, orgA, adminTok)
	if got := eventTypes(feed); len(got) != 1 || got[0] != "credential.issued" || feed[0].Data.Credential.Code != cred.Code {
		t.Fatalf("feed = %+v, want one credential.issued of %s", feed, cred.Code)
	}
	// The follow-up runs once per credential, so working the queue again adds nothing.
	e.workEventJobs(t)
	if n := len(e.feed(t, orgA, adminTok)); n != 1 {
		t.Fatalf("feed has %d events after a second run, want 1", n)
	}
	// A second credential of the course renews the first.
	e.clock.Advance(30 * 24 * time.Hour)
	renewal := e.issueCredential(t, member, "AALS")
	e.workEventJobs(t)
	feed = e.feed(t, orgA, e.token(t, admin)) // the clock moved past the first token
	if got := eventTypes(feed); len(got) != 2 || got[1] != "credential.renewed" || feed[1].Data.Credential.Code != renewal.Code {
		t.Fatalf("feed = %+v, want credential.renewed of %s last", feed, renewal.Code)
	}
}

func TestTimeEventsComeOnceEach(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	_, adminTok := e.user(t, "admin@a.test")
	orgA := e.org(t, adminTok, "Hospital A")
	e.approve(t, orgA)
	_, key := e.apiKey(t, adminTok, orgA) // keys outlive the access tokens the clock jumps past
	holder, _ := e.user(t, "holder@example.org")
	holderNPI := validNPI
	npi := &holderNPI
	if err := models.UpdateUser(context.Background(), e.db.Gorm, holder.ID, models.UserUpdate{NPI: &npi}); err != nil {
		t.Fatal(err)
	}
	cred := e.issueCredential(t, holder, "AALS")
	e.workEventJobs(t)
	// Watched by NPI: the provider's account is found through it.
	if r := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgA + "/watchlist", token: adminTok, body: map[string]string{"npi": validNPI}}); r.Code != 201 {
		t.Fatalf("watch: %d %s", r.Code, r.Body)
	}
	scan := func() {
		t.Helper()
		if _, err := e.jobs.Insert(context.Background(), jobs.OrgTimeEventsArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		e.workEventJobs(t)
	}
	scan()
	if got := eventTypes(e.feed(t, orgA, key)); len(got) != 0 {
		t.Fatalf("feed = %v right after issuance, want nothing", got)
	}
	e.clock.Advance(cred.ValidUntil.Sub(e.clock.Now()) - models.ExpiringNotice + time.Minute)
	scan()
	scan()
	if got := eventTypes(e.feed(t, orgA, key)); len(got) != 1 || got[0] != "credential.expiring" {
		t.Fatalf("feed = %v 60 days before the end, want one credential.expiring", got)
	}
	e.clock.Advance(models.ExpiringNotice)
	scan()
	scan()
	feed := e.feed(t, orgA, key)
	if got := eventTypes(feed); len(got) != 2 || got[1] != "credential.expired" || feed[1].Data.Credential.Status != "expired" {
		t.Fatalf("feed = %+v after the end, want expiring then one expired", feed)
	}
}

func TestWebhookURLsAndAddresses(t *testing.T) {
	t.Parallel()
	dev := newEnv(t)
	prod := newEnv(t, withLoopbackWebhooks, func(c *api.Config, _ *api.Deps) { c.Env = "production" })
	for _, tc := range []struct {
		name string
		e    *env
	}{{"Development", dev}, {"ProductionIgnoresTheAllowance", prod}} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.e
			_, adminTok := e.user(t, "admin@a.test")
			orgA := e.org(t, adminTok, "Hospital A")
			path := "/v1/orgs/" + orgA + "/webhooks"
			types := []string{"credential.revoked"}
			e.run(t, []scenario{
				{name: "Loopback", req: req{method: "POST", path: path, token: adminTok, body: map[string]any{"url": "http://127.0.0.1:9/x", "event_types": types}}, wantStatus: 422, wantType: "validation"},
				{name: "PlainHTTP", req: req{method: "POST", path: path, token: adminTok, body: map[string]any{"url": "http://hooks.example.org/x", "event_types": types}}, wantStatus: 422, wantType: "validation"},
				{name: "Metadata", req: req{method: "POST", path: path, token: adminTok, body: map[string]any{"url": "https://169.254.169.254/latest", "event_types": types}}, wantStatus: 422, wantType: "validation"},
				{name: "UnknownType", req: req{method: "POST", path: path, token: adminTok, body: map[string]any{"url": "https://hooks.example.org/x", "event_types": []string{"credential.eaten"}}}, wantStatus: 422, wantType: "validation"},
				{name: "NoTypes", req: req{method: "POST", path: path, token: adminTok, body: map[string]any{"url": "https://hooks.example.org/x", "event_types": []string{}}}, wantStatus: 422, wantType: "validation"},
				{name: "HTTPS", req: req{method: "POST", path: path, token: adminTok, body: map[string]any{"url": "https://hooks.example.org/x", "event_types": types}}, wantStatus: 201},
			})
		})
	}

	// An endpoint stored with an internal address (say, a name that now resolves there) is
	// refused when connecting; nothing reaches the loopback server.
	rcv := newReceiver(t)
	admin, adminTok := dev.user(t, "owner@a.test")
	orgA := dev.org(t, adminTok, "Hospital B")
	for _, u := range []string{rcv.URL, "http://10.0.0.1:9/", "http://169.254.169.254/latest/meta-data"} {
		hook := &models.Webhook{ID: uuid.New(), OrgID: uuid.MustParse(orgA), URL: u, EventTypes: pq.StringArray{"credential.revoked"},
			CreatedBy: admin.ID, CreatedAt: dev.clock.Now()}
		hook.SecretSealed = dev.keyring.Seal(make([]byte, 32), hook.ID[:])
		if err := models.CreateWebhook(context.Background(), dev.db.Gorm, hook); err != nil {
			t.Fatal(err)
		}
		r := dev.do(t, req{method: "POST", path: "/v1/orgs/" + orgA + "/webhooks/" + hook.ID.String() + "/test", token: adminTok})
		var d struct {
			Status string
			Error  *string
		}
		r.decode(t, &d)
		if r.Code != 200 || d.Status != "failed" || d.Error == nil || !strings.Contains(*d.Error, "refused") {
			t.Errorf("test event to %s: %d %s, want a failed attempt refused at connect time", u, r.Code, r.Body)
		}
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the loopback server got %d requests without the allowance", n)
	}
}

func TestWebhookTestEventAndRedirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLoopbackWebhooks)
	_, adminTok := e.user(t, "admin@a.test")
	orgA := e.org(t, adminTok, "Hospital A")
	rcv := newReceiver(t)
	created := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgA + "/webhooks", token: adminTok,
		body: map[string]any{"url": rcv.URL, "event_types": []string{"credential.revoked"}}})
	var hook struct{ ID, Secret string }
	created.decode(t, &hook)
	path := "/v1/orgs/" + orgA + "/webhooks/" + hook.ID

	r := e.do(t, req{method: "POST", path: path + "/test", token: adminTok})
	var d struct {
		Status       string
		ResponseCode *int    `json:"response_code"`
		EventID      *string `json:"event_id"`
	}
	r.decode(t, &d)
	if r.Code != 200 || d.Status != "succeeded" || d.EventID != nil {
		t.Fatalf("test event: %d %s", r.Code, r.Body)
	}
	got := rcv.requests()
	if len(got) != 1 || !strings.HasPrefix(got[0].Header.Get("webhook-id"), "test_") {
		t.Fatalf("receiver got %d requests", len(got))
	}
	verifySignature(t, hook.Secret, got[0])

	rcv.setStatus(http.StatusFound)
	r = e.do(t, req{method: "POST", path: path + "/test", token: adminTok})
	r.decode(t, &d)
	if d.Status != "failed" || d.ResponseCode == nil || *d.ResponseCode != 302 {
		t.Fatalf("redirected test event: %s, want a failure with the 302", r.Body)
	}
}

func TestWebhookFailingForADayIsDisabledWithOneEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLoopbackWebhooks)
	admin, adminTok := e.user(t, "admin@a.test")
	orgA := e.org(t, adminTok, "Hospital A")
	rcv := newReceiver(t)
	rcv.setStatus(http.StatusInternalServerError)
	created := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgA + "/webhooks", token: adminTok,
		body: map[string]any{"url": rcv.URL, "event_types": []string{"credential.revoked"}}})
	var created1 struct{ ID string }
	created.decode(t, &created1)
	ctx := context.Background()
	sender := jobs.NewWebhookSender(jobs.Deps{DB: e.db, Keyring: e.keyring, Now: e.clock.Now, AllowLoopbackWebhooks: true})
	eventID := int64(1)
	msg := jobs.WebhookMessage{ID: "1", Type: "credential.revoked", Timestamp: e.clock.Now(), Data: json.RawMessage(`{}`), EventID: &eventID}
	deliver := func(attempt int) *models.Webhook {
		t.Helper()
		hook, err := models.FindWebhookByID(ctx, e.db.Gorm, uuid.MustParse(created1.ID))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sender.Deliver(ctx, e.jobs, hook, msg, attempt); err != nil {
			t.Fatal(err)
		}
		hook, err = models.FindWebhookByID(ctx, e.db.Gorm, hook.ID)
		if err != nil {
			t.Fatal(err)
		}
		return hook
	}

	start := e.clock.Now()
	if h := deliver(1); h.FailingSince == nil || h.DisabledAt != nil {
		t.Fatalf("after one failure: failing since %v, disabled %v", h.FailingSince, h.DisabledAt)
	}
	// A success clears the failure; the day counts from the next failure.
	rcv.setStatus(http.StatusOK)
	e.clock.Advance(20 * time.Hour)
	if h := deliver(2); h.FailingSince != nil {
		t.Fatalf("a success left failing_since %v", h.FailingSince)
	}
	rcv.setStatus(http.StatusServiceUnavailable)
	deliver(3)
	e.clock.Advance(23 * time.Hour)
	if h := deliver(4); h.DisabledAt != nil || !h.FailingSince.Equal(start.Add(20*time.Hour)) {
		t.Fatalf("after 23 hours of failures: disabled %v, failing since %v", h.DisabledAt, h.FailingSince)
	}
	e.clock.Advance(2 * time.Hour)
	if h := deliver(5); h.DisabledAt == nil || h.DisabledReason == nil {
		t.Fatal("after 25 hours of failures the endpoint is still enabled")
	}
	deliver(6)
	ms := e.mails(t, "admin@a.test")
	n := 0
	for _, m := range ms {
		if strings.Contains(m.Subject, "webhook") {
			n++
			if !strings.Contains(m.Text, rcv.URL) {
				t.Errorf("email does not name the endpoint:\n%s", m.Text)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d emails about the disabled webhook, want 1", n)
	}
	list := e.do(t, req{method: "GET", path: "/v1/orgs/" + orgA + "/webhooks", token: e.token(t, admin)})
	if !strings.Contains(string(list.Body), `"disabled_at":"`) {
		t.Fatalf("list does not show the endpoint disabled: %s", list.Body)
	}
	if k := e.count(t, `SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'failed'`, created1.ID); k != 5 {
		t.Fatalf("%d failed attempts logged, want 5", k)
	}
}

func TestReissueSupersedesTheWatchedCredential(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	holder, holderTok := e.user(t, "holder@example.org")
	cred := e.issueCredential(t, holder, "AALS")
	e.workEventJobs(t)
	_, adminTok := e.user(t, "admin@a.test")
	orgA := e.org(t, adminTok, "Hospital A")
	e.approve(t, orgA)
	if r := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgA + "/watchlist", token: adminTok, body: map[string]string{"code": cred.Code}}); r.Code != 201 {
		t.Fatalf("watch: %d %s", r.Code, r.Body)
	}
	nc := e.requestNameChange(t, holderTok, "Ana Married")
	staff := e.token(t, e.adminUser(t))
	if r := e.do(t, req{method: "POST", path: "/v1/admin/name-change-requests/" + nc.ID + "/approve", token: staff}); r.Code != 200 {
		t.Fatalf("approve: %d %s", r.Code, truncate(r.Body))
	}
	e.workEventJobs(t)
	feed := e.feed(t, orgA, adminTok)
	if got := eventTypes(feed); len(got) != 1 || got[0] != "credential.superseded" ||
		feed[0].Data.Credential.Code != cred.Code || feed[0].Data.Credential.Status != "superseded" {
		t.Fatalf("feed = %+v, want one credential.superseded of %s", feed, cred.Code)
	}
}
