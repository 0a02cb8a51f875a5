package api_test

import (
	"bytes"
	"encoding/csv"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/models"
)

type complianceBody struct {
	Items []struct {
		Email      string
		Name       string
		AALS, ACLS struct {
			Status       string
			Code         string
			ValidThrough string `json:"valid_through"`
		}
	}
	NextCursor string `json:"next_cursor"`
}

// complianceFixture is an org whose people hold credentials in every state.
type complianceFixture struct {
	orgID, adminTok, memberTok, outsiderTok string
	aalsCode, aclsCode                      string
}

func newComplianceFixture(t *testing.T, e *env) complianceFixture {
	t.Helper()
	e.seedCourses(t)
	admin, adminTok := e.user(t, "admin@hospital.test")
	orgID := e.org(t, adminTok, "St. Compliance Hospital")
	f := complianceFixture{orgID: orgID, adminTok: adminTok}

	// A member with an active AALS and an ACLS valid through 20 days from now.
	nurse, nurseTok := e.user(t, "nurse@hospital.test")
	e.addMember(t, orgID, nurse, models.RoleMember)
	f.memberTok = nurseTok
	f.aalsCode = e.issueCredential(t, nurse, "AALS").Code
	acls := e.issueCredential(t, nurse, "ACLS")
	f.aclsCode = acls.Code
	through := e.clock.Now().AddDate(0, 0, 20)
	e.rosterExec(t, `UPDATE credentials SET valid_through = $2, valid_until = $3 WHERE id = $1`,
		acls.ID, through.Format(time.DateOnly), through.Add(24*time.Hour))

	// Someone who joined through a cohort only, with a revoked AALS, and a formula for a name.
	joined, _ := e.user(t, "cohort.only@hospital.test", func(u *models.User) { u.Name = "@SUM(A1:A9)" })
	revoked := e.issueCredential(t, joined, "AALS")
	e.rosterExec(t, `UPDATE credentials SET status = 'revoked' WHERE id = $1`, revoked.ID)
	cohortID := e.rosterCohort(t, orgID, admin, "AALS", e.clock.Now().AddDate(0, 1, 0))
	e.rosterInvite(t, cohortID, joined.Email, "", "accepted", joined, nil)
	// Invited but not accepted: not one of the org's people yet.
	e.rosterInvite(t, cohortID, "not.yet@hospital.test", "Not Yet", "invited", nil, nil)

	// Another org's member, and their credential, stay out.
	outsider, outsiderTok := e.user(t, "outsider@clinic.test")
	e.org(t, outsiderTok, "Other Clinic")
	e.issueCredential(t, outsider, "AALS")
	f.outsiderTok = outsiderTok
	return f
}

func (e *env) compliance(t *testing.T, f complianceFixture, query string) complianceBody {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/v1/orgs/" + f.orgID + "/compliance" + query, token: f.adminTok})
	if r.Code != 200 {
		t.Fatalf("compliance%s: %d %s", query, r.Code, r.Body)
	}
	var b complianceBody
	r.decode(t, &b)
	return b
}

