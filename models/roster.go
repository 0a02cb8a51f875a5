package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Credential states as an org sees them: the stored status, with an active credential split
// into expiring (valid through a day within ExpiringWithinDays of today) and expired.
const (
	CredentialExpiring = "expiring"
	CredentialNone     = "none" // the person holds no credential of the course
)

// ExpiringWithinDays is how close to its last valid day an active credential counts as
// expiring on rosters and compliance reports.
const ExpiringWithinDays = 60

// CredentialStates lists every state a roster or compliance row may show for a course.
var CredentialStates = []string{CredentialActive, CredentialExpiring, CredentialExpired, CredentialRevoked, CredentialSuspended, CredentialNone}

// Roster member states: how far an invitee got in the cohort's course.
const (
	RosterInvited         = "invited"          // not accepted yet
	RosterPendingApproval = "pending_approval" // accepted, waiting for an org admin
	RosterAccepted        = "accepted"         // accepted, no enrollment yet (paying themselves)
	RosterEnrolled        = "enrolled"         // enrolled, no exam started
	RosterInExam          = "in_exam"          // an attempt is in progress
	RosterPassed          = "passed"           // exam passed, credential not issued yet (skills check pending)
	RosterCertified       = "certified"        // the enrollment's credential is issued
	RosterFailed          = "failed"           // the enrollment failed (out of attempts)
	RosterLapsed          = "lapsed"           // the enrollment was cancelled or ran out of time
)

// CredentialAsOf fixes the moment and calendar day credential states are computed for:
// Now decides expired, Today (the issuer's calendar day) decides expiring.
type CredentialAsOf struct {
	Now   time.Time
	Today time.Time // only the date counts
}

func (a CredentialAsOf) args(extraDays int) map[string]any {
	return map[string]any{
		"now":         a.Now,
		"expiring_by": a.Today.AddDate(0, 0, ExpiringWithinDays).Format(time.DateOnly),
		"within_by":   a.Today.AddDate(0, 0, extraDays).Format(time.DateOnly),
	}
}

// bestCredentialSQL selects, for the person in column userCol, the one credential of course
// (a SQL expression) an org cares about: this issuer's, not superseded, an active unexpired one
// first, then the one valid the longest. Its state column follows the rules of
// CredentialAsOf.
func bestCredentialSQL(userCol, course string) string {
	return fmt.Sprintf(`SELECT c.code, c.valid_from, c.valid_through,
		CASE WHEN c.status = 'active' AND c.valid_until <= @now THEN 'expired'
		     WHEN c.status = 'active' AND c.valid_through <= CAST(@expiring_by AS date) THEN 'expiring'
		     ELSE c.status END AS state
	FROM credentials c
	WHERE c.user_id = %s AND c.course_code = %s AND c.status <> 'superseded'
	ORDER BY (c.status = 'active' AND c.valid_until > @now) DESC, (c.status = 'active') DESC,
		c.valid_through DESC, c.created_at DESC, c.id DESC
	LIMIT 1`, userCol, course)
}

// CredentialSummary is a person's best credential of a course: no scores, nothing of the exam.
type CredentialSummary struct {
	State        string // one of CredentialStates
	Code         string
	ValidFrom    *time.Time
	ValidThrough *time.Time
}

// RosterRow is one invitation of a cohort with its member's progress and credential.
type RosterRow struct {
	InvitationID     uuid.UUID
	Email            string
	Name             string
	InvitationStatus string
	MemberState      string
	UserID           *uuid.UUID
	CreatedAt        time.Time
	Credential       CredentialSummary
}

type rosterScan struct {
	InvitationID     uuid.UUID
	Email            string
	Name             string
	InvitationStatus string
	MemberState      string
	UserID           *uuid.UUID
	CreatedAt        time.Time
	CredState        *string
	CredCode         *string
	CredValidFrom    *time.Time
	CredValidThrough *time.Time
}

func (r rosterScan) row() RosterRow {
	out := RosterRow{InvitationID: r.InvitationID, Email: r.Email, Name: r.Name, InvitationStatus: r.InvitationStatus,
		MemberState: r.MemberState, UserID: r.UserID, CreatedAt: r.CreatedAt, Credential: CredentialSummary{State: CredentialNone}}
	if r.CredCode != nil && r.CredState != nil {
		out.Credential = CredentialSummary{State: *r.CredState, Code: *r.CredCode, ValidFrom: r.CredValidFrom, ValidThrough: r.CredValidThrough}
	}
	return out
}

