package api_test

import (
	"context"
	"testing"

	"github.com/aalscert/aalscert/content"
)

// seedCourses puts the shipped catalog (AALS and ACLS, from content/) into the env's
// database, as the server does on first start. Calling it again changes nothing.
func (e *env) seedCourses(t testing.TB) {
	t.Helper()
	if _, err := content.SeedCourses(context.Background(), e.db.Gorm); err != nil {
		t.Fatalf("seed courses: %v", err)
	}
}
