package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/api"
)

// importRowBody is one row of an import's result.
type importRowBody struct {
	Row          int    `json:"row"`
	LegacyID     string `json:"legacy_id"`
	Status       string `json:"status"`
	CredentialID string `json:"credential_id"`
	Code         string `json:"code"`
	Errors       []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// importBody is the result of an import.
type importBody struct {
	Created  int             `json:"created"`
	Existing int             `json:"existing"`
	Failed   int             `json:"failed"`
	Rows     []importRowBody `json:"rows"`
}

// fields returns the fields a row's errors name, in order.
func (r importRowBody) fields() []string {
	var out []string
	for _, e := range r.Errors {
		out = append(out, e.Field)
	}
	return out
}

func importCSV(token, csv string) req {
	return req{method: "POST", path: "/v1/admin/credentials/import", token: token, body: csv, ctype: "text/csv; charset=utf-8"}
}

// postImport sends a CSV file and fails the test unless the import answers 200.
func (e *env) postImport(t *testing.T, token, csv string) importBody {
	t.Helper()
	r := e.do(t, importCSV(token, csv))
	if r.Code != 200 {
		t.Fatalf("import = %d %s", r.Code, truncate(r.Body))
	}
	var out importBody
	r.decode(t, &out)
	return out
}

// legacyFile is an export from the old records: a byte-order mark, CRLF line ends, columns in
// an order of their own with human names, quoted names holding commas, and a row of every
// kind of mistake. The env's clock reads 2026-11-21.
const legacyFile = "\ufeffLegacy ID,Name,E-mail,Course,Issued,Valid Through,Notes\r\n" +
	"OLD-1,\"Núñez, José\",jose@example.org,AALS,2025-01-15,2027-01-31,first\r\n" + // 2: new holder
	"OLD-2,\"Kim, Existing\",EXISTING@example.org,acls,2024-06-01,2026-06-30,\r\n" + // 3: known holder, lower-case course, expired
	"OLD-3,Bad Email,not-an-email,AALS,2025-01-15,2027-01-31,\r\n" + // 4
	"OLD-4,Unknown Course,u@example.org,BLS,2025-01-15,2027-01-31,\r\n" + // 5
	"OLD-5,Bad Date,d@example.org,AALS,2025-02-30,2027-01-31,\r\n" + // 6
	"OLD-6,Backwards,b@example.org,AALS,2025-03-01,2025-02-01,\r\n" + // 7
	"OLD-1,Repeat,r@example.org,AALS,2025-01-15,2027-01-31,\r\n" + // 8
	"OLD-7,Future,f@example.org,AALS,2026-12-01,2028-12-31,\r\n" + // 9
	",,,,,,\r\n" + // 10
	"OLD-8,Unquoted, Comma,c@example.org,AALS,2025-01-15,2027-01-31,\r\n" // 11

// TestCredentialImport imports a legacy file: good rows go in, each bad row gets its own
// errors with its line, holders are found or created, and uploading it again changes nothing.
func TestCredentialImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	admin := e.token(t, e.adminUser(t))
	kim, kimTok := e.user(t, "existing@example.org")

	out := e.postImport(t, admin, legacyFile)
	want := []struct {
		row    int
		legacy string
		status string
		fields []string
	}{
		{2, "OLD-1", "created", nil},
		{3, "OLD-2", "created", nil},
		{4, "OLD-3", "error", []string{"email"}},
		{5, "OLD-4", "error", []string{"course"}},
		{6, "OLD-5", "error", []string{"issued"}},
		{7, "OLD-6", "error", []string{"valid_through"}},
		{8, "OLD-1", "error", []string{"legacy_id"}},
		{9, "OLD-7", "error", []string{"issued"}},
		{10, "", "error", []string{"legacy_id", "name", "email", "course", "issued", "valid_through"}},
		{11, "OLD-8", "error", []string{"row"}},
	}
	if out.Created != 2 || out.Existing != 0 || out.Failed != 8 || len(out.Rows) != len(want) {
		t.Fatalf("result = %+v", out)
	}
	for i, w := range want {
		got := out.Rows[i]
		if got.Row != w.row || got.LegacyID != w.legacy || got.Status != w.status || !reflect.DeepEqual(got.fields(), w.fields) {
			t.Errorf("row %d = %+v, want %s %s errors on %v", w.row, got, w.legacy, w.status, w.fields)
		}
		hasCredential := got.CredentialID != "" && (strings.HasPrefix(got.Code, "AALS-") || strings.HasPrefix(got.Code, "ACLS-"))
		if (got.Status == "created") != hasCredential {
			t.Errorf("row %d: credential %q code %q", w.row, got.CredentialID, got.Code)
		}
	}
	if msg := out.Rows[6].Errors[0].Message; !strings.Contains(msg, "row 2") {
		t.Errorf("repeated legacy_id message = %q, want it to name row 2", msg)
	}
	if n := e.count(t, `SELECT count(*) FROM credentials WHERE source = 'imported'`); n != 2 {
		t.Errorf("%d imported credentials, want 2", n)
	}
	if n := e.count(t, `SELECT count(*) FROM users WHERE email NOT IN ('existing@example.org', 'staff@program.test', 'jose@example.org')`); n != 0 {
		t.Errorf("%d accounts created for rows that failed, want 0", n)
	}
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'credential_created'`); n != 2 {
		t.Errorf("%d credential_created jobs, want one per new credential", n)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'credential.import'
		AND after->>'created' = '2' AND after->>'failed' = '8' AND after->>'rows' = '10'`); n != 1 {
		t.Errorf("%d audit entries with the counts, want 1", n)
	}

	t.Run("HolderSeesIt", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/v1/credentials", token: kimTok})
		var list struct {
			Items []credentialBody `json:"items"`
		}
		r.decode(t, &list)
		if r.Code != 200 || len(list.Items) != 1 {
			t.Fatalf("known holder's credentials = %d %s", r.Code, truncate(r.Body))
		}
		c := list.Items[0]
		if c.ID != out.Rows[1].CredentialID || c.Code != out.Rows[1].Code || c.Course != "ACLS" || c.HolderName != "Kim, Existing" ||
			c.Status != "expired" || c.ValidFrom != "2024-06-01T00:00:00Z" || c.ValidThrough != "2026-06-30" ||
			c.ValidUntil != "2026-06-30T23:59:59Z" || c.CECredits != nil || c.VerifyURL != publicURL+"/verify/"+c.Code {
			t.Errorf("imported credential = %+v", c)
		}
		if n := e.count(t, `SELECT count(*) FROM credentials WHERE user_id = $1 AND legacy_id = 'OLD-2'`, kim.ID); n != 1 {
			t.Errorf("the known holder's account holds %d credentials of OLD-2, want 1", n)
		}
	})

	t.Run("NewHolderClaimsTheAccount", func(t *testing.T) {
		login := func(pw string) req {
			return req{method: "POST", path: "/v1/auth/login", body: map[string]string{"email": "jose@example.org", "password": pw}}
		}
		e.run(t, []scenario{
			{name: "NoPasswordYet", req: login("correct horse battery staple"), wantStatus: 401, wantType: "invalid-credentials"},
			{name: "AnyPassword", req: login(" "), wantStatus: 401, wantType: "invalid-credentials"},
		})
		if r := e.do(t, req{method: "POST", path: "/v1/auth/password-reset", body: map[string]string{"email": "jose@example.org"}}); r.Code != 202 {
			t.Fatalf("password reset = %d %s", r.Code, truncate(r.Body))
		}
		tok := authResetToken(t, e, "jose@example.org")
		r := e.do(t, req{method: "POST", path: "/v1/auth/password-reset/confirm",
			body: map[string]string{"token": tok, "password": "a new password for José"}})
		if r.Code != 204 {
			t.Fatalf("confirm reset = %d %s", r.Code, truncate(r.Body))
		}
		p := authLogin(t, e, "jose@example.org", "a new password for José", "")
		r = e.do(t, req{method: "GET", path: "/v1/credentials", token: p.AccessToken})
		var list struct {
			Items []credentialBody `json:"items"`
		}
		r.decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].HolderName != "Núñez, José" || list.Items[0].Status != "active" ||
			list.Items[0].ValidThrough != "2027-01-31" || list.Items[0].ValidFrom != "2025-01-15T00:00:00Z" {
			t.Errorf("José's credentials = %s", truncate(r.Body))
		}
		if n := e.count(t, `SELECT count(*) FROM users WHERE email = 'jose@example.org' AND email_verified_at IS NULL AND name_locked_at IS NOT NULL`); n != 1 {
			t.Errorf("José's account: %d unverified with a locked name, want 1", n)
		}
	})

	t.Run("AgainChangesNothing", func(t *testing.T) {
		credentials := e.count(t, `SELECT count(*) FROM credentials`)
		users := e.count(t, `SELECT count(*) FROM users`)
		again := e.postImport(t, admin, legacyFile)
		if again.Created != 0 || again.Existing != 2 || again.Failed != 8 {
			t.Errorf("again = %d created, %d existing, %d failed; want 0, 2, 8", again.Created, again.Existing, again.Failed)
		}
		for _, i := range []int{0, 1} {
			if g, w := again.Rows[i], out.Rows[i]; g.Status != "exists" || g.CredentialID != w.CredentialID || g.Code != w.Code {
				t.Errorf("row %d again = %+v, want exists with %s %s", w.Row, g, w.CredentialID, w.Code)
			}
		}
		if n := e.count(t, `SELECT count(*) FROM credentials`); n != credentials {
			t.Errorf("%d credentials after uploading again, want %d", n, credentials)
		}
		if n := e.count(t, `SELECT count(*) FROM users`); n != users {
			t.Errorf("%d users after uploading again, want %d", n, users)
		}
		if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'credential_created'`); n != 2 {
			t.Errorf("%d credential_created jobs after uploading again, want 2", n)
		}
	})
}

// TestCredentialImportTimeZone dates an imported credential on the issuer's calendar.
func TestCredentialImportTimeZone(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *api.Config, _ *api.Deps) { c.Location = ny })
	e.seedCourses(t)
	_, tok := e.user(t, "ny@example.org")
	out := e.postImport(t, e.token(t, e.adminUser(t)),
		"name,email,course,issued,valid_through,legacy_id\nNew York,ny@example.org,AALS,2025-07-04,2027-07-31,NY-1\n")
	if out.Created != 1 {
		t.Fatalf("import = %+v", out)
	}
	r := e.do(t, req{method: "GET", path: "/v1/credentials/" + out.Rows[0].CredentialID, token: tok})
	var c credentialBody
	r.decode(t, &c)
	if c.ValidFrom != "2025-07-04T04:00:00Z" || c.ValidThrough != "2027-07-31" || c.ValidUntil != "2027-08-01T03:59:59Z" {
		t.Errorf("dates = from %s through %s until %s; want the issuer's midnights (EDT)", c.ValidFrom, c.ValidThrough, c.ValidUntil)
	}
}

// TestCredentialImportRefusesTheFile covers what refuses a whole file, and who may import.
func TestCredentialImportRefusesTheFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	admin := e.token(t, e.adminUser(t))
	_, member := e.user(t, "member@example.org")
	good := "name,email,course,issued,valid_through,legacy_id\nAna,ana@example.org,AALS,2025-01-15,2027-01-31,R-1\n"
	var many strings.Builder
	many.WriteString("name,email,course,issued,valid_through,legacy_id\n")
	for i := range 5001 {
		fmt.Fprintf(&many, "N,n%d@example.org,AALS,2025-01-15,2027-01-31,M-%d\n", i, i)
	}
	e.run(t, []scenario{
		{name: "Anonymous", req: importCSV("", good), wantStatus: 401, wantType: "unauthorized"},
		{name: "NotAnAdmin", req: importCSV(member, good), wantStatus: 403, wantType: "forbidden"},
		{name: "JSON", req: req{method: "POST", path: "/v1/admin/credentials/import", token: admin, body: map[string]string{"a": "b"}},
			wantStatus: 415, wantType: "unsupported-media-type"},
		{name: "Empty", req: importCSV(admin, "\ufeff"), wantStatus: 422, wantType: "validation"},
		{name: "HeaderOnly", req: importCSV(admin, "name,email,course,issued,valid_through,legacy_id\r\n"), wantStatus: 422, wantType: "validation"},
		{name: "NotUTF8", req: importCSV(admin, "name,email,course,issued,valid_through,legacy_id\nN\xfa\xf1ez,n@example.org,AALS,2025-01-15,2027-01-31,U-1\n"),
			wantStatus: 422, wantType: "validation"},
		{name: "BadQuote", req: importCSV(admin, "name,email,course,issued,valid_through,legacy_id\n\"Ana,ana@example.org\n"),
			wantStatus: 422, wantType: "validation"},
		{name: "TooManyRows", req: importCSV(admin, many.String()), wantStatus: 422, wantType: "validation"},
		{name: "OverTheRouteLimit", req: importCSV(admin, good+strings.Repeat("#", 8<<20)), wantStatus: 413, wantType: "payload-too-large"},
	})

	r := e.do(t, importCSV(admin, "Name,EMAIL,legacy_id,issued\nAna,ana@example.org,R-1,2025-01-15\n"))
	var p struct {
		Errors []struct{ Field, Message string } `json:"errors"`
	}
	r.decode(t, &p)
	var missing []string
	for _, fe := range p.Errors {
		missing = append(missing, fe.Field+": "+fe.Message)
	}
	if r.Code != 422 || r.problemType() != "validation" ||
		!reflect.DeepEqual(missing, []string{"header: has no course column", "header: has no valid_through column"}) {
		t.Errorf("missing columns = %d %v, want 422 naming course and valid_through", r.Code, missing)
	}
	if n := e.count(t, `SELECT count(*) FROM credentials`); n != 0 {
		t.Errorf("%d credentials after refused files, want 0", n)
	}
}

// TestCredentialImportUploads takes the file as a multipart upload, and as a text/csv body
// past the global 1 MiB body limit; an Idempotency-Key replays the first answer.
func TestCredentialImportUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	admin := e.token(t, e.adminUser(t))

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "legacy.csv")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(fw, "name,email,course,issued,valid_through,legacy_id\nAna,ana@example.org,AALS,2025-01-15,2027-01-31,U-1\n")
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, req{method: "POST", path: "/v1/admin/credentials/import", token: admin, body: body.Bytes(), ctype: mw.FormDataContentType()})
	var out importBody
	r.decode(t, &out)
	if r.Code != 200 || out.Created != 1 || out.Rows[0].LegacyID != "U-1" {
		t.Errorf("multipart import = %d %s", r.Code, truncate(r.Body))
	}
	r = e.do(t, req{method: "POST", path: "/v1/admin/credentials/import", token: admin, body: []byte("--x--"), ctype: "multipart/form-data; boundary=x"})
	if r.Code != 422 || r.problemType() != "validation" {
		t.Errorf("multipart without a file = %d %s, want 422 validation", r.Code, truncate(r.Body))
	}

	// 3 rows with a 600 KB notes column each: about 1.8 MB.
	var big strings.Builder
	big.WriteString("name,email,course,issued,valid_through,legacy_id,notes\n")
	for i := range 3 {
		fmt.Fprintf(&big, "Big %d,big%d@example.org,AALS,2025-01-15,2027-01-31,B-%d,%s\n", i, i, i, strings.Repeat("n", 600_000))
	}
	key := map[string]string{"Idempotency-Key": "import-big-1"}
	q := importCSV(admin, big.String())
	q.headers = key
	first := e.do(t, q)
	if first.Code != 200 {
		t.Fatalf("1.8 MB import = %d %s", first.Code, truncate(first.Body))
	}
	replay := e.do(t, q)
	if replay.Code != 200 || replay.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(replay.Body, first.Body) {
		t.Errorf("replay = %d replayed=%q", replay.Code, replay.Header.Get("Idempotent-Replayed"))
	}
	var res importBody
	if err := json.Unmarshal(first.Body, &res); err != nil || res.Created != 3 {
		t.Errorf("1.8 MB import = %s, want 3 created", truncate(first.Body))
	}
}
