package models_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

// issuedCredential issues a credential of a fresh holder in a fresh course at at.
func issuedCredential(t *testing.T, db *gorm.DB, at time.Time) *models.Credential {
	t.Helper()
	course := courseFixture(t, db, 90, 30)
	_, enr := issueFixture(t, db, course.Code, true)
	return mustIssue(t, db, enr, at, time.UTC)
}

func changeStatus(db *gorm.DB, id uuid.UUID, ch models.StatusChange) (*models.Credential, error) {
	var after *models.Credential
	err := db.Transaction(func(tx *gorm.DB) error {
		var err error
		_, after, err = models.ChangeCredentialStatus(context.Background(), tx, id, ch)
		return err
	})
	return after, err
}

func listEntries(t *testing.T, db *gorm.DB, id int) (*models.StatusList, []int) {
	t.Helper()
	l, set, err := models.StatusListEntries(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	return l, set
}

func TestStatusChangesShowInListsAndHistory(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	issued := time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)
	c := issuedCredential(t, db, issued)
	admin := uuid.New()
	suspendAt := issued.AddDate(0, 2, 0)
	reinstateAt := suspendAt.AddDate(0, 0, 10)
	revokeAt := reinstateAt.AddDate(0, 1, 0)

	revList, _ := listEntries(t, db, c.RevocationList)
	susList, _ := listEntries(t, db, c.SuspensionList)
	if revList.Purpose != models.PurposeRevocation || susList.Purpose != models.PurposeSuspension {
		t.Fatalf("lists %+v %+v: wrong purposes", revList, susList)
	}

	after, err := changeStatus(db, c.ID, models.StatusChange{Action: models.ActionSuspended, Category: "license_action",
		Reason: "board action pending", ActorID: admin, At: suspendAt})
	if err != nil || after.Status != models.CredentialSuspended {
		t.Fatalf("suspend: %+v, %v", after, err)
	}
	l, set := listEntries(t, db, c.SuspensionList)
	if !slices.Contains(set, c.SuspensionIndex) || l.Version != susList.Version+1 || !l.ChangedAt.Equal(suspendAt) {
		t.Errorf("suspension list after suspend: %+v %v; want index %d set and a new version", l, set, c.SuspensionIndex)
	}
	if _, set := listEntries(t, db, c.RevocationList); slices.Contains(set, c.RevocationIndex) {
		t.Error("a suspension set the revocation bit")
	}
	if _, err := changeStatus(db, c.ID, models.StatusChange{Action: models.ActionSuspended, Category: "other", Reason: "again", ActorID: admin, At: suspendAt}); !errors.Is(err, models.ErrAlreadySuspended) {
		t.Errorf("second suspend: %v, want ErrAlreadySuspended", err)
	}
	if _, err := changeStatus(db, c.ID, models.StatusChange{Action: models.ActionReinstated, Reason: "board cleared", ActorID: admin, At: reinstateAt}); err != nil {
		t.Fatal(err)
	}
	if _, set := listEntries(t, db, c.SuspensionList); slices.Contains(set, c.SuspensionIndex) {
		t.Error("reinstatement left the suspension bit set")
	}
	if _, err := changeStatus(db, c.ID, models.StatusChange{Action: models.ActionReinstated, ActorID: admin, At: reinstateAt}); !errors.Is(err, models.ErrNotSuspended) {
		t.Errorf("reinstating an active credential: %v, want ErrNotSuspended", err)
	}
	if _, err := changeStatus(db, c.ID, models.StatusChange{Action: models.ActionRevoked, Category: "exam_integrity", Reason: "proxy test taker", ActorID: admin, At: revokeAt}); err != nil {
		t.Fatal(err)
	}
	if _, set := listEntries(t, db, c.RevocationList); !slices.Contains(set, c.RevocationIndex) {
		t.Error("revocation bit not set")
	}
	for _, ch := range []models.StatusChange{
		{Action: models.ActionReinstated, Reason: "undo", ActorID: admin, At: revokeAt},
		{Action: models.ActionSuspended, Category: "other", Reason: "x", ActorID: admin, At: revokeAt},
		{Action: models.ActionRevoked, Category: "other", Reason: "x", ActorID: admin, At: revokeAt},
	} {
		if _, err := changeStatus(db, c.ID, ch); !errors.Is(err, models.ErrCredentialRevoked) {
			t.Errorf("%s after revocation: %v, want ErrCredentialRevoked", ch.Action, err)
		}
	}

	h, err := models.CredentialHistory(context.Background(), db, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range h {
		actions = append(actions, ev.Action)
	}
	if want := []string{"issued", "suspended", "reinstated", "revoked"}; !slices.Equal(actions, want) {
		t.Fatalf("history %v, want %v", actions, want)
	}
	if *h[3].Category != "exam_integrity" || *h[3].Reason != "proxy test taker" || *h[3].ActorID != admin {
		t.Errorf("revocation event = %+v", h[3])
	}
	c, _ = models.FindCredential(context.Background(), db, c.ID)
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{issued, models.CredentialActive},
		{suspendAt.Add(-time.Second), models.CredentialActive},
		{suspendAt, models.CredentialSuspended},
		{reinstateAt.Add(time.Hour), models.CredentialActive},
		{revokeAt, models.CredentialRevoked},
		{c.ValidUntil.Add(time.Hour), models.CredentialRevoked},
	} {
		if got, err := models.StatusOn(c, h, tc.at); err != nil || got != tc.want {
			t.Errorf("status on %s = %q, %v; want %q", tc.at, got, err, tc.want)
		}
	}
	if _, err := models.StatusOn(c, h, issued.Add(-time.Second)); !errors.Is(err, models.ErrNotYetIssued) {
		t.Errorf("status before issue: %v, want ErrNotYetIssued", err)
	}
}

