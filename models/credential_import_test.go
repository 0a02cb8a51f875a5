package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// importRows imports rows at at, on loc's calendar, in a transaction of its own.
func importRows(t *testing.T, db *gorm.DB, loc *time.Location, at time.Time, rows ...models.ImportRow) []models.ImportResult {
	t.Helper()
	var out []models.ImportResult
	err := db.Transaction(func(tx *gorm.DB) error {
		var err error
		out, err = models.ImportCredentials(context.Background(), tx, models.ImportInput{Rows: rows, Location: loc,
			Rules: jobs.CredentialRules(), At: at})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(rows) {
		t.Fatalf("%d results for %d rows", len(out), len(rows))
	}
	return out
}

func countRows(t *testing.T, db *gorm.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportCredentials(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	ctx := context.Background()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	course := courseFixture(t, db, 90, 30)
	existing := holderFixture(t, db)
	holder, _ := models.FindUser(ctx, db, existing)
	at := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)
	rows := []models.ImportRow{
		{Line: 2, LegacyID: "L-1", Name: "Núñez, José", Email: "jose@example.org", CourseCode: course.Code,
			IssuedOn: date(t, "2025-01-15"), ValidThrough: date(t, "2027-01-31")},
		{Line: 3, LegacyID: "L-2", Name: "Old Name", Email: holder.Email, CourseCode: course.Code,
			IssuedOn: date(t, "2024-06-01"), ValidThrough: date(t, "2026-06-30")},
		{Line: 4, LegacyID: "L-3", Name: "Unknown Course", Email: "unknown@example.org", CourseCode: "NOPE",
			IssuedOn: date(t, "2025-01-15"), ValidThrough: date(t, "2027-01-31")},
		// The program grants at most through 2027-01-31 for an issue in January 2025.
		{Line: 5, LegacyID: "L-4", Name: "Too Long", Email: "long@example.org", CourseCode: course.Code,
			IssuedOn: date(t, "2025-01-15"), ValidThrough: date(t, "2027-02-01")},
	}
	res := importRows(t, db, chicago, at, rows...)

	for i, want := range []string{models.ImportCreated, models.ImportCreated, models.ImportFailed, models.ImportFailed} {
		if res[i].Status != want || res[i].Line != rows[i].Line || res[i].LegacyID != rows[i].LegacyID {
			t.Errorf("row %d = %+v, want %s", rows[i].Line, res[i], want)
		}
	}
	if len(res[2].Errors) != 1 || res[2].Errors[0].Field != "course" {
		t.Errorf("unknown course errors = %+v, want one on course", res[2].Errors)
	}
	if len(res[3].Errors) != 1 || res[3].Errors[0].Field != "valid_through" {
		t.Errorf("long validity errors = %+v, want one on valid_through", res[3].Errors)
	}
	if n := countRows(t, db, `SELECT count(*) FROM users WHERE email IN ('unknown@example.org', 'long@example.org')`); n != 0 {
		t.Errorf("%d accounts created for rows that failed, want 0", n)
	}

	c, err := models.FindCredential(ctx, db, res[0].Credential.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != models.CredentialImported || c.LegacyID == nil || *c.LegacyID != "L-1" || c.EnrollmentID != uuid.Nil ||
		c.HolderName != "Núñez, José" || c.CourseCode != course.Code || c.Edition != course.Edition ||
		c.GuidelineEdition != course.GuidelineEdition || c.Assessment.Exam != models.LegacyExam || c.Assessment.SkillsCheck != nil ||
		c.CECredits != nil || c.Status != models.CredentialActive || c.Code == "" || c.Renews != nil {
		t.Errorf("imported credential = %+v", c)
	}
	// Dates on the issuer's calendar (Chicago, UTC−6 in winter).
	if day(c.IssuedOn) != "2025-01-15" || day(c.AwardedOn) != "2025-01-15" || day(c.ValidThrough) != "2027-01-31" ||
		!c.ValidFrom.Equal(time.Date(2025, 1, 15, 6, 0, 0, 0, time.UTC)) ||
		!c.ValidUntil.Equal(time.Date(2027, 2, 1, 5, 59, 59, 0, time.UTC)) {
		t.Errorf("dates: issued %s awarded %s from %s through %s until %s", day(c.IssuedOn), day(c.AwardedOn),
			c.ValidFrom, day(c.ValidThrough), c.ValidUntil)
	}
	h, err := models.CredentialHistory(ctx, db, c.ID)
	if err != nil || len(h) != 1 || h[0].Action != models.ActionImported || h[0].Status != models.CredentialActive || !h[0].At.Equal(c.ValidFrom) {
		t.Errorf("history = %+v, %v; want one imported event at valid_from", h, err)
	}

	jose, err := models.FindUserByEmail(ctx, db, "jose@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if jose.ID != c.UserID || jose.HasPassword() || jose.PasswordHash != models.NoPassword || jose.EmailVerified() ||
		jose.Name != "Núñez, José" || jose.NameLockedAt == nil || !jose.CreatedAt.Equal(at) {
		t.Errorf("new holder = %+v", jose)
	}
	old, err := models.FindCredential(ctx, db, res[1].Credential.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.UserID != existing || old.HolderName != "Old Name" || old.StatusAt(at) != models.CredentialExpired {
		t.Errorf("existing holder's credential = user %s name %q status %s; want %s, Old Name, expired", old.UserID, old.HolderName, old.StatusAt(at), existing)
	}
	if u, _ := models.FindUser(ctx, db, existing); u.NameLockedAt == nil || u.Name != "Holder" || u.PasswordHash != holder.PasswordHash {
		t.Errorf("existing holder = %+v, want the name locked and nothing else changed", u)
	}

	// Places reserved for the import and not used are given back: a list's count of placed
	// credentials stays the number of credentials in it.
	placed := func() int64 {
		return countRows(t, db, `SELECT sum(allocated) FROM status_lists WHERE purpose = 'revocation'`) +
			countRows(t, db, `SELECT sum(allocated) FROM status_lists WHERE purpose = 'suspension'`)
	}
	if got, want := placed(), 2*countRows(t, db, `SELECT count(*) FROM credentials`); got != want {
		t.Errorf("%d places allocated in the lists, want %d (two per credential)", got, want)
	}

	t.Run("AgainChangesNothing", func(t *testing.T) {
		allocated := placed()
		credentials := countRows(t, db, `SELECT count(*) FROM credentials`)
		users := countRows(t, db, `SELECT count(*) FROM users`)
		again := importRows(t, db, chicago, at.Add(time.Hour), rows...)
		for i, want := range []string{models.ImportExists, models.ImportExists, models.ImportFailed, models.ImportFailed} {
			if again[i].Status != want {
				t.Errorf("row %d again = %s, want %s", rows[i].Line, again[i].Status, want)
			}
		}
		if again[0].Credential.ID != res[0].Credential.ID || again[0].Credential.Code != res[0].Credential.Code ||
			again[1].Credential.ID != res[1].Credential.ID {
			t.Errorf("again returned %s, %s; want the first import's %s, %s", again[0].Credential.ID, again[1].Credential.ID,
				res[0].Credential.ID, res[1].Credential.ID)
		}
		if n := countRows(t, db, `SELECT count(*) FROM credentials`); n != credentials {
			t.Errorf("%d credentials after importing again, want %d", n, credentials)
		}
		if n := countRows(t, db, `SELECT count(*) FROM users`); n != users {
			t.Errorf("%d users after importing again, want %d", n, users)
		}
		if n := placed(); n != allocated {
			t.Errorf("%d places allocated after importing again, want %d", n, allocated)
		}
	})
}

// TestImportedCredentialRenews passes a renewal while an imported credential is valid: the
// new credential runs on from the imported one's valid_through, as after any credential.
func TestImportedCredentialRenews(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	ctx := context.Background()
	course := courseFixture(t, db, 90, 30)
	user := holderFixture(t, db)
	u, _ := models.FindUser(ctx, db, user)
	res := importRows(t, db, time.UTC, time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC), models.ImportRow{
		Line: 2, LegacyID: "R-1", Name: "Holder", Email: u.Email, CourseCode: course.Code,
		IssuedOn: date(t, "2025-01-15"), ValidThrough: date(t, "2027-01-31")})
	imported := res[0].Credential
	if res[0].Status != models.ImportCreated {
		t.Fatalf("import = %+v", res[0])
	}

	renewal := enrollFixture(t, db, user, course.Code, true)
	c := mustIssue(t, db, renewal, time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC), time.UTC)
	if day(c.ValidThrough) != "2029-01-31" || c.Renews == nil || *c.Renews != imported.ID {
		t.Errorf("renewal through %s renews %v; want 2029-01-31 renewing %s", day(c.ValidThrough), c.Renews, imported.ID)
	}
	if by, err := models.FindCredentialRenewal(ctx, db, imported.ID); err != nil || by == nil || *by != c.ID {
		t.Errorf("imported credential renewed by %v, %v; want %s", by, err, c.ID)
	}
}

// TestImportRowRollsBackAlone imports a legacy ID in two transactions at once, for two
// addresses: the second finds the first's credential once it commits, and the account it
// had created for its row is rolled back with the row.
func TestImportRowRollsBackAlone(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	ctx := context.Background()
	course := courseFixture(t, db, 90, 30)
	at := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)
	row := func(email string) models.ImportRow {
		return models.ImportRow{Line: 2, LegacyID: "RACE-1", Name: "Racer", Email: email, CourseCode: course.Code,
			IssuedOn: date(t, "2025-01-15"), ValidThrough: date(t, "2027-01-31")}
	}
	first := db.Begin()
	defer first.Rollback()
	won, err := models.ImportCredentials(ctx, first, models.ImportInput{Rows: []models.ImportRow{row("first@example.org")},
		Location: time.UTC, Rules: jobs.CredentialRules(), At: at})
	if err != nil || won[0].Status != models.ImportCreated {
		t.Fatalf("first import = %+v, %v", won, err)
	}

	done := make(chan []models.ImportResult, 1)
	go func() {
		var out []models.ImportResult
		err := db.Transaction(func(tx *gorm.DB) error {
			var err error
			out, err = models.ImportCredentials(ctx, tx, models.ImportInput{Rows: []models.ImportRow{row("second@example.org")},
				Location: time.UTC, Rules: jobs.CredentialRules(), At: at})
			return err
		})
		if err != nil {
			t.Error(err)
		}
		done <- out
	}()
	// The second import has looked the legacy ID up and created its holder when it waits for
	// the first's lock on the status lists.
	deadline := time.Now().Add(30 * time.Second)
	for countRows(t, db, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the second import never waited for the first")
		}
	}
	if err := first.Commit().Error; err != nil {
		t.Fatal(err)
	}
	lost := <-done
	if len(lost) != 1 || lost[0].Status != models.ImportExists || lost[0].Credential.ID != won[0].Credential.ID {
		t.Fatalf("second import = %+v, want exists with %s", lost, won[0].Credential.ID)
	}
	if n := countRows(t, db, `SELECT count(*) FROM users WHERE email = 'second@example.org'`); n != 0 {
		t.Errorf("the second import left %d accounts for its rolled-back row, want 0", n)
	}
	if n := countRows(t, db, `SELECT count(*) FROM credentials WHERE legacy_id = 'RACE-1'`); n != 1 {
		t.Errorf("%d credentials with the legacy ID, want 1", n)
	}
}

// TestImportCrossesIntoANewList imports more rows than the open lists have places left: the
// import fills them and goes on in new lists, and the next issuance continues where it ended.
func TestImportCrossesIntoANewList(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	course := courseFixture(t, db, 90, 30)
	if err := db.Exec(`UPDATE status_lists SET allocated = size - 5`).Error; err != nil {
		t.Fatal(err)
	}
	var rows []models.ImportRow
	for i := range 12 {
		rows = append(rows, models.ImportRow{Line: i + 2, LegacyID: fmt.Sprintf("X-%d", i), Name: "Holder",
			Email: fmt.Sprintf("x%d@example.org", i), CourseCode: course.Code,
			IssuedOn: date(t, "2025-01-15"), ValidThrough: date(t, "2027-01-31")})
	}
	for _, r := range importRows(t, db, time.UTC, time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC), rows...) {
		if r.Status != models.ImportCreated {
			t.Fatalf("row %d = %+v", r.Line, r)
		}
	}
	for _, purpose := range []string{"revocation", "suspension"} {
		col := map[string]string{"revocation": "revocation_list", "suspension": "suspension_list"}[purpose]
		var lists []struct {
			ID, Size, Allocated int
			N                   int64
		}
		if err := db.Raw(`SELECT l.id, l.size, l.allocated, (SELECT count(*) FROM credentials c WHERE c.`+col+` = l.id) AS n
			FROM status_lists l WHERE purpose = ? ORDER BY id`, purpose).Scan(&lists).Error; err != nil {
			t.Fatal(err)
		}
		if len(lists) != 2 || lists[0].Allocated != lists[0].Size || lists[0].N != 5 || lists[1].Allocated != 7 || lists[1].N != 7 {
			t.Errorf("%s lists = %+v; want the first full with 5 imported, a second with 7 placed and 7 credentials", purpose, lists)
		}
	}
	_, enr := issueFixture(t, db, course.Code, true)
	c := mustIssue(t, db, enr, time.Date(2026, 11, 21, 16, 0, 0, 0, time.UTC), time.UTC)
	newest := countRows(t, db, `SELECT max(id) FROM status_lists WHERE purpose = 'revocation'`)
	if int64(c.RevocationList) != newest {
		t.Errorf("next issuance placed in revocation list %d, want the newest, %d", c.RevocationList, newest)
	}
	if n := countRows(t, db, `SELECT allocated FROM status_lists WHERE id = ?`, newest); n != 8 {
		t.Errorf("the new revocation list has %d places allocated after the issuance, want 8", n)
	}
}
