package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/models"
)

// outboxItem is one item of GET /v1/admin/outbox.
type outboxItem struct {
	ID        string     `json:"id"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	Text      string     `json:"text"`
	HTML      string     `json:"html"`
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	LastError *string    `json:"last_error"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at"`
}

type outboxPage struct {
	Items      []outboxItem `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

func (e *env) outbox(t *testing.T, token, query string) (outboxPage, []byte) {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/v1/admin/outbox" + query, token: token})
	if r.Code != 200 {
		t.Fatalf("GET /v1/admin/outbox%s: %d %s", query, r.Code, r.Body)
	}
	var p outboxPage
	r.decode(t, &p)
	return p, r.Body
}

// storeOutbox records a message directly, as a sender would, created at the given time.
func (e *env) storeOutbox(t *testing.T, m models.OutboxMessage) models.OutboxMessage {
	t.Helper()
	if err := models.CreateOutboxMessage(context.Background(), e.db.Gorm, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAdminOutbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, adminToken := e.user(t, "staff@program.test", platformAdmin)
	_, memberToken := e.user(t, "nurse@hospital.test")

	// A real email: signing up sends a verification link with a live token.
	r := e.do(t, req{method: "POST", path: "/v1/auth/register", body: map[string]any{
		"email": "new.provider@hospital.test", "password": "a long enough passphrase 42", "name": "Dana Reyes"}})
	if r.Code != 201 {
		t.Fatalf("register: %d %s", r.Code, r.Body)
	}
	live := tokenFromLink(t, e.lastMail(t, "new.provider@hospital.test").Text, publicURL+"/verify-email?token=")

	base := time.Now().UTC().Add(-time.Hour)
	sentAt := base.Add(time.Minute)
	lastErr := "send via smtp://mail.example:587: 421 try again later"
	e.storeOutbox(t, models.OutboxMessage{ToAddr: "pat@clinic.test", Subject: "Reset your aalscert password",
		TextBody: "reset [redacted]", HTMLBody: "<p>reset</p>", Status: models.OutboxSent, Attempts: 1, SentAt: &sentAt, CreatedAt: base})
	failed := e.storeOutbox(t, models.OutboxMessage{ToAddr: "pat@clinic.test", Subject: "Invitation",
		TextBody: "invited", HTMLBody: "<p>invited</p>", Status: models.OutboxFailed, Attempts: 8, LastError: &lastErr, CreatedAt: base.Add(time.Second)})
	// A sender that forgot to name its secret: the listing still hides the link's token.
	e.storeOutbox(t, models.OutboxMessage{ToAddr: "lee@group.test", Subject: "Join Metro Anesthesia",
		TextBody: publicURL + "/invitations/inv_LIVE_secret123 and " + publicURL + "/renew?token=renew_LIVE_456",
		HTMLBody: `<a href="` + publicURL + `/invitations/inv_LIVE_secret123">Accept</a>`, Sealed: []byte("sealed-bytes"),
		CreatedAt: base.Add(2 * time.Second)})

	t.Run("AdminSeesRedactedMessagesNewestFirst", func(t *testing.T) {
		p, raw := e.outbox(t, adminToken, "")
		if len(p.Items) != 4 {
			t.Fatalf("got %d items, want 4", len(p.Items))
		}
		for i := 1; i < len(p.Items); i++ {
			if p.Items[i].CreatedAt.After(p.Items[i-1].CreatedAt) {
				t.Fatalf("items not newest first: %v after %v", p.Items[i].CreatedAt, p.Items[i-1].CreatedAt)
			}
		}
		body := string(raw)
		for _, secret := range []string{live, "inv_LIVE_secret123", "renew_LIVE_456"} {
			if strings.Contains(body, secret) {
				t.Errorf("outbox listing contains live token %s", secret)
			}
		}
		if strings.Contains(body, "sealed") {
			t.Error("outbox listing mentions the sealed copy")
		}
		signup := p.Items[0]
		if signup.To != "new.provider@hospital.test" || signup.Status != models.OutboxQueued || signup.SentAt != nil {
			t.Errorf("newest = %+v, want the queued sign-up email", signup)
		}
		if !strings.Contains(signup.Text, "/verify-email?token=[redacted]") || !strings.Contains(signup.HTML, "[redacted]") {
			t.Errorf("sign-up email text lacks the redacted link:\n%s", signup.Text)
		}
		if !strings.Contains(p.Items[1].Text, "/invitations/[redacted]") || !strings.Contains(p.Items[1].Text, "/renew?token=[redacted]") {
			t.Errorf("links not redacted: %s", p.Items[1].Text)
		}
	})

	t.Run("FilterByRecipient", func(t *testing.T) {
		p, _ := e.outbox(t, adminToken, "?to="+url.QueryEscape("PAT@Clinic.test"))
		if len(p.Items) != 2 {
			t.Fatalf("got %d items, want 2", len(p.Items))
		}
		for _, it := range p.Items {
			if it.To != "pat@clinic.test" {
				t.Errorf("item to %s, want pat@clinic.test", it.To)
			}
		}
	})

	t.Run("FilterByStatus", func(t *testing.T) {
		p, _ := e.outbox(t, adminToken, "?status=failed")
		if len(p.Items) != 1 || p.Items[0].ID != failed.ID.String() {
			t.Fatalf("got %+v, want only the failed message", p.Items)
		}
		it := p.Items[0]
		if it.Attempts != 8 || it.LastError == nil || *it.LastError != lastErr || it.SentAt != nil {
			t.Errorf("failed item = %+v, want 8 attempts and its last error", it)
		}
		if p, _ := e.outbox(t, adminToken, "?status=sent&to=pat@clinic.test"); len(p.Items) != 1 || p.Items[0].SentAt == nil {
			t.Errorf("sent to pat: got %+v, want one item with sent_at", p.Items)
		}
	})

	t.Run("CursorWalksEveryMessageOnce", func(t *testing.T) {
		seen := map[string]bool{}
		q := "?limit=3"
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("too many pages")
			}
			p, _ := e.outbox(t, adminToken, q)
			for _, it := range p.Items {
				if seen[it.ID] {
					t.Fatalf("item %s seen twice", it.ID)
				}
				seen[it.ID] = true
			}
			if p.NextCursor == "" {
				break
			}
			q = "?limit=3&cursor=" + url.QueryEscape(p.NextCursor)
		}
		if len(seen) != 4 {
			t.Fatalf("walked %d items, want 4", len(seen))
		}
	})

	e.run(t, []scenario{
		{name: "Anonymous", req: req{method: "GET", path: "/v1/admin/outbox"}, wantStatus: 401, wantType: "unauthorized"},
		{name: "NotAdmin", req: req{method: "GET", path: "/v1/admin/outbox", token: memberToken}, wantStatus: 403, wantType: "forbidden"},
		{name: "UnknownStatus", req: req{method: "GET", path: "/v1/admin/outbox?status=bounced", token: adminToken}, wantStatus: 422, wantType: "validation"},
		{name: "BadCursor", req: req{method: "GET", path: "/v1/admin/outbox?cursor=not-a-cursor", token: adminToken}, wantStatus: 422, wantType: "validation"},
	})
}

func TestAdminOutboxNeedsTOTPWhereRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdminMFA)
	_, token := e.user(t, "staff@program.test", platformAdmin)
	e.run(t, []scenario{
		{name: "AdminWithoutTOTP", req: req{method: "GET", path: "/v1/admin/outbox", token: token}, wantStatus: 403, wantType: "mfa-required"},
	})
}

// The listing's item never carries a field beyond the documented ones.
func TestAdminOutboxItemFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, token := e.user(t, "staff@program.test", platformAdmin)
	e.storeOutbox(t, models.OutboxMessage{ID: uuid.New(), ToAddr: "a@b.test", Subject: "s", TextBody: "t", HTMLBody: "h", Sealed: []byte{1, 2, 3}})
	_, raw := e.outbox(t, token, "")
	var p struct{ Items []map[string]json.RawMessage }
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	want := []string{"attempts", "created_at", "html", "id", "last_error", "sent_at", "status", "subject", "text", "to"}
	if len(p.Items) != 1 || len(p.Items[0]) != len(want) {
		t.Fatalf("item = %s, want exactly the fields %v", raw, want)
	}
	for _, k := range want {
		if _, ok := p.Items[0][k]; !ok {
			t.Errorf("item lacks %s", k)
		}
	}
}
