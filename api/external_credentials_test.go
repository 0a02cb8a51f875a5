package api_test

import (
	"bytes"
	"mime/multipart"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

func init() {
	// Card files come back as images too; the spec validator needs to know how to read them.
	for _, ct := range []string{"image/png", "image/jpeg"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// Minimal files of each type, recognised by their first bytes.
var (
	pdfCard  = []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")
	pngCard  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")
	jpegCard = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9")
)

// cardFields are valid form fields for an upload; tests override some.
func cardFields(over map[string]string) map[string]string {
	f := map[string]string{"course": "ACLS", "issuer": "Mercy Training Center", "card_number": "ACLS-88231",
		"issued_on": "2025-01-15", "expires_on": "2027-01-31"}
	for k, v := range over {
		if v == "" {
			delete(f, k)
		} else {
			f[k] = v
		}
	}
	return f
}

// multipartBody builds a multipart/form-data body of fields and, unless file is nil, a file part.
func multipartBody(t testing.TB, fields map[string]string, fileName string, file []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if file != nil {
		part, err := w.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = part.Write(file)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

func uploadReq(t testing.TB, token string, fields map[string]string, fileName string, file []byte) req {
	body, ctype := multipartBody(t, fields, fileName, file)
	return req{method: "POST", path: "/v1/me/external-credentials", token: token, body: body, ctype: ctype}
}

// cardBody is the part of an uploaded card's answer the tests read.
type cardBody struct {
	ID           string  `json:"id"`
	Course       string  `json:"course"`
	CardNumber   string  `json:"card_number"`
	IssuedOn     string  `json:"issued_on"`
	ExpiresOn    string  `json:"expires_on"`
	Status       string  `json:"status"`
	ContentType  string  `json:"content_type"`
	ReviewReason *string `json:"review_reason"`
	Holder       *struct {
		Email string `json:"email"`
	} `json:"holder"`
}

// uploadCard uploads a valid card for the user with token and returns it.
func (e *env) uploadCard(t testing.TB, token string, over map[string]string) cardBody {
	t.Helper()
	r := e.do(t, uploadReq(t, token, cardFields(over), "card.pdf", pdfCard))
	if r.Code != 201 {
		t.Fatalf("upload card: %d %s", r.Code, r.Body)
	}
	var c cardBody
	r.decode(t, &c)
	return c
}

func TestUploadExternalCredential(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	_, tok := e.user(t, "holder@example.org")
	big := append(slices.Clone(pdfCard), bytes.Repeat([]byte{' '}, 2<<20)...) // over the global 1M limit
	e.run(t, []scenario{
		{name: "PDF", req: uploadReq(t, tok, cardFields(nil), "card.pdf", pdfCard), wantStatus: 201},
		{name: "PNGNamedAnything", req: uploadReq(t, tok, cardFields(nil), "scan.bin", pngCard), wantStatus: 201},
		{name: "JPEG", req: uploadReq(t, tok, cardFields(map[string]string{"course": "aals"}), "card.jpg", jpegCard), wantStatus: 201},
		{name: "LargerThanGlobalLimit", req: uploadReq(t, tok, cardFields(nil), "card.pdf", big), wantStatus: 201},
		{name: "Anonymous", req: uploadReq(t, "", cardFields(nil), "card.pdf", pdfCard), wantStatus: 401, wantType: "unauthorized"},
		{name: "JSON", req: req{method: "POST", path: "/v1/me/external-credentials", token: tok, body: cardFields(nil)}, wantStatus: 415, wantType: "unsupported-media-type"},
		{name: "BodyOverRouteLimit", req: uploadReq(t, tok, cardFields(nil), "card.pdf", bytes.Repeat([]byte{'%'}, 7<<20)), wantStatus: 413, wantType: "payload-too-large"},
	})

	for _, tc := range []struct {
		name       string
		fields     map[string]string
		file       []byte
		wantFields []string
	}{
		{"UnknownCourse", map[string]string{"course": "BLS"}, pdfCard, []string{"course"}},
		{"MissingEverything", map[string]string{"course": "", "issuer": "", "card_number": "", "issued_on": "", "expires_on": ""}, nil,
			[]string{"course", "issuer", "card_number", "issued_on", "expires_on", "file"}},
		{"BadDates", map[string]string{"issued_on": "15/01/2025", "expires_on": "2027-02-30"}, pdfCard, []string{"issued_on", "expires_on"}},
		{"ExpiresBeforeIssued", map[string]string{"issued_on": "2025-01-15", "expires_on": "2025-01-15"}, pdfCard, []string{"expires_on"}},
		{"IssuedInFuture", map[string]string{"issued_on": "2026-12-01", "expires_on": "2028-12-31"}, pdfCard, []string{"issued_on"}},
		{"TextFile", nil, []byte("this is my card, trust me"), []string{"file"}},
		{"HTMLFile", nil, []byte("<html><script>alert(1)</script></html>"), []string{"file"}},
		{"EmptyFile", nil, []byte{}, []string{"file"}},
		{"FileOver5MiB", nil, append(slices.Clone(pdfCard), bytes.Repeat([]byte{' '}, 5<<20)...), []string{"file"}},
		{"LongIssuer", map[string]string{"issuer": strings.Repeat("x", 201)}, pdfCard, []string{"issuer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, uploadReq(t, tok, cardFields(tc.fields), "card.pdf", tc.file))
			if r.Code != 422 || r.problemType() != "validation" {
				t.Fatalf("status %d type %q, want 422 validation; body %s", r.Code, r.problemType(), truncate(r.Body))
			}
			got := r.fieldErrors(t)
			slices.Sort(got)
			want := slices.Clone(tc.wantFields)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("field errors %v, want %v", got, want)
			}
		})
	}

	t.Run("Answer", func(t *testing.T) {
		c := e.uploadCard(t, tok, nil)
		if c.Status != "pending" || c.Course != "ACLS" || c.CardNumber != "ACLS-88231" || c.IssuedOn != "2025-01-15" ||
			c.ExpiresOn != "2027-01-31" || c.ContentType != "application/pdf" || c.Holder != nil {
			t.Fatalf("card = %+v", c)
		}
	})
	if n := e.count(t, `SELECT count(*) FROM external_credentials`); n != 5 {
		t.Errorf("stored cards = %d, want 5 (only the good uploads)", n)
	}
}

func TestExternalCredentialFilesAndLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	_, owner := e.user(t, "owner@example.org")
	_, other := e.user(t, "other@example.org")
	admin := e.token(t, e.adminUser(t))
	mine := e.uploadCard(t, owner, nil)
	e.clock.Advance(time.Minute)
	theirs := e.uploadCard(t, other, map[string]string{"course": "AALS"})
	e.run(t, []scenario{
		{name: "OwnerFile", req: req{method: "GET", path: "/v1/me/external-credentials/" + mine.ID + "/file", token: owner}, wantStatus: 200},
		{name: "OthersFileIsNotFound", req: req{method: "GET", path: "/v1/me/external-credentials/" + theirs.ID + "/file", token: owner}, wantStatus: 404, wantType: "not-found"},
		{name: "MalformedID", req: req{method: "GET", path: "/v1/me/external-credentials/nope/file", token: owner}, wantStatus: 404, wantType: "not-found"},
		{name: "AnonymousFile", req: req{method: "GET", path: "/v1/me/external-credentials/" + mine.ID + "/file"}, wantStatus: 401, wantType: "unauthorized"},
		{name: "AdminFile", req: req{method: "GET", path: "/v1/admin/external-credentials/" + theirs.ID + "/file", token: admin}, wantStatus: 200},
		{name: "AdminFileNotAdmin", req: req{method: "GET", path: "/v1/admin/external-credentials/" + theirs.ID + "/file", token: owner}, wantStatus: 403, wantType: "forbidden"},
		{name: "AdminListNotAdmin", req: req{method: "GET", path: "/v1/admin/external-credentials", token: owner}, wantStatus: 403, wantType: "forbidden"},
		{name: "AdminListBadStatus", req: req{method: "GET", path: "/v1/admin/external-credentials?status=maybe", token: admin}, wantStatus: 422, wantType: "validation"},
		{name: "MyListAnonymous", req: req{method: "GET", path: "/v1/me/external-credentials"}, wantStatus: 401, wantType: "unauthorized"},
	})

	r := e.do(t, req{method: "GET", path: "/v1/me/external-credentials/" + mine.ID + "/file", token: owner})
	if !bytes.Equal(r.Body, pdfCard) || r.Header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("file = %q (%s, %s), want the uploaded PDF as an attachment", truncate(r.Body), r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
	var list struct{ Items []cardBody }
	e.do(t, req{method: "GET", path: "/v1/me/external-credentials", token: owner}).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != mine.ID {
		t.Errorf("my cards = %+v, want only mine", list.Items)
	}
	type cardPage struct {
		Items      []cardBody
		NextCursor string `json:"next_cursor"`
	}
	var page cardPage
	e.do(t, req{method: "GET", path: "/v1/admin/external-credentials?status=pending&limit=1", token: admin}).decode(t, &page)
	if len(page.Items) != 1 || page.NextCursor == "" || page.Items[0].Holder == nil || page.Items[0].Holder.Email != "other@example.org" {
		t.Fatalf("first admin page = %+v, want the newest card with its holder and a next cursor", page)
	}
	next := page.NextCursor
	page = cardPage{}
	e.do(t, req{method: "GET", path: "/v1/admin/external-credentials?status=pending&limit=1&cursor=" + next, token: admin}).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != mine.ID || page.NextCursor != "" {
		t.Fatalf("second admin page = %+v, want the older card and no cursor", page)
	}

	png := e.do(t, uploadReq(t, other, cardFields(nil), "C:\\scans\\my \"card\".png", pngCard))
	var pngBody cardBody
	png.decode(t, &pngBody)
	r = e.do(t, req{method: "GET", path: "/v1/admin/external-credentials/" + pngBody.ID + "/file", token: admin})
	if r.Code != 200 || !bytes.Equal(r.Body, pngCard) || r.Header.Get("Content-Type") != "image/png" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="my card.png"` {
		t.Errorf("PNG file = %d %s %q, want the uploaded PNG named my card.png", r.Code, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
}

func TestDecideExternalCredential(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	_, owner := e.user(t, "owner@example.org")
	admin := e.token(t, e.adminUser(t))
	toVerify := e.uploadCard(t, owner, nil)
	toReject := e.uploadCard(t, owner, map[string]string{"course": "AALS"})
	verify := func(id string) string { return "/v1/admin/external-credentials/" + id + "/verify" }
	reject := func(id string) string { return "/v1/admin/external-credentials/" + id + "/reject" }
	reason := map[string]any{"reason": "The card number does not match the issuer's records."}
	e.run(t, []scenario{
		{name: "VerifyNotAdmin", req: req{method: "POST", path: verify(toVerify.ID), token: owner}, wantStatus: 403, wantType: "forbidden"},
		{name: "VerifyUnknown", req: req{method: "POST", path: verify("00000000-0000-4000-8000-000000000000"), token: admin}, wantStatus: 404, wantType: "not-found"},
		{name: "RejectWithoutReason", req: req{method: "POST", path: reject(toReject.ID), token: admin, body: map[string]any{"reason": "  "}}, wantStatus: 422, wantType: "validation"},
		{name: "RejectEmptyBody", req: req{method: "POST", path: reject(toReject.ID), token: admin}, wantStatus: 400, wantType: "malformed-request"},
		{name: "Verify", req: req{method: "POST", path: verify(toVerify.ID), token: admin}, wantStatus: 200},
		{name: "VerifyAgain", req: req{method: "POST", path: verify(toVerify.ID), token: admin}, wantStatus: 409, wantType: "external-credential-decided"},
		{name: "RejectVerified", req: req{method: "POST", path: reject(toVerify.ID), token: admin, body: reason}, wantStatus: 409, wantType: "external-credential-decided"},
		{name: "Reject", req: req{method: "POST", path: reject(toReject.ID), token: admin, body: reason}, wantStatus: 200},
		{name: "VerifyRejected", req: req{method: "POST", path: verify(toReject.ID), token: admin}, wantStatus: 409, wantType: "external-credential-decided"},
	})
	var list struct{ Items []cardBody }
	e.do(t, req{method: "GET", path: "/v1/me/external-credentials", token: owner}).decode(t, &list)
	status := map[string]cardBody{}
	for _, c := range list.Items {
		status[c.ID] = c
	}
	if status[toVerify.ID].Status != "verified" || status[toReject.ID].Status != "rejected" ||
		status[toReject.ID].ReviewReason == nil || *status[toReject.ID].ReviewReason != reason["reason"] {
		t.Fatalf("cards after review = %+v", list.Items)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE object_type = 'external_credential'
		AND action IN ('external_credential.verify', 'external_credential.reject') AND before->>'status' = 'pending'`); n != 2 {
		t.Errorf("audit rows = %d, want 2 (one per decision, none for refused ones)", n)
	}
	var pending struct{ Items []cardBody }
	e.do(t, req{method: "GET", path: "/v1/admin/external-credentials?status=pending", token: admin}).decode(t, &pending)
	if len(pending.Items) != 0 {
		t.Errorf("pending after review = %+v, want none", pending.Items)
	}
}

func TestGlobalBodyLimitStillAppliesElsewhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	admin := e.token(t, e.adminUser(t))
	body := `{"description": "` + strings.Repeat("x", 2<<20) + `"}`
	e.run(t, []scenario{{name: "PatchCourse2MB", req: req{method: "PATCH", path: "/v1/admin/courses/AALS", token: admin, body: body},
		wantStatus: 413, wantType: "payload-too-large"}})
}
