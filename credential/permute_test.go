package credential

import (
	"bytes"
	"errors"
	"testing"
)

func TestSlotIndexIsAPermutation(t *testing.T) {
	key := bytes.Repeat([]byte{7}, PermKeySize)
	for _, size := range []int{MinListSize, 1000, 8, 1} {
		seen := make([]bool, size)
		inOrder := 0
		for n := range size {
			i, err := SlotIndex(key, size, n)
			if err != nil {
				t.Fatalf("size %d, n %d: %v", size, n, err)
			}
			if i < 0 || i >= size {
				t.Fatalf("size %d, n %d: index %d out of range", size, n, i)
			}
			if seen[i] {
				t.Fatalf("size %d: index %d given twice", size, i)
			}
			seen[i] = true
			if i == n {
				inOrder++
			}
		}
		// A random permutation fixes about one point; the identity would fix all.
		if size >= 1000 && inOrder > 10 {
			t.Errorf("size %d: %d of %d indexes equal their position; not shuffled", size, inOrder, size)
		}
	}
}

func TestSlotIndexDependsOnTheKey(t *testing.T) {
	a := bytes.Repeat([]byte{1}, PermKeySize)
	b := bytes.Repeat([]byte{2}, PermKeySize)
	same := 0
	for n := range 1000 {
		x, _ := SlotIndex(a, MinListSize, n)
		y, _ := SlotIndex(b, MinListSize, n)
		if x == y {
			same++
		}
	}
	if same > 5 {
		t.Errorf("%d of 1000 slots agree under different keys", same)
	}
	// The first slots spread over the whole list rather than clustering at the start.
	var low int
	for n := range 1000 {
		if i, _ := SlotIndex(a, MinListSize, n); i < MinListSize/2 {
			low++
		}
	}
	if low < 400 || low > 600 {
		t.Errorf("%d of the first 1000 slots fall in the lower half; want about 500", low)
	}
}

func TestSlotIndexRejectsBadInput(t *testing.T) {
	key := make([]byte, PermKeySize)
	for name, call := range map[string]func() error{
		"short key":      func() error { _, err := SlotIndex(key[:16], MinListSize, 0); return err },
		"n past the end": func() error { _, err := SlotIndex(key, MinListSize, MinListSize); return err },
		"negative n":     func() error { _, err := SlotIndex(key, MinListSize, -1); return err },
		"empty list":     func() error { _, err := SlotIndex(key, 0, 0); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := SlotIndex(key, 8, 8); !errors.Is(err, ErrStatusRange) {
		t.Errorf("n == size: %v, want ErrStatusRange", err)
	}
}