// RosterCohort is what a roster needs of its cohort.
type RosterCohort struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	Name       string
	CourseCode string
}

// FindRosterCohort finds a cohort within an org; a cohort of another org is not found.
func FindRosterCohort(ctx context.Context, db *gorm.DB, orgID, cohortID uuid.UUID) (*RosterCohort, error) {
	var c RosterCohort
	err := db.WithContext(ctx).Raw(`SELECT id, org_id, name, course_code FROM cohorts WHERE id = ? AND org_id = ?`,
		cohortID, orgID).Scan(&c).Error
	if err != nil {
		return nil, err
	}
	if c.ID == uuid.Nil {
		return nil, NewError("not-found", ErrNotFound, "no such cohort")
	}
	return &c, nil
}

// Roster returns the cohort's invitations (revoked ones left out) in the order they were
// made, each with its member's state and best credential of the cohort's course. It is one
// query whatever the size of the cohort. A page with Limit 0 means every row.
func Roster(ctx context.Context, db *gorm.DB, c *RosterCohort, asOf CredentialAsOf, p Page) ([]RosterRow, *Cursor, error) {
	args := asOf.args(0)
	args["cohort"] = c.ID
	args["course"] = c.CourseCode
	where := ""
	if p.After.ID != "" {
		where = " AND (i.created_at, i.id::text) > (@after_t, @after_id)"
		args["after_t"], args["after_id"] = p.After.Time, p.After.ID
	}
	limit := ""
	if p.Limit > 0 {
		limit = fmt.Sprintf(" LIMIT %d", p.Limit+1)
	}
	q := `SELECT i.id AS invitation_id, i.email, COALESCE(NULLIF(i.name, ''), u.name, '') AS name,
		i.status AS invitation_status, i.user_id, i.created_at,
		CASE WHEN i.status IN ('invited', 'pending_approval') THEN i.status
		     WHEN en.id IS NULL THEN 'accepted'
		     WHEN en.status = 'failed' THEN 'failed'
		     WHEN en.status IN ('cancelled', 'lapsed') THEN 'lapsed'
		     WHEN EXISTS (SELECT 1 FROM credentials ec WHERE ec.enrollment_id = en.id AND ec.reissue_of IS NULL) THEN 'certified'
		     WHEN en.status = 'completed' OR en.exam_passed_at IS NOT NULL THEN 'passed'
		     WHEN EXISTS (SELECT 1 FROM attempts a WHERE a.enrollment_id = en.id AND a.status = 'in_progress') THEN 'in_exam'
		     ELSE 'enrolled' END AS member_state,
		cr.state AS cred_state, cr.code AS cred_code, cr.valid_from AS cred_valid_from, cr.valid_through AS cred_valid_through
	FROM cohort_invitations i
	LEFT JOIN users u ON u.id = i.user_id
	LEFT JOIN enrollments en ON en.id = i.enrollment_id
	LEFT JOIN LATERAL (` + bestCredentialSQL("i.user_id", "@course") + `) cr ON true
	WHERE i.cohort_id = @cohort AND i.status <> 'revoked'` + where + `
	ORDER BY i.created_at, i.id` + limit
	var scans []rosterScan
	if err := db.WithContext(ctx).Raw(q, args).Scan(&scans).Error; err != nil {
		return nil, nil, err
	}
	rows := make([]RosterRow, len(scans))
	for i, s := range scans {
		rows[i] = s.row()
	}
	if p.Limit == 0 {
		return rows, nil, nil
	}
	rows, next := cut(p, rows, func(r RosterRow) Cursor { return Cursor{Time: r.CreatedAt, ID: r.InvitationID.String()} })
	return rows, next, nil
}

// ComplianceFilter narrows a compliance report. Course limits the state filters to one
// course; without it a row matches when either course does.
type ComplianceFilter struct {
	OrgID              uuid.UUID
	Courses            []string // the courses reported, in column order
	Course             string
	State              string
	ExpiringWithinDays int  // 0: no filter
	Page               Page // Limit 0: every row
}

