package models_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// nameChangeFixture stores a pending request of the user to be called newName.
func nameChangeFixture(t *testing.T, db *gorm.DB, user uuid.UUID, newName string, at time.Time) *models.NameChangeRequest {
	t.Helper()
	r := &models.NameChangeRequest{UserID: user, CurrentName: "Holder", NewName: newName, Document: []byte("%PDF-1.4"),
		DocumentType: "application/pdf", DocumentName: "certificate.pdf", CreatedAt: at}
	if err := models.CreateNameChangeRequest(context.Background(), db, r); err != nil {
		t.Fatal(err)
	}
	return r
}

func approveNameChange(db *gorm.DB, id uuid.UUID, d models.NameChangeDecision) (after *models.NameChangeRequest, reissues []models.Reissue, err error) {
	err = db.Transaction(func(tx *gorm.DB) error {
		_, after, reissues, err = models.ApproveNameChange(context.Background(), tx, id, d, jobs.CredentialRules())
		return err
	})
	return after, reissues, err
}

func mustFindCredential(t *testing.T, db *gorm.DB, id uuid.UUID) *models.Credential {
	t.Helper()
	c, err := models.FindCredential(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sameIssue reports whether a reissue carries everything of the original that a name change
// keeps (course, edition, CE credits, assessment, every date, the enrollment).
func sameIssue(old, reissued *models.Credential) bool {
	a, b := *old, *reissued
	for _, c := range []*models.Credential{&a, &b} {
		c.ID, c.Code, c.HolderName, c.EmailSalt, c.Status, c.SupersededBy, c.Source, c.ReissueOf = uuid.Nil, "", "", "", "", nil, "", nil
		c.RevocationList, c.RevocationIndex, c.SuspensionList, c.SuspensionIndex = 0, 0, 0, 0
		c.Renews, c.CreatedAt, c.NotifiedAt = nil, time.Time{}, nil
	}
	return reflect.DeepEqual(a, b)
}

// TestApproveNameChangeReissues approves a name change of a holder with a credential, its
// suspended renewal and a revoked credential of another course, and checks each credential,
// its links and its history.
func TestApproveNameChangeReissues(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	ctx := context.Background()
	course := courseFixture(t, db, 90, 30)
	user, enr := issueFixture(t, db, course.Code, true)
	first := mustIssue(t, db, enr, time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC), time.UTC)
	renewal := mustIssue(t, db, enrollFixture(t, db, user, course.Code, true), time.Date(2028, 2, 10, 12, 0, 0, 0, time.UTC), time.UTC)
	admin := uuid.New()
	suspendedAt := time.Date(2028, 3, 1, 9, 0, 0, 0, time.UTC)
	if _, err := changeStatus(db, renewal.ID, models.StatusChange{Action: models.ActionSuspended, Category: "license_action",
		Reason: "board review", ActorID: admin, At: suspendedAt}); err != nil {
		t.Fatal(err)
	}
	other := courseFixture(t, db, 90, 30)
	revoked := mustIssue(t, db, enrollFixture(t, db, user, other.Code, true), time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), time.UTC)
	if _, err := changeStatus(db, revoked.ID, models.StatusChange{Action: models.ActionRevoked, Category: "issued_in_error",
		Reason: "wrong course", ActorID: admin, At: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	susBefore, _ := listEntries(t, db, renewal.SuspensionList)
	renewal = mustFindCredential(t, db, renewal.ID) // as suspended

	req := nameChangeFixture(t, db, user, "Holder Married", time.Date(2028, 6, 1, 0, 0, 0, 0, time.UTC))
	approvedAt := time.Date(2028, 6, 2, 14, 0, 0, 0, time.UTC)
	after, reissues, err := approveNameChange(db, req.ID, models.NameChangeDecision{By: admin, At: approvedAt})
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != models.NameChangeApproved || after.DecidedBy == nil || *after.DecidedBy != admin || !after.DecidedAt.Equal(approvedAt) {
		t.Errorf("request after approval = %+v", after)
	}
	if len(reissues) != 2 {
		t.Fatalf("%d reissues, want 2 (the revoked credential stays as it is)", len(reissues))
	}
	newOf := map[uuid.UUID]*models.Credential{}
	for _, r := range reissues {
		newOf[r.Old.ID] = mustFindCredential(t, db, r.New.ID)
	}
	for _, old := range []*models.Credential{first, renewal} {
		n := newOf[old.ID]
		if n == nil {
			t.Fatalf("credential %s was not reissued", old.ID)
		}
		now := mustFindCredential(t, db, old.ID)
		if now.Status != models.CredentialSuperseded || now.SupersededBy == nil || *now.SupersededBy != n.ID {
			t.Errorf("old credential %s: status %s superseded by %v, want superseded by %s", old.ID, now.Status, now.SupersededBy, n.ID)
		}
		if !sameIssue(old, n) || n.HolderName != "Holder Married" || n.Source != models.CredentialReissued ||
			n.ReissueOf == nil || *n.ReissueOf != old.ID || n.Code == old.Code || n.EmailSalt == old.EmailSalt || n.Status != old.Status {
			t.Errorf("reissue = %+v\nof %+v", n, old)
		}
	}
	newFirst, newRenewal := newOf[first.ID], newOf[renewal.ID]
	if newRenewal.Status != models.CredentialSuspended {
		t.Errorf("reissue of a suspended credential is %s, want suspended", newRenewal.Status)
	}
	if newRenewal.Renews == nil || *newRenewal.Renews != newFirst.ID {
		t.Errorf("reissued renewal renews %v, want the reissue %s", newRenewal.Renews, newFirst.ID)
	}
	if by, err := models.FindCredentialRenewal(ctx, db, newFirst.ID); err != nil || by == nil || *by != newRenewal.ID {
		t.Errorf("reissue renewed by %v, %v; want %s", by, err, newRenewal.ID)
	}
	if by, err := models.FindCredentialRenewal(ctx, db, first.ID); err != nil || by == nil || *by != renewal.ID {
		t.Errorf("superseded credential renewed by %v, %v; want the superseded renewal %s", by, err, renewal.ID)
	}
	if r := mustFindCredential(t, db, revoked.ID); r.Status != models.CredentialRevoked || r.SupersededBy != nil {
		t.Errorf("revoked credential = %s superseded by %v, want untouched", r.Status, r.SupersededBy)
	}
	if u, _ := models.FindUser(ctx, db, user); u.Name != "Holder Married" {
		t.Errorf("user name = %q, want the new name", u.Name)
	}
	if susAfter, _ := listEntries(t, db, renewal.SuspensionList); susAfter.Version <= susBefore.Version {
		t.Errorf("suspension list version %d → %d: the suspension moved to another place without a new version", susBefore.Version, susAfter.Version)
	}

	// The reissue answers for past dates as the credential it replaces did.
	history, err := models.CredentialHistory(ctx, db, newRenewal.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range history {
		actions = append(actions, ev.Action)
	}
	if want := []string{models.ActionIssued, models.ActionSuspended, models.ActionReissued}; !reflect.DeepEqual(actions, want) {
		t.Errorf("reissue history %v, want %v", actions, want)
	}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2028, 2, 20, 0, 0, 0, 0, time.UTC), models.CredentialActive},
		{time.Date(2028, 4, 1, 0, 0, 0, 0, time.UTC), models.CredentialSuspended},
		{time.Date(2028, 7, 1, 0, 0, 0, 0, time.UTC), models.CredentialSuspended},
	} {
		if got, err := models.StatusOn(newRenewal, history, tc.at); err != nil || got != tc.want {
			t.Errorf("reissue status on %s = %q, %v; want %s", day(tc.at), got, err, tc.want)
		}
	}
	if _, err := models.StatusOn(newRenewal, history, time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, models.ErrNotYetIssued) {
		t.Errorf("reissue status before the original was issued: %v, want ErrNotYetIssued", err)
	}
	oldHistory, _ := models.CredentialHistory(ctx, db, first.ID)
	if last := oldHistory[len(oldHistory)-1]; last.Status != models.CredentialSuperseded || last.Action != models.ActionSuperseded ||
		!last.At.Equal(approvedAt) || last.ActorID == nil || *last.ActorID != admin {
		t.Errorf("old credential's last event = %+v, want superseded by the admin at the approval", last)
	}

	if _, _, err := approveNameChange(db, req.ID, models.NameChangeDecision{By: admin, At: approvedAt}); !errors.Is(err, models.ErrNameChangeDecided) {
		t.Errorf("second approval = %v, want ErrNameChangeDecided", err)
	}
	if _, _, err := models.RejectNameChange(ctx, db, req.ID, models.NameChangeDecision{By: admin, Reason: "x", At: approvedAt}); !errors.Is(err, models.ErrNameChangeDecided) {
		t.Errorf("rejection after approval = %v, want ErrNameChangeDecided", err)
	}
	var n int64
	db.Model(&models.Credential{}).Where("user_id = ?", user).Count(&n)
	if n != 5 {
		t.Errorf("%d credentials of the holder, want 5 (three issued, two reissues)", n)
	}
}

