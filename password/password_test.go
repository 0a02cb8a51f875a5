package password_test

import (
	"strings"
	"testing"

	"github.com/aalscert/aalscert/password"
)

func TestHashAndVerify(t *testing.T) {
	h, err := password.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q is not argon2id", h)
	}
	if ok, err := password.Verify("correct horse battery staple", h); !ok || err != nil {
		t.Errorf("Verify(right) = %v, %v", ok, err)
	}
	if ok, _ := password.Verify("wrong horse battery staple", h); ok {
		t.Error("Verify(wrong) = true")
	}
}

func TestCheck(t *testing.T) {
	for pw, wantOK := range map[string]bool{
		"short":                        false,
		"elevenchars":                  false,
		"Password1234":                 false, // common, case-insensitively
		"twelve chars":                 true,
		"alllowercaseisfine":           true,
		strings.Repeat("x", 257):       false,
		"perioperative arrest drill 7": true,
	} {
		if got := password.Check(pw) == ""; got != wantOK {
			t.Errorf("Check(%q) ok = %v, want %v", pw, got, wantOK)
		}
	}
}