// ComplianceRow is one person of an org with their best credential of each course.
type ComplianceRow struct {
	UserID      uuid.UUID
	Email       string
	Name        string
	Credentials map[string]CredentialSummary // by course code
}

// Compliance returns every member of the org and every person who accepted one of its cohort
// invitations, ordered by user ID, with their best credential of each course in f.Courses.
// It is one query whatever the number of people.
func Compliance(ctx context.Context, db *gorm.DB, f ComplianceFilter, asOf CredentialAsOf) ([]ComplianceRow, *Cursor, error) {
	args := asOf.args(f.ExpiringWithinDays)
	args["org"] = f.OrgID
	selects, joins := "", ""
	for i, course := range f.Courses {
		alias := fmt.Sprintf("c%d", i)
		args[alias+"_course"] = course
		selects += fmt.Sprintf(", %[1]s.state AS %[1]s_state, %[1]s.code AS %[1]s_code, %[1]s.valid_from AS %[1]s_valid_from, %[1]s.valid_through AS %[1]s_valid_through", alias)
		joins += fmt.Sprintf(" LEFT JOIN LATERAL (%s) %s ON true", bestCredentialSQL("p.user_id", "@"+alias+"_course"), alias)
	}
	var conds []string
	for i, course := range f.Courses {
		if f.Course != "" && f.Course != course {
			continue
		}
		alias := fmt.Sprintf("c%d", i)
		cond := "true"
		if f.State != "" {
			args["state"] = f.State
			cond += fmt.Sprintf(" AND COALESCE(%s_state, 'none') = @state", alias)
		}
		if f.ExpiringWithinDays > 0 {
			cond += fmt.Sprintf(" AND %[1]s_state IN ('active', 'expiring') AND %[1]s_valid_through <= CAST(@within_by AS date)", alias)
		}
		conds = append(conds, "("+cond+")")
	}
	where := "true"
	if len(conds) > 0 {
		where = conds[0]
		for _, c := range conds[1:] {
			where += " OR " + c
		}
		where = "(" + where + ")"
	}
	if f.Page.After.ID != "" {
		where += " AND user_id::text > @after_id"
		args["after_id"] = f.Page.After.ID
	}
	limit := ""
	if f.Page.Limit > 0 {
		limit = fmt.Sprintf(" LIMIT %d", f.Page.Limit+1)
	}
	q := `WITH people AS (
		SELECT user_id FROM org_members WHERE org_id = @org
		UNION
		SELECT user_id FROM cohort_invitations WHERE org_id = @org AND status = 'accepted' AND user_id IS NOT NULL
	), report AS (
		SELECT p.user_id, u.email, u.name` + selects + `
		FROM people p JOIN users u ON u.id = p.user_id` + joins + `
	)
	SELECT * FROM report WHERE ` + where + ` ORDER BY user_id::text` + limit
	raw, err := db.WithContext(ctx).Raw(q, args).Rows()
	if err != nil {
		return nil, nil, err
	}
	defer raw.Close()
	var rows []ComplianceRow
	for raw.Next() {
		var r ComplianceRow
		dest := []any{&r.UserID, &r.Email, &r.Name}
		creds := make([]struct {
			state, code           *string
			validFrom, validThrgh *time.Time
		}, len(f.Courses))
		for i := range creds {
			dest = append(dest, &creds[i].state, &creds[i].code, &creds[i].validFrom, &creds[i].validThrgh)
		}
		if err := raw.Scan(dest...); err != nil {
			return nil, nil, err
		}
		r.Credentials = make(map[string]CredentialSummary, len(f.Courses))
		for i, course := range f.Courses {
			s := CredentialSummary{State: CredentialNone}
			if c := creds[i]; c.code != nil && c.state != nil {
				s = CredentialSummary{State: *c.state, Code: *c.code, ValidFrom: c.validFrom, ValidThrough: c.validThrgh}
			}
			r.Credentials[course] = s
		}
		rows = append(rows, r)
	}
	if err := raw.Err(); err != nil {
		return nil, nil, err
	}
	if f.Page.Limit == 0 {
		return rows, nil, nil
	}
	rows, next := cut(f.Page, rows, func(r ComplianceRow) Cursor { return Cursor{ID: r.UserID.String()} })
	return rows, next, nil
}