func TestStatusOnReadsExpiry(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	c := issuedCredential(t, db, time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC))
	h, _ := models.CredentialHistory(context.Background(), db, c.ID)
	if got, _ := models.StatusOn(c, h, c.ValidUntil); got != models.CredentialActive {
		t.Errorf("at valid_until: %q, want active", got)
	}
	if got, _ := models.StatusOn(c, h, c.ValidUntil.Add(time.Second)); got != models.CredentialExpired {
		t.Errorf("after valid_until: %q, want expired", got)
	}
}

func TestStatusChangeValidation(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	c := issuedCredential(t, db, time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC))
	var ve *models.ValidationError
	if _, err := changeStatus(db, c.ID, models.StatusChange{Action: models.ActionRevoked, Category: "because", ActorID: uuid.New(), At: time.Now()}); !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Errorf("bad category and no reason: %v", err)
	}
	if _, err := changeStatus(db, uuid.New(), models.StatusChange{Action: models.ActionRevoked, Category: "other", Reason: "x", ActorID: uuid.New(), At: time.Now()}); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown credential: %v", err)
	}
}

func TestFullStatusListOpensANewOne(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	first := issuedCredential(t, db, time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC))
	// Leave one free place in each open list.
	if err := db.Exec(`UPDATE status_lists SET allocated = size - 1`).Error; err != nil {
		t.Fatal(err)
	}
	last := issuedCredential(t, db, time.Date(2026, 3, 15, 15, 0, 0, 0, time.UTC))
	next := issuedCredential(t, db, time.Date(2026, 3, 16, 15, 0, 0, 0, time.UTC))
	if last.RevocationList != first.RevocationList || last.SuspensionList != first.SuspensionList {
		t.Errorf("the last free places were not used: %d/%d, first %d/%d", last.RevocationList, last.SuspensionList, first.RevocationList, first.SuspensionList)
	}
	if next.RevocationList == first.RevocationList || next.SuspensionList == first.SuspensionList {
		t.Fatalf("a full list was given another credential: %d/%d", next.RevocationList, next.SuspensionList)
	}
	for id, purpose := range map[int]string{next.RevocationList: models.PurposeRevocation, next.SuspensionList: models.PurposeSuspension} {
		l, err := models.FindStatusList(context.Background(), db, id)
		if err != nil || l.Purpose != purpose || l.Allocated != 1 || l.Size < 131072 {
			t.Errorf("new list %d = %+v, %v; want a %s list with one place taken", id, l, err, purpose)
		}
	}
}

func TestPublicURLIsRecordedAtTheFirstIssuance(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	ctx := context.Background()
	if err := models.CheckPublicURL(ctx, db, "https://a.example"); err != nil {
		t.Fatalf("before any issuance: %v", err)
	}
	if err := models.RecordPublicURL(ctx, db, "https://certs.example", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := models.RecordPublicURL(ctx, db, "https://other.example", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := models.CheckPublicURL(ctx, db, "https://certs.example"); err != nil {
		t.Errorf("same URL: %v", err)
	}
	if err := models.CheckPublicURL(ctx, db, "https://other.example"); !errors.Is(err, models.ErrPublicURLChanged) {
		t.Errorf("another URL: %v, want ErrPublicURLChanged", err)
	}
}
