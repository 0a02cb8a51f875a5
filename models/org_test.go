package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

func TestOrgMembership(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)
	newUser := func(email string) *models.User {
		u := &models.User{Email: email, PasswordHash: "x", Name: email}
		if err := models.CreateUser(ctx, db, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	ann, bob := newUser("ann@h.test"), newUser("bob@h.test")
	org := &models.Org{Name: "Mercy", CreatedBy: ann.ID, CreatedAt: now, UpdatedAt: now}
	if err := models.CreateOrg(ctx, db, org); err != nil {
		t.Fatal(err)
	}

	t.Run("CreatorIsAdmin", func(t *testing.T) {
		m, err := models.FindMembership(ctx, db, org.ID, ann.ID)
		if err != nil || len(m.Roles) != 1 || m.Roles[0] != models.RoleAdmin || m.Name != "Mercy" {
			t.Fatalf("membership = %+v, %v; want admin of Mercy", m, err)
		}
	})
	t.Run("NonMemberAndNoOrgAreAlike", func(t *testing.T) {
		if _, err := models.FindMembership(ctx, db, org.ID, bob.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("non-member: err = %v, want ErrNotFound", err)
		}
		if _, err := models.FindMembership(ctx, db, uuid.New(), ann.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("no org: err = %v, want ErrNotFound", err)
		}
	})
	t.Run("LastAdminStays", func(t *testing.T) {
		if _, _, err := models.UpdateMemberRoles(ctx, db, org.ID, ann.ID, []string{models.RoleMember}, now); !errors.Is(err, models.ErrLastAdmin) {
			t.Errorf("demote last admin: err = %v, want ErrLastAdmin", err)
		}
		if _, err := models.DeleteMember(ctx, db, org.ID, ann.ID); !errors.Is(err, models.ErrLastAdmin) {
			t.Errorf("remove last admin: err = %v, want ErrLastAdmin", err)
		}
		if _, err := models.DeleteMember(ctx, db, org.ID, bob.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("remove non-member: err = %v, want ErrNotFound", err)
		}
	})
	t.Run("ApproveOnce", func(t *testing.T) {
		o, err := models.ApproveOrg(ctx, db, org.ID, bob.ID, now)
		if err != nil || !o.Approved() || *o.ApprovedBy != bob.ID {
			t.Fatalf("approve = %+v, %v", o, err)
		}
		if _, err := models.ApproveOrg(ctx, db, org.ID, bob.ID, now); !errors.Is(err, models.ErrAlreadyApproved) {
			t.Errorf("second approval: err = %v, want ErrAlreadyApproved", err)
		}
		if _, err := models.ApproveOrg(ctx, db, uuid.New(), bob.ID, now); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("unknown org: err = %v, want ErrNotFound", err)
		}
	})
}

func TestCheckGrantable(t *testing.T) {
	t.Parallel()
	now := time.Now()
	pending, approved := &models.Org{}, &models.Org{ApprovedAt: &now}
	for _, roles := range [][]string{{"verifier"}, {"member", "instructor"}} {
		if err := pending.CheckGrantable(roles); !errors.Is(err, models.ErrOrgNotApproved) {
			t.Errorf("pending org grants %v: err = %v, want ErrOrgNotApproved", roles, err)
		}
		if err := approved.CheckGrantable(roles); err != nil {
			t.Errorf("approved org grants %v: err = %v", roles, err)
		}
	}
	if err := pending.CheckGrantable([]string{"admin", "member"}); err != nil {
		t.Errorf("pending org grants admin: err = %v, want nil", err)
	}
}