// Cohort reminder kinds: each is sent at most once per invitation.
const (
	CohortDueIn7Days = "due_in_7_days"
	CohortDueToday   = "due_today"
)

// CohortReminderDue is a due-date reminder recorded for an invitation, with what its email
// needs.
type CohortReminderDue struct {
	InvitationID uuid.UUID
	Kind         string
	Email        string
	Name         string
	UserID       *uuid.UUID
	Accepted     bool
	CohortName   string
	OrgName      string
	CourseCode   string
	CourseTitle  string
	DueDate      time.Time
}

// ClaimCohortReminders records, in one statement, the due-date reminders owed on today (the
// issuer's calendar day) and returns them: due_today to invitees of cohorts due today,
// due_in_7_days to those of cohorts due in 1 to 7 days (so a run after downtime catches up).
// Only invitees who have not completed are owed one: invited (with a link still valid),
// pending approval, or accepted without a credential of the course since they were invited.
// Archived cohorts get none. The (invitation, kind) key makes each kind once, whatever runs
// concurrently or again.
func ClaimCohortReminders(ctx context.Context, db *gorm.DB, today time.Time, now time.Time) ([]CohortReminderDue, error) {
	var out []CohortReminderDue
	err := db.WithContext(ctx).Raw(`WITH due AS (
		SELECT i.id AS invitation_id,
			CASE WHEN co.due_date = CAST(@today AS date) THEN 'due_today' ELSE 'due_in_7_days' END AS kind
		FROM cohort_invitations i JOIN cohorts co ON co.id = i.cohort_id
		WHERE co.archived_at IS NULL
		  AND co.due_date BETWEEN CAST(@today AS date) AND CAST(@today AS date) + 7
		  AND (i.status IN ('pending_approval', 'accepted') OR (i.status = 'invited' AND i.expires_at > @now))
		  AND NOT EXISTS (SELECT 1 FROM credentials c
			WHERE c.user_id = i.user_id AND c.course_code = co.course_code AND c.status <> 'revoked'
			  AND (c.enrollment_id = i.enrollment_id OR c.valid_from >= i.created_at))
	), claimed AS (
		INSERT INTO cohort_reminders (invitation_id, kind, created_at)
		SELECT invitation_id, kind, @now FROM due
		ON CONFLICT DO NOTHING
		RETURNING invitation_id, kind
	)
	SELECT cl.invitation_id, cl.kind, COALESCE(u.email, i.email) AS email,
		COALESCE(NULLIF(i.name, ''), u.name, '') AS name, i.user_id, i.status = 'accepted' AS accepted,
		co.name AS cohort_name, o.name AS org_name, co.course_code, cs.title AS course_title, co.due_date
	FROM claimed cl
	JOIN cohort_invitations i ON i.id = cl.invitation_id
	JOIN cohorts co ON co.id = i.cohort_id
	JOIN orgs o ON o.id = co.org_id
	JOIN courses cs ON cs.code = co.course_code
	LEFT JOIN users u ON u.id = i.user_id
	ORDER BY co.id, i.created_at, i.id`,
		map[string]any{"today": today.Format(time.DateOnly), "now": now}).Scan(&out).Error
	return out, err
}

// SetCohortReminderOutboxes links recorded reminders to their emails, in one statement.
func SetCohortReminderOutboxes(ctx context.Context, db *gorm.DB, reminders []CohortReminderDue, outboxIDs []uuid.UUID) error {
	if len(reminders) == 0 {
		return nil
	}
	// Array literals: GORM would spread a slice argument into a list. UUIDs and kinds hold
	// no characters an array literal must quote.
	ids := make([]string, len(reminders))
	kinds := make([]string, len(reminders))
	outs := make([]string, len(reminders))
	for i, r := range reminders {
		ids[i], kinds[i], outs[i] = r.InvitationID.String(), r.Kind, outboxIDs[i].String()
	}
	arr := func(v []string) string { return "{" + strings.Join(v, ",") + "}" }
	return db.WithContext(ctx).Exec(`UPDATE cohort_reminders r SET outbox_id = v.outbox_id
		FROM unnest(?::uuid[], ?::text[], ?::uuid[]) AS v(invitation_id, kind, outbox_id)
		WHERE r.invitation_id = v.invitation_id AND r.kind = v.kind`, arr(ids), arr(kinds), arr(outs)).Error
}
