package bench

import (
	"crypto/rand"
	"testing"

	"github.com/aalscert/aalscert/credential"
)

// statusListFixture returns a list of the minimum size with about 1% of its entries set at
// random indexes, as a revocation list of a busy year might look, and its encoding. Random
// positions are the hard case for GZIP: set bits in runs would compress better.
func statusListFixture(b *testing.B) (credential.Bitstring, string) {
	b.Helper()
	list, err := credential.NewBitstring(credential.MinListSize)
	if err != nil {
		b.Fatal(err)
	}
	// The first 1% of the places of a random permutation: the indexes credentials get.
	key := make([]byte, credential.PermKeySize)
	if _, err := rand.Read(key); err != nil {
		b.Fatal(err)
	}
	for n := range credential.MinListSize / 100 {
		i, err := credential.SlotIndex(key, list.Len(), n)
		if err != nil {
			b.Fatal(err)
		}
		if err := list.Set(i, true); err != nil {
			b.Fatal(err)
		}
	}
	enc, err := list.Encode()
	if err != nil {
		b.Fatal(err)
	}
	return list, enc
}

// BenchmarkStatusListEncode measures building the encodedList of a 131,072-entry list with
// 1% set, the work done when a status list credential is rebuilt after a status change.
func BenchmarkStatusListEncode(b *testing.B) {
	list, enc := statusListFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := list.Encode(); err != nil {
			b.Fatal(err)
		}
	}
	// After the loop: b.Loop resets the timer, which drops metrics reported before it.
	b.ReportMetric(float64(len(enc)), "encoded-bytes")
}

// BenchmarkStatusListDecode measures reading the same list back, the work a verifier does for
// each list it fetches.
func BenchmarkStatusListDecode(b *testing.B) {
	_, enc := statusListFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := credential.DecodeBitstring(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc)), "encoded-bytes")
}
