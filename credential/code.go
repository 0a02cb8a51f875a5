package credential

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// CodeAlphabet holds the 32 symbols of the random part of a verification code: Crockford's
// base32, the digits and the capital letters without I, L, O and U. No two of its symbols look
// alike: 0 stands for the group {0, O} and 1 for {1, I, L}, and NormalizeCode maps the others
// of each group onto them, so a code read off paper and typed either way is found. U is left
// out so that it cannot be taken for V (NormalizeCode maps U to V). 32 symbols give exactly
// 5 bits each.
const CodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// codeRandomLen is the number of random symbols in a code: 8 × 5 = 40 bits.
//
// Why 40 bits is enough: codes are not secrets that protect anything beyond a holder's name
// and course, and lookups are rate-limited per client. With a million credentials issued, a
// guess hits some code with probability 10^6 / 2^40 ≈ 1 in 1.1 million, so a client limited
// to, say, 10,000 guesses a day finds about one code a hundred days. Random codes do collide
// (with 10^6 issued, a new code matches an existing one with probability about 1e-6, and
// across the first million the odds of at least one collision are about even), so the
// database holds codes unique and issuance draws a new code when the insert conflicts.
const codeRandomLen = 8

// ErrInvalidCode reports a verification code that cannot be one we issue.
var ErrInvalidCode = errors.New("invalid verification code")

// NewCode returns a new verification code for a course: prefix, a dash, four symbols of
// CodeAlphabet, a dash and four more, e.g. AALS-7K3M-Q9TD. The eight symbols carry 40 random
// bits read from r (crypto/rand.Reader in production). prefix must be 2 to 10 capital letters
// A–Z (the course code).
func NewCode(prefix string, r io.Reader) (string, error) {
	if !validPrefix(prefix) {
		return "", fmt.Errorf("%w: course prefix %q is not 2–10 capital letters", ErrInvalidCode, prefix)
	}
	var raw [5]byte // 40 bits
	if _, err := io.ReadFull(r, raw[:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	var v uint64
	for _, c := range raw {
		v = v<<8 | uint64(c)
	}
	var sym [codeRandomLen]byte
	for i := codeRandomLen - 1; i >= 0; i-- {
		sym[i] = CodeAlphabet[v&31]
		v >>= 5
	}
	return prefix + "-" + string(sym[:4]) + "-" + string(sym[4:]), nil
}

// ValidCode reports whether s is a verification code in the exact form NewCode writes.
func ValidCode(s string) bool {
	prefix, rest, ok := strings.Cut(s, "-")
	if !ok || !validPrefix(prefix) || len(rest) != codeRandomLen+1 || rest[4] != '-' {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if i == 4 {
			continue
		}
		if strings.IndexByte(CodeAlphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// NormalizeCode turns a code as a person typed or read it into the form NewCode writes, for a
// lookup. It trims and upper-cases s, ignores spaces and dashes (including the Unicode dashes
// phones substitute), takes the last eight symbols as the random part and the rest as the
// course prefix, and in the random part only maps O to 0, I and L to 1 and U to V (the prefix
// is letters, where no mapping applies: AALS keeps its L). It returns false if the result is
// not a valid code, so a lookup can answer "not found" without a query.
func NormalizeCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(strings.TrimSpace(s)) {
		switch r {
		case ' ', '\t', '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212':
			continue
		}
		if r >= 0x80 {
			return "", false
		}
		b.WriteRune(r)
	}
	compact := b.String()
	if len(compact) <= codeRandomLen {
		return "", false
	}
	split := len(compact) - codeRandomLen
	prefix := compact[:split]
	sym := []byte(compact[split:])
	for i, c := range sym {
		switch c {
		case 'O':
			sym[i] = '0'
		case 'I', 'L':
			sym[i] = '1'
		case 'U':
			sym[i] = 'V'
		}
	}
	code := prefix + "-" + string(sym[:4]) + "-" + string(sym[4:])
	if !ValidCode(code) {
		return "", false
	}
	return code, true
}

func validPrefix(p string) bool {
	if len(p) < 2 || len(p) > 10 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 'A' || p[i] > 'Z' {
			return false
		}
	}
	return true
}