func complianceEmails(b complianceBody) string {
	var out []string
	for _, it := range b.Items {
		out = append(out, it.Email)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestOrgComplianceReport lists every member and cohort member with the state of each course,
// and narrows it by course, state and expiry.
func TestOrgComplianceReport(t *testing.T) {
	e := newEnv(t)
	f := newComplianceFixture(t, e)

	all := e.compliance(t, f, "")
	if got, want := complianceEmails(all), "admin@hospital.test cohort.only@hospital.test nurse@hospital.test"; got != want {
		t.Fatalf("report lists %s, want %s", got, want)
	}
	for _, it := range all.Items {
		switch it.Email {
		case "nurse@hospital.test":
			if it.AALS.Status != "active" || it.AALS.Code != f.aalsCode || it.ACLS.Status != "expiring" || it.ACLS.Code != f.aclsCode {
				t.Errorf("nurse = %+v", it)
			}
			if want := e.clock.Now().AddDate(0, 0, 20).Format(time.DateOnly); it.ACLS.ValidThrough != want {
				t.Errorf("ACLS valid through %s, want %s", it.ACLS.ValidThrough, want)
			}
		case "cohort.only@hospital.test":
			if it.AALS.Status != "revoked" || it.ACLS.Status != "none" || it.ACLS.Code != "" {
				t.Errorf("cohort member = %+v", it)
			}
		case "admin@hospital.test":
			if it.AALS.Status != "none" || it.ACLS.Status != "none" {
				t.Errorf("admin = %+v", it)
			}
		}
	}

	for _, c := range []struct{ query, want string }{
		{"?status=none", "admin@hospital.test cohort.only@hospital.test"},
		{"?course=AALS&status=none", "admin@hospital.test"},
		{"?course=ACLS&status=none", "admin@hospital.test cohort.only@hospital.test"},
		{"?status=expiring", "nurse@hospital.test"},
		{"?course=AALS&status=expiring", ""},
		{"?status=revoked", "cohort.only@hospital.test"},
		{"?expiring_within_days=30", "nurse@hospital.test"},
		{"?expiring_within_days=10", ""},
		{"?course=AALS&expiring_within_days=365", ""},
	} {
		if got := complianceEmails(e.compliance(t, f, c.query)); got != c.want {
			t.Errorf("%s lists %q, want %q", c.query, got, c.want)
		}
	}

	// Pages of one meet everyone once.
	var seen []string
	cursor := ""
	for range 5 {
		b := e.compliance(t, f, "?limit=1&cursor="+cursor)
		for _, it := range b.Items {
			seen = append(seen, it.Email)
		}
		if cursor = b.NextCursor; cursor == "" {
			break
		}
	}
	sort.Strings(seen)
	if got := strings.Join(seen, " "); got != complianceEmails(all) {
		t.Errorf("pages gave %s", got)
	}
}

// TestOrgComplianceCSV exports the whole report with formulas neutralized.
func TestOrgComplianceCSV(t *testing.T) {
	e := newEnv(t)
	f := newComplianceFixture(t, e)
	r := e.do(t, req{method: "GET", path: "/v1/orgs/" + f.orgID + "/compliance?limit=1", token: f.adminTok,
		headers: map[string]string{"Accept": "text/csv"}})
	if r.Code != 200 {
		t.Fatalf("compliance CSV: %d %s", r.Code, r.Body)
	}
	recs, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || strings.Join(recs[0], ",") != "email,name,aals_status,aals_code,aals_valid_through,acls_status,acls_code,acls_valid_through" {
		t.Fatalf("CSV = %q", recs)
	}
	for _, rec := range recs[1:] {
		if rec[0] == "cohort.only@hospital.test" && rec[1] != "'@SUM(A1:A9)" {
			t.Errorf("a formula name is exported as %q", rec[1])
		}
		if rec[0] == "nurse@hospital.test" && (rec[2] != "active" || rec[5] != "expiring" || rec[6] != f.aclsCode) {
			t.Errorf("nurse row = %q", rec)
		}
	}
}

// TestOrgComplianceAccess keeps the report to the org's admins and refuses bad filters.
func TestOrgComplianceAccess(t *testing.T) {
	e := newEnv(t)
	f := newComplianceFixture(t, e)
	path := "/v1/orgs/" + f.orgID + "/compliance"
	e.run(t, []scenario{
		{name: "Outsider", req: req{method: "GET", path: path, token: f.outsiderTok}, wantStatus: 404, wantType: "not-found"},
		{name: "Member", req: req{method: "GET", path: path, token: f.memberTok}, wantStatus: 403, wantType: "forbidden"},
		{name: "UnknownCourse", req: req{method: "GET", path: path + "?course=BLS", token: f.adminTok}, wantStatus: 422, wantType: "validation"},
		{name: "UnknownStatus", req: req{method: "GET", path: path + "?status=superseded", token: f.adminTok}, wantStatus: 422, wantType: "validation"},
		{name: "ZeroDays", req: req{method: "GET", path: path + "?expiring_within_days=0", token: f.adminTok}, wantStatus: 422, wantType: "validation"},
		{name: "TooManyDays", req: req{method: "GET", path: path + "?expiring_within_days=366", token: f.adminTok}, wantStatus: 422, wantType: "validation"},
		{name: "NotANumber", req: req{method: "GET", path: path + "?expiring_within_days=soon", token: f.adminTok}, wantStatus: 422, wantType: "validation"},
	})
}
