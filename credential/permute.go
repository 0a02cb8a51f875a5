package credential

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// PermKeySize is the size in bytes of a status list's permutation key.
const PermKeySize = 32

// feistelRounds is the number of rounds of the permutation; four rounds of a Feistel network
// with a pseudorandom round function give a pseudorandom permutation (Luby–Rackoff).
const feistelRounds = 4

// SlotIndex returns the status-list index of the n-th credential placed in a list of size
// entries whose permutation key is key: a keyed pseudorandom permutation of [0, size), so the
// indexes of successive credentials look uniformly random (an index says nothing about when
// or to whom it was given), no index is handed out twice, and a list is full after size
// placements. n must be in [0, size).
//
// The permutation is a balanced Feistel network over the smallest even number of bits that
// holds size, with HMAC-SHA256 under key as the round function, and cycle-walking to stay
// below size (for a size that is a power of four, no walking at all; otherwise fewer than four
// steps on average).
func SlotIndex(key []byte, size, n int) (int, error) {
	if len(key) != PermKeySize {
		return 0, fmt.Errorf("status list permutation key: %d bytes, want %d", len(key), PermKeySize)
	}
	if size <= 0 || n < 0 || n >= size {
		return 0, fmt.Errorf("%w: slot %d of a %d-entry list", ErrStatusRange, n, size)
	}
	width := bits.Len(uint(size - 1))
	if width%2 == 1 {
		width++
	}
	if width < 2 {
		width = 2
	}
	half := uint(width / 2)
	mask := uint64(1)<<half - 1
	mac := hmac.New(sha256.New, key)
	var buf [9]byte
	var sum [sha256.Size]byte
	round := func(r int, x uint64) uint64 {
		mac.Reset()
		buf[0] = byte(r)
		binary.BigEndian.PutUint64(buf[1:], x)
		mac.Write(buf[:])
		return binary.BigEndian.Uint64(mac.Sum(sum[:0])[:8]) & mask
	}
	v := uint64(n)
	for {
		left, right := v>>half, v&mask
		for r := range feistelRounds {
			left, right = right, left^round(r, right)
		}
		v = left<<half | right
		if v < uint64(size) {
			return int(v), nil
		}
	}
}
