package credential

import (
	"bytes"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"
)

func TestCodeAlphabet(t *testing.T) {
	if len(CodeAlphabet) != 32 {
		t.Fatalf("alphabet has %d symbols, want 32 (5 bits each)", len(CodeAlphabet))
	}
	seen := map[rune]bool{}
	for _, r := range CodeAlphabet {
		if seen[r] {
			t.Errorf("%q repeated", r)
		}
		seen[r] = true
	}
	// One symbol per look-alike group, and the others normalize onto it.
	for _, r := range "OILU" {
		if strings.ContainsRune(CodeAlphabet, r) {
			t.Errorf("alphabet contains look-alike %q", r)
		}
	}
}

var codeFormat = regexp.MustCompile(`^AALS-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

func TestNewCode(t *testing.T) {
	for range 1000 {
		c, err := NewCode("AALS", rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !codeFormat.MatchString(c) || !ValidCode(c) {
			t.Fatalf("bad code %q", c)
		}
		if n, ok := NormalizeCode(c); !ok || n != c {
			t.Fatalf("NormalizeCode(%q) = %q, %v", c, n, ok)
		}
	}
	// The 40 bits map to the symbols in order, 5 bits each.
	for _, tc := range []struct {
		raw  []byte
		want string
	}{
		{[]byte{0, 0, 0, 0, 0}, "ACLS-0000-0000"},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff}, "ACLS-ZZZZ-ZZZZ"},
		{[]byte{0x00, 0x44, 0x32, 0x14, 0xc7}, "ACLS-0123-4567"},
		{[]byte{0x08, 0x00, 0x00, 0x00, 0x01}, "ACLS-1000-0001"},
	} {
		got, err := NewCode("ACLS", bytes.NewReader(tc.raw))
		if err != nil || got != tc.want {
			t.Errorf("NewCode(% x) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
	for _, p := range []string{"", "A", "aals", "AAL5", "AALS-", "ABCDEFGHIJK"} {
		if _, err := NewCode(p, rand.Reader); err == nil {
			t.Errorf("NewCode(%q) accepted the prefix", p)
		}
	}
	if _, err := NewCode("AALS", strings.NewReader("abcd")); err == nil {
		t.Error("NewCode succeeded with 32 bits of randomness")
	}
}

func TestCodeDistribution(t *testing.T) {
	// Every position uses every symbol about equally: 4,000 codes give 125 expected per
	// symbol and position (standard deviation ≈ 11); a bias of a bit would show far beyond
	// the ±60 allowed.
	const n = 4000
	var counts [8][32]int
	for range n {
		c, err := NewCode("AALS", rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		sym := strings.ReplaceAll(c[len("AALS-"):], "-", "")
		for pos := range sym {
			counts[pos][strings.IndexByte(CodeAlphabet, sym[pos])]++
		}
	}
	for pos := range counts {
		for s, c := range counts[pos] {
			if c < 125-60 || c > 125+60 {
				t.Errorf("position %d symbol %q: %d of %d", pos, CodeAlphabet[s], c, n)
			}
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"AALS-7K3M-Q9TD", "AALS-7K3M-Q9TD"},
		{"  aals-7k3m-q9td\n", "AALS-7K3M-Q9TD"},
		{"AALS7K3MQ9TD", "AALS-7K3M-Q9TD"},
		{"AALS 7K3M Q9TD", "AALS-7K3M-Q9TD"},
		{"AALS–7K3M—Q9TD", "AALS-7K3M-Q9TD"}, // en and em dashes
		{"AA-LS-7K-3M-Q9-TD", "AALS-7K3M-Q9TD"},
		{"AALS-OOOO-0000", "AALS-0000-0000"},
		{"AALS-I1LI-lil1", "AALS-1111-1111"}, // the prefix's L is not mapped
		{"ACLS-UVUV-uvuv", "ACLS-VVVV-VVVV"},
		{"acls-abcd-efgh", "ACLS-ABCD-EFGH"},
	} {
		got, ok := NormalizeCode(tc.in)
		if !ok || got != tc.want {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	for _, in := range []string{
		"",
		"AALS",
		"7K3M-Q9TD",             // no prefix
		"A-7K3M-Q9TD",           // prefix too short
		"AALS-7K3M",             // no room for a prefix
		"AALS-7K3M-Q9T!",        // not in the alphabet
		"AAL5-7K3M-Q9TD",        // digit in the prefix
		"AALS-7K3M-Q9TÉ",        // non-ASCII
		"AALS_7K3M_Q9TD",        // underscores are not separators
		"ABCDEFGHIJK-7K3M-Q9TD", // prefix too long
	} {
		if got, ok := NormalizeCode(in); ok {
			t.Errorf("NormalizeCode(%q) = %q, accepted", in, got)
		}
	}
}

func TestValidCode(t *testing.T) {
	for _, s := range []string{"AALS-7K3M-Q9TD", "ACLS-0000-ZZZZ"} {
		if !ValidCode(s) {
			t.Errorf("ValidCode(%q) = false", s)
		}
	}
	for _, s := range []string{
		"", "aals-7k3m-q9td", "AALS-7K3MQ9TD", "AALS7K3M-Q9TD", "AALS-7K3M-Q9TO",
		"AALS-7K3M-Q9TDX", "AALS--7K3M-Q9T", "AALS-7K3M-Q9TU", "AALS 7K3M Q9TD",
	} {
		if ValidCode(s) {
			t.Errorf("ValidCode(%q) = true", s)
		}
	}
}
