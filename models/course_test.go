package models_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

var courseNow = time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)

func pointerTo[T any](v T) *T { return &v }

func TestSeedCourseInsertsOnceAndKeepsEdits(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	tmpl := courseFixture(t, db.Gorm, 90, 30) // seeded once already; reseed copies of it below
	fresh := func() *models.Course {
		c := *tmpl
		c.Code = tmpl.Code + "N"
		c.Offerings = []models.Offering{{Kind: "initial", PriceCents: 100, Currency: "usd", Active: true},
			{Kind: "renewal", PriceCents: 50, Currency: "usd", Active: true}}
		return &c
	}

	const seeders = 8
	var wg sync.WaitGroup
	created := make([]bool, seeders)
	errs := make([]error, seeders)
	for i := range seeders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created[i], errs[i] = models.SeedCourse(ctx, db.Gorm, fresh())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(slices.DeleteFunc(created, func(b bool) bool { return !b })); n != 1 {
		t.Fatalf("%d concurrent seeders inserted the course, want 1", n)
	}

	code := fresh().Code
	if _, _, err := models.UpdateCourse(ctx, db.Gorm, code, models.CourseUpdate{Title: pointerTo("Edited by an admin"),
		Offerings: map[string]models.OfferingUpdate{"initial": {PriceCents: pointerTo(175)}}}, courseNow); err != nil {
		t.Fatal(err)
	}
	again, err := models.SeedCourse(ctx, db.Gorm, fresh())
	if err != nil || again {
		t.Fatalf("second seed = %v, %v; want false, nil", again, err)
	}
	c, err := models.FindCourse(ctx, db.Gorm, code)
	if err != nil {
		t.Fatal(err)
	}
	if c.Title != "Edited by an admin" || c.Offering("initial").PriceCents != 175 || len(c.Offerings) != 2 {
		t.Fatalf("after reseed: title %q, offerings %+v; want the admin's edits kept", c.Title, c.Offerings)
	}
	all, err := models.ListCourses(ctx, db.Gorm)
	if err != nil || len(all) != 2 || all[0].Code != tmpl.Code || len(all[1].Offerings) != 2 {
		t.Fatalf("ListCourses = %d courses, %v", len(all), err)
	}
}

func TestUpdateCourseValidatesTheWholeCourse(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	ctx := context.Background()
	c := courseFixture(t, db, 90, 30)

	bad := models.CourseUpdate{
		Exam:      &models.ExamUpdate{PassPercent: pointerTo(101), Blueprint: map[string]float64{"a": 0.5, "b": 0.4}},
		Offerings: map[string]models.OfferingUpdate{"renewal": {PriceCents: pointerTo(-1)}},
	}
	_, _, err := models.UpdateCourse(ctx, db, c.Code, bad, courseNow)
	var ve *models.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("UpdateCourse = %v, want a ValidationError", err)
	}
	var fields []string
	for _, f := range ve.Fields {
		fields = append(fields, f.Field)
	}
	for _, want := range []string{"exam.pass_percent", "exam.blueprint", "offerings.renewal.price_cents"} {
		if !slices.Contains(fields, want) {
			t.Errorf("field errors %v lack %s", fields, want)
		}
	}
	if _, _, err := models.UpdateCourse(ctx, db, c.Code, models.CourseUpdate{
		Offerings: map[string]models.OfferingUpdate{"refresher": {PriceCents: pointerTo(1)}}}, courseNow); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("unknown offering = %v, want invalid", err)
	}
	if _, _, err := models.UpdateCourse(ctx, db, "NOPE", models.CourseUpdate{Title: pointerTo("x")}, courseNow); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown course = %v, want ErrNotFound", err)
	}

	exp := time.Date(2029, 6, 30, 0, 0, 0, 0, time.UTC)
	before, after, err := models.UpdateCourse(ctx, db, c.Code, models.CourseUpdate{
		Exam: &models.ExamUpdate{Attempts: pointerTo(2)}, CEApprovalExpires: &exp, ReminderOffsetsDays: []int64{30, 0},
		Offerings: map[string]models.OfferingUpdate{"renewal": {Active: pointerTo(false), CECredits: pointerTo(4.5)}},
	}, courseNow)
	if err != nil {
		t.Fatal(err)
	}
	if before.Exam.Attempts != 3 || before.Offering("renewal").Active != true {
		t.Errorf("before = %+v, want the course as it was", before)
	}
	r := after.Offering("renewal")
	if after.Exam.Attempts != 2 || after.Exam.Questions != 30 || !after.CEApprovalExpires.Equal(exp) ||
		!slices.Equal(after.ReminderOffsetsDays, []int64{30, 0}) || r.Active || r.CECredits != 4.5 || r.PriceCents != 50 {
		t.Errorf("after = %+v, renewal %+v", after, r)
	}
}

func TestUpdateOffering(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	ctx := context.Background()
	c := courseFixture(t, db, 90, 30)
	if _, err := models.UpdateOffering(ctx, db, c.Code, "renewal", models.OfferingUpdate{PriceCents: pointerTo(-1)}, courseNow); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("negative price = %v, want invalid", err)
	}
	if _, err := models.UpdateOffering(ctx, db, "NOPE", "renewal", models.OfferingUpdate{}, courseNow); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown course = %v, want ErrNotFound", err)
	}
	o, err := models.UpdateOffering(ctx, db, c.Code, "initial", models.OfferingUpdate{PriceCents: pointerTo(0)}, courseNow)
	if err != nil || o.PriceCents != 0 || !o.Active {
		t.Fatalf("free offering = %+v, %v", o, err)
	}
}
