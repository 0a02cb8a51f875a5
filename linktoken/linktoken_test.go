package linktoken

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	old := bytes.Repeat([]byte{1}, 32)
	cur := bytes.Repeat([]byte{2}, 32)
	signedBefore, _ := New([][]byte{old}, clock)
	c, err := New([][]byte{cur, old}, clock)
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Sign(PurposeRenew, "cred-1", time.Hour)
	if got, err := c.Verify(PurposeRenew, tok); err != nil || got != "cred-1" {
		t.Fatalf("Verify = %q, %v", got, err)
	}
	if _, err := c.Verify(PurposeUnsubscribe, tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("other purpose: %v, want ErrInvalid", err)
	}
	if got, err := c.Verify(PurposeRenew, signedBefore.Sign(PurposeRenew, "cred-2", time.Hour)); err != nil || got != "cred-2" {
		t.Errorf("token of the previous key = %q, %v; want it to verify", got, err)
	}
	other, _ := New([][]byte{bytes.Repeat([]byte{3}, 32)}, clock)
	if _, err := other.Verify(PurposeRenew, tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown key: %v, want ErrInvalid", err)
	}
	for i := range tok {
		b := []byte(tok)
		b[i] ^= 1
		if _, err := c.Verify(PurposeRenew, string(b)); err == nil {
			t.Fatalf("token with byte %d changed verified", i)
		}
	}
	now = now.Add(time.Hour + time.Second)
	if got, err := c.Verify(PurposeRenew, tok); !errors.Is(err, ErrExpired) || got != "cred-1" {
		t.Errorf("expired = %q, %v; want the subject and ErrExpired", got, err)
	}
	for _, bad := range []string{"", "a.b", "a.b.c.d", "!!.!!.!!"} {
		if _, err := c.Verify(PurposeRenew, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := New(nil, clock); err == nil {
		t.Error("no key accepted")
	}
	if _, err := New([][]byte{make([]byte, 16)}, clock); err == nil {
		t.Error("short key accepted")
	}
}