// TestNameChangeOnePending refuses a second pending request of a user, and takes a new one
// once the first is decided.
func TestNameChangeOnePending(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	ctx := context.Background()
	user := holderFixture(t, db)
	at := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)
	first := nameChangeFixture(t, db, user, "New Name", at)
	second := &models.NameChangeRequest{UserID: user, CurrentName: "Holder", NewName: "Other", Document: []byte("x"),
		DocumentType: "image/png", DocumentName: "x.png", CreatedAt: at}
	if err := models.CreateNameChangeRequest(ctx, db, second); !errors.Is(err, models.ErrNameChangePending) {
		t.Fatalf("second pending request = %v, want ErrNameChangePending", err)
	}
	_, after, err := models.RejectNameChange(ctx, db, first.ID, models.NameChangeDecision{By: uuid.New(), Reason: "illegible", At: at})
	if err != nil || after.Status != models.NameChangeRejected || after.DecisionReason == nil || *after.DecisionReason != "illegible" {
		t.Fatalf("reject = %+v, %v", after, err)
	}
	if u, _ := models.FindUser(ctx, db, user); u.Name != "Holder" {
		t.Errorf("name after a rejection = %q, want unchanged", u.Name)
	}
	second.ID = uuid.Nil
	if err := models.CreateNameChangeRequest(ctx, db, second); err != nil {
		t.Errorf("request after the first was decided = %v, want it stored", err)
	}
}

