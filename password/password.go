// Package password hashes passwords with argon2id and checks new ones against the policy of
// NIST SP 800-63B: at least 12 characters, not on a list of common passwords, and no
// composition rules.
package password

import (
	"bufio"
	_ "embed"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
)

// MinLength is the shortest password accepted.
const MinLength = 12

// MaxLength bounds the work of hashing a hostile input.
const MaxLength = 256

// params are argon2id parameters in line with RFC 9106's second recommended option, sized
// for a login to take tens of milliseconds on a small server.
var params = &argon2id.Params{Memory: 64 * 1024, Iterations: 2, Parallelism: 2, SaltLength: 16, KeyLength: 32}

// slots bounds how many hashes run at once: each takes 64 MiB, so a burst of sign-ins (a
// hospital's shift change) queues briefly instead of exhausting memory.
var slots = make(chan struct{}, runtime.GOMAXPROCS(0))

// Hash returns the PHC-formatted argon2id hash of pw.
func Hash(pw string) (string, error) {
	slots <- struct{}{}
	defer func() { <-slots }()
	return argon2id.CreateHash(pw, params)
}

// Verify reports whether pw matches hash. A malformed hash is an error.
func Verify(pw, hash string) (bool, error) {
	slots <- struct{}{}
	defer func() { <-slots }()
	return argon2id.ComparePasswordAndHash(pw, hash)
}

// dummyHash is compared against when an account does not exist, so a login takes as long
// whether or not the address is registered.
var dummyHash = sync.OnceValue(func() string {
	h, _ := Hash("not-a-real-password-for-timing")
	return h
})

// VerifyNone spends the time of one Verify; call it when there is no account.
func VerifyNone(pw string) {
	_, _ = Verify(pw, dummyHash())
}

//go:embed common.txt
var commonFile string

var common = sync.OnceValue(func() map[string]struct{} {
	m := map[string]struct{}{}
	sc := bufio.NewScanner(strings.NewReader(commonFile))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = struct{}{}
		}
	}
	return m
})

// Check returns "" if pw is acceptable as a new password, else a message for the user.
func Check(pw string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinLength:
		return "must be at least 12 characters"
	case n > MaxLength:
		return "must be at most 256 characters"
	}
	if _, bad := common()[strings.ToLower(pw)]; bad {
		return "is too common; choose a password others are unlikely to use"
	}
	return ""
}
