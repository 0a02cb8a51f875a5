package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aalscert/aalscert/models"
)

// skillsBody is the part of a skills-check answer the tests read.
type skillsBody struct {
	EnrollmentID string `json:"enrollment_id"`
	Site         *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"site"`
	Passed bool `json:"passed"`
	Check  *struct {
		Passed       bool   `json:"passed"`
		Notes        string `json:"notes"`
		InstructorID string `json:"instructor_id"`
		Instructor   string `json:"instructor"`
		AttestedAt   string `json:"attested_at"`
	} `json:"check"`
}

func TestSkillsCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	admin := e.adminToken(t)
	learner, learnerTok := e.user(t, "learner@h.test")
	acls := e.paidEnrollmentIn(t, learner, "ACLS")
	aals := e.paidEnrollmentIn(t, learner, "AALS")

	site, instructor, instructorTok, siteAdminTok := e.trainingSite(t, "mercy")
	other, _, otherInstructorTok, _ := e.trainingSite(t, "general")
	_ = other
	// The learner teaches at the site too: still no attesting their own check.
	e.addMember(t, site, learner, models.RoleInstructor)
	nurse, nurseTok := e.user(t, "nurse@mercy.test")
	e.addMember(t, site, nurse, models.RoleMember)
	// An org with an instructor that the program has not approved, and an approved one
	// without instructors.
	_, pendingAdminTok := e.user(t, "admin@pending.test")
	pending := e.org(t, pendingAdminTok, "Pending")
	e.addMember(t, pending, instructor, models.RoleInstructor)
	_, bareAdminTok := e.user(t, "admin@bare.test")
	bare := e.org(t, bareAdminTok, "Bare")
	e.approve(t, bare)
	_, strangerTok := e.user(t, "stranger@h.test")

	sitePath := "/v1/enrollments/" + acls.ID.String() + "/skills-site"
	checkPath := "/v1/enrollments/" + acls.ID.String() + "/skills-check"
	pendingPath := "/v1/orgs/" + site + "/skills-checks/pending"
	passed := map[string]any{"passed": true, "notes": "Led two megacode scenarios; compressions and shocks on time."}

	t.Run("BeforeASite", func(t *testing.T) {
		e.run(t, []scenario{
			{name: "OwnerReads", req: req{method: "GET", path: checkPath, token: learnerTok}, wantStatus: 200},
			{name: "AdminFindsNoSite", req: req{method: "POST", path: checkPath, token: admin, body: passed}, wantStatus: 409, wantType: "no-skills-site"},
			{name: "InstructorCannotSeeIt", req: req{method: "POST", path: checkPath, token: instructorTok, body: passed}, wantStatus: 404, wantType: "not-found"},
		})
	})
	t.Run("ChooseSite", func(t *testing.T) {
		e.run(t, []scenario{
			{name: "Anonymous", req: req{method: "PUT", path: sitePath, body: map[string]any{"org_id": site}}, wantStatus: 401, wantType: "unauthorized"},
			{name: "SomeoneElses", req: req{method: "PUT", path: sitePath, token: strangerTok, body: map[string]any{"org_id": site}}, wantStatus: 404, wantType: "not-found"},
			{name: "NoOrg", req: req{method: "PUT", path: sitePath, token: learnerTok, body: map[string]any{}}, wantStatus: 422, wantType: "validation"},
			{name: "MalformedOrg", req: req{method: "PUT", path: sitePath, token: learnerTok, body: map[string]any{"org_id": "mercy"}}, wantStatus: 422, wantType: "validation"},
			{name: "UnknownOrg", req: req{method: "PUT", path: sitePath, token: learnerTok, body: map[string]any{"org_id": "00000000-0000-4000-8000-000000000001"}}, wantStatus: 422, wantType: "not-a-training-site"},
			{name: "UnapprovedOrg", req: req{method: "PUT", path: sitePath, token: learnerTok, body: map[string]any{"org_id": pending}}, wantStatus: 422, wantType: "not-a-training-site"},
			{name: "NoInstructors", req: req{method: "PUT", path: sitePath, token: learnerTok, body: map[string]any{"org_id": bare}}, wantStatus: 422, wantType: "not-a-training-site"},
			{name: "CourseWithoutSkillsCheck", req: req{method: "PUT", path: "/v1/enrollments/" + aals.ID.String() + "/skills-site", token: learnerTok, body: map[string]any{"org_id": site}}, wantStatus: 409, wantType: "no-skills-check"},
			{name: "OtherSiteFirst", req: req{method: "PUT", path: sitePath, token: learnerTok, body: map[string]any{"org_id": other}}, wantStatus: 200},
			{name: "ChangesMind", req: req{method: "PUT", path: sitePath, token: learnerTok, body: map[string]any{"org_id": site}}, wantStatus: 200},
		})
		r := e.do(t, req{method: "GET", path: checkPath, token: learnerTok})
		var b skillsBody
		r.decode(t, &b)
		if b.Site == nil || b.Site.ID != site || b.Site.Name != "mercy" || b.Passed || b.Check != nil {
			t.Fatalf("skills check after choosing = %s, want site mercy, nothing recorded", r.Body)
		}
	})
	t.Run("PendingAtTheSite", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: pendingPath, token: instructorTok})
		var list struct {
			Items []struct {
				EnrollmentID string `json:"enrollment_id"`
				Course       string `json:"course"`
				Learner      struct{ Name string }
			}
		}
		r.decode(t, &list)
		if r.Code != 200 || len(list.Items) != 1 || list.Items[0].EnrollmentID != acls.ID.String() ||
			list.Items[0].Course != "ACLS" || list.Items[0].Learner.Name != learner.Name {
			t.Fatalf("pending = %d %s, want the learner's ACLS enrollment", r.Code, r.Body)
		}
		e.run(t, []scenario{
			{name: "SiteAdmin", req: req{method: "GET", path: pendingPath, token: siteAdminTok}, wantStatus: 200},
			{name: "MemberWithoutRole", req: req{method: "GET", path: pendingPath, token: nurseTok}, wantStatus: 403, wantType: "forbidden"},
			{name: "OtherOrgsInstructor", req: req{method: "GET", path: pendingPath, token: otherInstructorTok}, wantStatus: 404, wantType: "not-found"},
			{name: "UnapprovedOrgsInstructors", req: req{method: "GET", path: "/v1/orgs/" + pending + "/skills-checks/pending", token: instructorTok}, wantStatus: 403, wantType: "org-not-approved"},
			{name: "Anonymous", req: req{method: "GET", path: pendingPath}, wantStatus: 401, wantType: "unauthorized"},
		})
	})
	t.Run("Attest", func(t *testing.T) {
		e.run(t, []scenario{
			{name: "Anonymous", req: req{method: "POST", path: checkPath, body: passed}, wantStatus: 401, wantType: "unauthorized"},
			{name: "OwnCheck", req: req{method: "POST", path: checkPath, token: learnerTok, body: passed}, wantStatus: 403, wantType: "own-skills-check"},
			{name: "OtherOrgsInstructor", req: req{method: "POST", path: checkPath, token: otherInstructorTok, body: passed}, wantStatus: 404, wantType: "not-found"},
			{name: "Stranger", req: req{method: "POST", path: checkPath, token: strangerTok, body: passed}, wantStatus: 404, wantType: "not-found"},
			{name: "SiteMemberWithoutRole", req: req{method: "POST", path: checkPath, token: nurseTok, body: passed}, wantStatus: 403, wantType: "forbidden"},
			{name: "NoPassed", req: req{method: "POST", path: checkPath, token: instructorTok, body: map[string]any{"notes": "ok"}}, wantStatus: 422, wantType: "validation"},
			{name: "NotesTooLong", req: req{method: "POST", path: checkPath, token: instructorTok, body: map[string]any{"passed": true, "notes": strings.Repeat("x", 2001)}}, wantStatus: 422, wantType: "validation"},
			{name: "CourseWithoutSkillsCheck", req: req{method: "POST", path: "/v1/enrollments/" + aals.ID.String() + "/skills-check", token: admin, body: passed}, wantStatus: 409, wantType: "no-skills-check"},
			{name: "Instructor", req: req{method: "POST", path: checkPath, token: instructorTok, body: passed}, wantStatus: 201},
			{name: "SecondAttestation", req: req{method: "POST", path: checkPath, token: siteAdminTok, body: passed}, wantStatus: 409, wantType: "skills-check-recorded"},
			{name: "SiteChangeAfterwards", req: req{method: "PUT", path: sitePath, token: learnerTok, body: map[string]any{"org_id": other}}, wantStatus: 409, wantType: "skills-check-recorded"},
		})
		r := e.do(t, req{method: "GET", path: checkPath, token: learnerTok})
		var b skillsBody
		r.decode(t, &b)
		if !b.Passed || b.Check == nil || !b.Check.Passed || b.Check.InstructorID != instructor.ID.String() ||
			b.Check.Instructor != instructor.Name || b.Check.AttestedAt != "2026-11-21T15:00:00Z" {
			t.Fatalf("skills check = %s, want passed, by the instructor, at the clock's time", r.Body)
		}
		var passedAt *string
		err := e.db.Pool.QueryRow(context.Background(), `SELECT to_char(skills_passed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') FROM enrollments WHERE id = $1`, acls.ID).Scan(&passedAt)
		if err != nil || passedAt == nil || *passedAt != "2026-11-21T15:00:00" {
			t.Fatalf("enrollment skills_passed_at = %v, %v; want the attestation time", passedAt, err)
		}
		if n := e.count(t, `SELECT count(*) FROM skills_checks WHERE enrollment_id = $1 AND org_id = $2 AND instructor_id = $3`, acls.ID, site, instructor.ID); n != 1 {
			t.Errorf("skills_checks rows = %d, want 1 by the instructor at the site", n)
		}
		r = e.do(t, req{method: "GET", path: pendingPath, token: instructorTok})
		if !strings.Contains(string(r.Body), `"items":[]`) {
			t.Errorf("pending after the check = %s, want none", r.Body)
		}
	})
	t.Run("SiteAdminAndPlatformAdminAttest", func(t *testing.T) {
		for i, tok := range []string{siteAdminTok, admin} {
			u, uTok := e.user(t, []string{"a@learner.test", "b@learner.test"}[i])
			en := e.paidEnrollmentIn(t, u, "ACLS")
			e.run(t, []scenario{
				{name: "Choose", req: req{method: "PUT", path: "/v1/enrollments/" + en.ID.String() + "/skills-site", token: uTok, body: map[string]any{"org_id": site}}, wantStatus: 200},
				{name: "Attest", req: req{method: "POST", path: "/v1/enrollments/" + en.ID.String() + "/skills-check", token: tok, body: map[string]any{"passed": false, "notes": "Needs to practise rhythm checks."}}, wantStatus: 201},
			})
			if n := e.count(t, `SELECT count(*) FROM enrollments WHERE id = $1 AND skills_passed_at IS NULL`, en.ID); n != 1 {
				t.Errorf("a failed check marked the skills requirement met")
			}
		}
	})
	t.Run("EnrollmentNotPaid", func(t *testing.T) {
		u, uTok := e.user(t, "unpaid@learner.test")
		en := &models.Enrollment{UserID: u.ID, CourseCode: "ACLS", Offering: models.OfferingInitial}
		if err := models.CreateEnrollment(context.Background(), e.db.Gorm, en, nil); err != nil {
			t.Fatal(err)
		}
		e.run(t, []scenario{
			{name: "ChoosesEarly", req: req{method: "PUT", path: "/v1/enrollments/" + en.ID.String() + "/skills-site", token: uTok, body: map[string]any{"org_id": site}}, wantStatus: 200},
			{name: "NotYetAttested", req: req{method: "POST", path: "/v1/enrollments/" + en.ID.String() + "/skills-check", token: instructorTok, body: passed}, wantStatus: 409, wantType: "enrollment-not-open"},
		})
	})
}