// TestPruneClearsNameChangeDocuments clears the documents of requests decided more than 30
// days ago, and keeps the requests themselves, younger decisions and pending requests.
func TestPruneClearsNameChangeDocuments(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	ctx := context.Background()
	now := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	decide := func(daysAgo int) uuid.UUID {
		r := nameChangeFixture(t, db, holderFixture(t, db), "New Name", now.AddDate(0, 0, -daysAgo-5))
		if _, _, err := models.RejectNameChange(ctx, db, r.ID, models.NameChangeDecision{By: uuid.New(), Reason: "no", At: now.AddDate(0, 0, -daysAgo)}); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	old, recent := decide(31), decide(29)
	pending := nameChangeFixture(t, db, holderFixture(t, db), "New Name", now.AddDate(0, 0, -90)).ID

	res, err := models.PruneExpired(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	if res["name_change_documents"] != 1 {
		t.Errorf("cleared %d documents, want 1", res["name_change_documents"])
	}
	for id, want := range map[uuid.UUID]bool{old: false, recent: true, pending: true} {
		r, err := models.FindNameChangeDocument(ctx, db, id)
		if err != nil {
			t.Fatalf("request %s: %v (the request itself must stay)", id, err)
		}
		if got := r.Document != nil; got != want {
			t.Errorf("request %s has its document: %v, want %v", id, got, want)
		}
	}
}
