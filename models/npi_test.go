package models_test

import (
	"testing"

	"github.com/aalscert/aalscert/models"
)

func TestValidNPI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		npi  string
		want bool
	}{
		{"1234567893", true}, // the example in the CMS check-digit specification
		{"1245319599", true},
		{"1003000126", true},
		{"1234567890", false}, // wrong check digit
		{"1234567894", false},
		{"123456789", false},   // nine digits
		{"12345678930", false}, // eleven digits
		{"12345678a3", false},
		{"123456789 ", false},
		{"", false},
	} {
		if got := models.ValidNPI(tc.npi); got != tc.want {
			t.Errorf("ValidNPI(%q) = %v, want %v", tc.npi, got, tc.want)
		}
	}
}
