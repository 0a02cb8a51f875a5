package api_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// nameChangeReq builds POST /v1/me/name-change-requests with the fields and, unless doc is
// nil, a document part declared as application/octet-stream: the server must judge the file
// by its bytes.
func nameChangeReq(t testing.TB, token string, fields map[string]string, docName string, doc []byte) req {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if doc != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="document"; filename=%q`, docName))
		h.Set("Content-Type", "application/octet-stream")
		part, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = part.Write(doc)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return req{method: "POST", path: "/v1/me/name-change-requests", token: token, body: buf.Bytes(), ctype: w.FormDataContentType()}
}

// nameChangeBody is a name-change request as the API answers it.
type nameChangeBody struct {
	ID             string  `json:"id"`
	Status         string  `json:"status"`
	CurrentName    string  `json:"current_name"`
	NewName        string  `json:"new_name"`
	Reason         string  `json:"reason"`
	DocumentName   string  `json:"document_name"`
	DocumentType   string  `json:"document_type"`
	DecidedAt      *string `json:"decided_at"`
	DecisionReason *string `json:"decision_reason"`
	Holder         *struct {
		Email string `json:"email"`
	} `json:"holder"`
	Reissued []struct {
		SupersededID string `json:"superseded_id"`
		CredentialID string `json:"credential_id"`
		Code         string `json:"code"`
	} `json:"reissued"`
}

// requestNameChange sends a valid request of the user with token and returns it.
func (e *env) requestNameChange(t testing.TB, token, newName string) nameChangeBody {
	t.Helper()
	r := e.do(t, nameChangeReq(t, token, map[string]string{"new_name": newName, "reason": "marriage"}, "marriage.png", pngCard))
	if r.Code != 201 {
		t.Fatalf("request name change: %d %s", r.Code, truncate(r.Body))
	}
	var nc nameChangeBody
	r.decode(t, &nc)
	return nc
}

// credentialVC returns the verified payload of the holder's credential's VC-JWT.
func (e *env) credentialVC(t *testing.T, token, id string) map[string]any {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/v1/credentials/" + id + "/vc", token: token})
	if r.Code != 200 {
		t.Fatalf("vc of %s = %d %s", id, r.Code, truncate(r.Body))
	}
	v, err := credential.NewVerifier(e.issuerKeyOf(t, string(r.Body)))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := v.Verify(string(r.Body), e.clock.Now())
	if err != nil {
		t.Fatalf("verify vc of %s: %v", id, err)
	}
	return payload
}

// TestNameChangeApprovalReissues takes a holder with an active and a revoked credential
// through a name change: the request with its document, the admin's review and a concurrent
// double approval, then reads what changed.
func TestNameChangeApprovalReissues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ctx := context.Background()
	ana, _ := e.user(t, "ana@example.org")
	active := e.issueCredential(t, ana, "AALS")
	e.clock.Advance(30 * 24 * time.Hour)
	revoked := e.issueCredential(t, ana, "AALS")
	err := e.db.InTx(ctx, func(tx models.Tx) error {
		_, _, err := models.ChangeCredentialStatus(ctx, tx.DB, revoked.ID, models.StatusChange{Action: models.ActionRevoked,
			Category: "issued_in_error", Reason: "issued twice", ActorID: e.adminUser(t).ID, At: e.clock.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := e.token(t, ana)
	oldVC := e.credentialVC(t, tok, active.ID.String())
	admin := e.adminUser(t)
	adminTok := e.token(t, admin)
	_, boTok := e.user(t, "bo@example.org")

	nc := e.requestNameChange(t, tok, "  Ana Married  ")
	if nc.Status != "pending" || nc.CurrentName != ana.Name || nc.NewName != "Ana Married" || nc.Reason != "marriage" ||
		nc.DocumentType != "image/png" || nc.DocumentName != "marriage.png" || nc.DecidedAt != nil {
		t.Errorf("request = %+v", nc)
	}
	base := "/v1/admin/name-change-requests/" + nc.ID
	e.run(t, []scenario{
		{name: "SecondPendingRequest", req: nameChangeReq(t, tok, map[string]string{"new_name": "Ana Other"}, "id.pdf", pdfCard),
			wantStatus: 409, wantType: "name-change-pending"},
		{name: "OwnRequest", req: req{method: "GET", path: "/v1/me/name-change-requests/" + nc.ID, token: tok}, wantStatus: 200},
		{name: "OthersRequestIsNotFound", req: req{method: "GET", path: "/v1/me/name-change-requests/" + nc.ID, token: boTok}, wantStatus: 404, wantType: "not-found"},
		{name: "MalformedID", req: req{method: "GET", path: "/v1/me/name-change-requests/nope", token: tok}, wantStatus: 404, wantType: "not-found"},
		{name: "HolderCannotList", req: req{method: "GET", path: "/v1/admin/name-change-requests", token: tok}, wantStatus: 403, wantType: "forbidden"},
		{name: "HolderCannotReadDocument", req: req{method: "GET", path: base + "/document", token: tok}, wantStatus: 403, wantType: "forbidden"},
		{name: "HolderCannotApprove", req: req{method: "POST", path: base + "/approve", token: tok}, wantStatus: 403, wantType: "forbidden"},
		{name: "HolderCannotReject", req: req{method: "POST", path: base + "/reject", token: tok, body: map[string]any{"reason": "no"}}, wantStatus: 403, wantType: "forbidden"},
		{name: "UnknownStatusFilter", req: req{method: "GET", path: "/v1/admin/name-change-requests?status=done", token: adminTok}, wantStatus: 422, wantType: "validation"},
		{name: "UnknownRequest", req: req{method: "POST", path: "/v1/admin/name-change-requests/" + uuid.NewString() + "/approve", token: adminTok}, wantStatus: 404, wantType: "not-found"},
		{name: "RejectWithoutReason", req: req{method: "POST", path: base + "/reject", token: adminTok, body: map[string]any{"reason": " "}}, wantStatus: 422, wantType: "validation"},
	})

	r := e.do(t, req{method: "GET", path: "/v1/me/name-change-requests", token: tok})
	if r.Code != 200 || !strings.Contains(string(r.Body), nc.ID) {
		t.Errorf("holder's list = %d %s, want the request", r.Code, truncate(r.Body))
	}
	r = e.do(t, req{method: "GET", path: "/v1/admin/name-change-requests?status=pending", token: adminTok})
	var pending struct{ Items []nameChangeBody }
	r.decode(t, &pending)
	if r.Code != 200 || len(pending.Items) != 1 || pending.Items[0].ID != nc.ID || pending.Items[0].Holder == nil || pending.Items[0].Holder.Email != ana.Email {
		t.Errorf("pending list = %d %s", r.Code, truncate(r.Body))
	}
	r = e.do(t, req{method: "GET", path: base + "/document", token: adminTok})
	if r.Code != 200 || !bytes.Equal(r.Body, pngCard) || r.Header.Get("Content-Type") != "image/png" ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(r.Header.Get("Content-Disposition"), "marriage.png") ||
		r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("document = %d %v (%d bytes), want the PNG as an attachment", r.Code, r.Header, len(r.Body))
	}

	// Two admins approve at once: one reissues, the other is told it was decided.
	e.clock.Advance(24 * time.Hour)
	tok, adminTok = e.token(t, ana), e.token(t, admin)
	var wg sync.WaitGroup
	results := make([]*resp, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.do(t, req{method: "POST", path: base + "/approve", token: adminTok, body: map[string]any{"reason": "certificate checked"}})
		}()
	}
	wg.Wait()
	codes := []int{results[0].Code, results[1].Code}
	slices.Sort(codes)
	if !slices.Equal(codes, []int{200, 409}) {
		t.Fatalf("concurrent approvals = %v, want one 200 and one 409", codes)
	}
	var approved nameChangeBody
	for _, res := range results {
		if res.Code == 200 {
			res.decode(t, &approved)
		} else if res.problemType() != "name-change-decided" {
			t.Errorf("losing approval type = %q, want name-change-decided", res.problemType())
		}
	}
	if approved.Status != "approved" || approved.DecidedAt == nil || len(approved.Reissued) != 1 || approved.Reissued[0].SupersededID != active.ID.String() {
		t.Fatalf("approval = %+v, want one reissue of %s", approved, active.ID)
	}
	newID := approved.Reissued[0].CredentialID
	if n := e.count(t, `SELECT count(*) FROM credentials WHERE reissue_of = $1`, active.ID); n != 1 {
		t.Errorf("%d reissues of the active credential, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM credentials WHERE reissue_of = $1`, revoked.ID); n != 0 {
		t.Errorf("%d reissues of the revoked credential, want none", n)
	}
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'credential_created' AND args->>'credential_id' = $1`, newID); n != 1 {
		t.Errorf("%d follow-up jobs for the reissue, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'name_change.approve' AND object_id = $1`, nc.ID); n != 1 {
		t.Errorf("%d audit entries for the approval, want 1", n)
	}

	r = e.do(t, req{method: "GET", path: "/v1/credentials", token: tok})
	var list struct {
		Items []credentialBody `json:"items"`
	}
	r.decode(t, &list)
	byID := map[string]credentialBody{}
	for _, c := range list.Items {
		byID[c.ID] = c
	}
	old, reissued, gone := byID[active.ID.String()], byID[newID], byID[revoked.ID.String()]
	var superseded struct {
		SupersededBy string `json:"superseded_by"`
	}
	r = e.do(t, req{method: "GET", path: "/v1/credentials/" + active.ID.String(), token: tok})
	r.decode(t, &superseded)
	if old.Status != "superseded" || superseded.SupersededBy != newID || old.HolderName != ana.Name {
		t.Errorf("old credential = %+v superseded by %q, want superseded by %s", old, superseded.SupersededBy, newID)
	}
	if reissued.Status != "active" || reissued.HolderName != "Ana Married" || reissued.Code == old.Code ||
		reissued.ValidFrom != old.ValidFrom || reissued.ValidThrough != old.ValidThrough || reissued.ValidUntil != old.ValidUntil {
		t.Errorf("reissue = %+v\nof %+v", reissued, old)
	}
	if gone.Status != "revoked" || gone.HolderName != ana.Name {
		t.Errorf("revoked credential = %+v, want it untouched", gone)
	}
	newVC := e.credentialVC(t, tok, newID)
	if newVC["awardedDate"] != oldVC["awardedDate"] || newVC["validFrom"] != oldVC["validFrom"] || newVC["validUntil"] != oldVC["validUntil"] ||
		newVC["id"] != "urn:uuid:"+newID {
		t.Errorf("reissued VC awarded %v valid %v–%v, want %v %v–%v", newVC["awardedDate"], newVC["validFrom"], newVC["validUntil"],
			oldVC["awardedDate"], oldVC["validFrom"], oldVC["validUntil"])
	}
	var me struct{ Name string }
	e.do(t, req{method: "GET", path: "/v1/me", token: tok}).decode(t, &me)
	if me.Name != "Ana Married" {
		t.Errorf("account name = %q, want Ana Married", me.Name)
	}
	history, err := models.CredentialHistory(ctx, e.db.Gorm, active.ID)
	if err != nil || len(history) == 0 || history[len(history)-1].Status != models.CredentialSuperseded {
		t.Errorf("old credential's history = %+v, %v; want it to end superseded", history, err)
	}
	m := e.lastMail(t, ana.Email)
	if !strings.Contains(m.Subject, "approved") || !strings.Contains(m.Text, reissued.Code) || !strings.Contains(m.Text, old.Code) {
		t.Errorf("email to the holder = %q\n%s", m.Subject, m.Text)
	}

	e.run(t, []scenario{
		{name: "ApproveAgain", req: req{method: "POST", path: base + "/approve", token: adminTok}, wantStatus: 409, wantType: "name-change-decided"},
		{name: "RejectApproved", req: req{method: "POST", path: base + "/reject", token: adminTok, body: map[string]any{"reason": "late"}}, wantStatus: 409, wantType: "name-change-decided"},
	})

	// Thirty days after the decision the identity document is deleted; the request remains.
	if _, err := models.PruneExpired(ctx, e.db.Gorm, e.clock.Now().Add(models.NameChangeDocumentRetention+time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{
		{name: "DocumentRemoved", req: req{method: "GET", path: base + "/document", token: adminTok}, wantStatus: 410, wantType: "document-removed"},
		{name: "RequestRemains", req: req{method: "GET", path: "/v1/me/name-change-requests/" + nc.ID, token: tok}, wantStatus: 200},
	})
}

