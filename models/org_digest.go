package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// The window of the weekly org digest, in days on the issuer's calendar: credentials that
// expire within OrgDigestAhead days or expired within the last OrgDigestBehind days.
const (
	OrgDigestAhead  = 60
	OrgDigestBehind = 30
)

// OrgDigestRecipient is an org admin owed a digest of one org for one week.
type OrgDigestRecipient struct {
	OrgID   uuid.UUID
	OrgName string
	UserID  uuid.UUID
	Email   string
	Name    string
}

// OrgDigestEntry is one line of a digest: a member's credential of a course that expires
// soon or expired recently.
type OrgDigestEntry struct {
	OrgID        uuid.UUID
	CourseCode   string
	CourseTitle  string
	MemberName   string
	Email        string
	Code         string
	ValidThrough time.Time
}

// ClaimOrgDigests records the digest of the week starting weekOf (a Monday on the issuer's
// calendar) for every admin of every org, and returns the admins recorded by this call. An
// admin already recorded for that week (by an earlier run, or a concurrent one that commits
// first) is skipped, so each admin is returned at most once per org and week. Call it in the
// transaction that queues the emails, so a rollback releases the claims.
func ClaimOrgDigests(ctx context.Context, db *gorm.DB, weekOf, now time.Time) ([]OrgDigestRecipient, error) {
	var out []OrgDigestRecipient
	err := db.WithContext(ctx).Raw(`
		WITH claimed AS (
			INSERT INTO org_digests (org_id, user_id, week_of, created_at)
			SELECT org_id, user_id, ?::date, ? FROM org_members WHERE 'admin' = ANY (roles)
			ON CONFLICT DO NOTHING
			RETURNING org_id, user_id)
		SELECT c.org_id, o.name AS org_name, c.user_id, u.email, u.name
		FROM claimed c JOIN orgs o ON o.id = c.org_id JOIN users u ON u.id = c.user_id
		ORDER BY o.name, o.id, u.email`, weekOf.Format(time.DateOnly), now).Scan(&out).Error
	return out, translate(err)
}

// SetOrgDigestOutbox records the email that carried a claimed digest.
func SetOrgDigestOutbox(ctx context.Context, db *gorm.DB, orgID, userID uuid.UUID, weekOf time.Time, outboxID uuid.UUID) error {
	return translate(db.WithContext(ctx).Exec(`UPDATE org_digests SET outbox_id = ? WHERE org_id = ? AND user_id = ? AND week_of = ?::date`,
		outboxID, orgID, userID, weekOf.Format(time.DateOnly)).Error)
}

// ListOrgDigestEntries returns, for the orgs given, their members' credentials that are
// due in a digest on the issuer's day today: of each member's active credentials of a course
// the one valid longest (so a renewed credential hides the one it renews), when it is valid
// through a day from OrgDigestBehind days before today to OrgDigestAhead days after. Entries
// come grouped by org, then course title, soonest expiry first. One query over the
// credentials index by holder and course.
func ListOrgDigestEntries(ctx context.Context, db *gorm.DB, orgIDs []uuid.UUID, today time.Time) ([]OrgDigestEntry, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	var out []OrgDigestEntry
	day := today.Format(time.DateOnly)
	err := db.WithContext(ctx).Raw(`
		WITH members AS (
			SELECT org_id, user_id FROM org_members WHERE org_id IN ?
		), best AS (
			SELECT DISTINCT ON (c.user_id, c.course_code) c.user_id, c.course_code, c.code, c.valid_through
			FROM credentials c
			WHERE c.status = 'active' AND c.user_id IN (SELECT user_id FROM members)
			ORDER BY c.user_id, c.course_code, c.valid_through DESC, c.created_at DESC
		)
		SELECT m.org_id, b.course_code, co.title AS course_title, u.name AS member_name, u.email,
			b.code, b.valid_through
		FROM best b
		JOIN members m ON m.user_id = b.user_id
		JOIN users u ON u.id = b.user_id
		JOIN courses co ON co.code = b.course_code
		WHERE b.valid_through BETWEEN ?::date - ?::int AND ?::date + ?::int
		ORDER BY m.org_id, co.title, b.valid_through, u.name, u.email`,
		orgIDs, day, OrgDigestBehind, day, OrgDigestAhead).Scan(&out).Error
	return out, translate(err)
}
