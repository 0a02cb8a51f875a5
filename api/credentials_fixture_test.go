package api_test

import (
	"context"
	"testing"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// issueCredential gives the user (email verified) a credential of the course (seeded by
// e.seedCourses; AALS has no skills check) as a passing exam would, at the env's clock, and
// returns it as stored. It goes through jobs.IssueCredential, the path grading takes, so
// follow-up jobs are queued as in production.
func (e *env) issueCredential(t testing.TB, u *models.User, course string) *models.Credential {
	t.Helper()
	ctx := context.Background()
	enr := &models.Enrollment{UserID: u.ID, CourseCode: course, Offering: "initial", Status: models.EnrollmentActive}
	if err := models.CreateEnrollment(ctx, e.db.Gorm, enr, nil); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	err := e.db.InTx(ctx, func(tx models.Tx) error {
		if err := models.MarkExamPassed(ctx, tx.DB, enr.ID, now); err != nil {
			return err
		}
		return jobs.IssueCredential(ctx, tx, e.issuance(), enr.ID, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	var c models.Credential
	if err := e.db.Gorm.First(&c, "enrollment_id = ? AND reissue_of IS NULL", enr.ID).Error; err != nil {
		t.Fatalf("no credential issued for enrollment %s (%v); is the holder's email verified?", enr.ID, err)
	}
	return &c
}