// TestNameChangeRejected rejects a request with a reason: the holder is told why, nothing
// changes, and a new request may follow.
func TestNameChangeRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	bo, tok := e.user(t, "bo@example.org")
	cred := e.issueCredential(t, bo, "AALS")
	adminTok := e.token(t, e.adminUser(t))
	nc := e.requestNameChange(t, tok, "Bo Renamed")

	r := e.do(t, req{method: "POST", path: "/v1/admin/name-change-requests/" + nc.ID + "/reject", token: adminTok,
		body: map[string]any{"reason": "The document does not show the new name."}})
	var rejected nameChangeBody
	r.decode(t, &rejected)
	if r.Code != 200 || rejected.Status != "rejected" || rejected.DecisionReason == nil || rejected.Reissued != nil {
		t.Fatalf("reject = %d %s", r.Code, truncate(r.Body))
	}
	m := e.lastMail(t, bo.Email)
	if !strings.Contains(m.Subject, "not approved") || !strings.Contains(m.Text, "does not show the new name") {
		t.Errorf("email to the holder = %q\n%s", m.Subject, m.Text)
	}
	if c, _ := models.FindCredential(context.Background(), e.db.Gorm, cred.ID); c.Status != models.CredentialActive || c.HolderName != bo.Name {
		t.Errorf("credential after a rejection = %s %q, want active in the old name", c.Status, c.HolderName)
	}
	if u, _ := models.FindUser(context.Background(), e.db.Gorm, bo.ID); u.Name != bo.Name {
		t.Errorf("name after a rejection = %q, want %q", u.Name, bo.Name)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'name_change.reject' AND object_id = $1`, nc.ID); n != 1 {
		t.Errorf("%d audit entries for the rejection, want 1", n)
	}

	// A retry with the same key and bytes replays the answer; the one-pending rule holds.
	again := nameChangeReq(t, tok, map[string]string{"new_name": "Bo Renamed"}, "decree.pdf", pdfCard)
	again.headers = map[string]string{"Idempotency-Key": "rename-2"}
	first, replay := e.do(t, again), e.do(t, again)
	if first.Code != 201 || replay.Code != 201 || replay.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(first.Body, replay.Body) {
		t.Errorf("new request and its retry = %d, %d (replayed %q)", first.Code, replay.Code, replay.Header.Get("Idempotent-Replayed"))
	}
	if n := e.count(t, `SELECT count(*) FROM name_change_requests WHERE user_id = $1 AND status = 'pending'`, bo.ID); n != 1 {
		t.Errorf("%d pending requests, want 1", n)
	}
}

// TestNameChangeRequestValidation sends bad requests: each is refused with a clear problem
// naming the bad fields, and none is stored.
func TestNameChangeRequestValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cy, tok := e.user(t, "cy@example.org")
	valid := map[string]string{"new_name": "Cy New"}
	e.run(t, []scenario{
		{name: "Anonymous", req: nameChangeReq(t, "", valid, "id.pdf", pdfCard), wantStatus: 401, wantType: "unauthorized"},
		{name: "JSON", req: req{method: "POST", path: "/v1/me/name-change-requests", token: tok, body: valid}, wantStatus: 415, wantType: "unsupported-media-type"},
		{name: "BodyOverRouteLimit", req: nameChangeReq(t, tok, valid, "id.pdf", append(slices.Clone(pdfCard), bytes.Repeat([]byte{' '}, 7<<20)...)),
			wantStatus: 413, wantType: "payload-too-large"},
	})
	for _, tc := range []struct {
		name       string
		fields     map[string]string
		doc        []byte
		wantFields []string
	}{
		{"MissingEverything", nil, nil, []string{"new_name", "document"}},
		{"BlankName", map[string]string{"new_name": "   "}, pdfCard, []string{"new_name"}},
		{"LongName", map[string]string{"new_name": strings.Repeat("n", 201)}, pdfCard, []string{"new_name"}},
		{"SameName", map[string]string{"new_name": " " + cy.Name + " "}, pdfCard, []string{"new_name"}},
		{"LongReason", map[string]string{"new_name": "Cy New", "reason": strings.Repeat("r", 1001)}, pdfCard, []string{"reason"}},
		{"TextDocument", valid, []byte("this is my passport, trust me"), []string{"document"}},
		{"HTMLDocument", valid, []byte("<html><script>alert(1)</script></html>"), []string{"document"}},
		{"EmptyDocument", valid, []byte{}, []string{"document"}},
		{"DocumentOver5MiB", valid, append(slices.Clone(jpegCard), bytes.Repeat([]byte{0}, 5<<20)...), []string{"document"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, nameChangeReq(t, tok, tc.fields, "id.pdf", tc.doc))
			if r.Code != 422 || r.problemType() != "validation" {
				t.Fatalf("status %d type %q, want 422 validation; body %s", r.Code, r.problemType(), truncate(r.Body))
			}
			got := r.fieldErrors(t)
			slices.Sort(got)
			want := slices.Clone(tc.wantFields)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("field errors %v, want %v", got, want)
			}
		})
	}
	if n := e.count(t, `SELECT count(*) FROM name_change_requests`); n != 0 {
		t.Errorf("%d requests stored from bad input, want none", n)
	}
	// A supported type passes, whatever the client calls it.
	if r := e.do(t, nameChangeReq(t, tok, valid, "scan.bin", jpegCard)); r.Code != 201 || !strings.Contains(string(r.Body), `"document_type":"image/jpeg"`) {
		t.Errorf("JPEG named scan.bin = %d %s, want 201 as image/jpeg", r.Code, truncate(r.Body))
	}
}
