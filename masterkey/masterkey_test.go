package masterkey_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/aalscert/aalscert/masterkey"
)

func TestSealOpenAndRotation(t *testing.T) {
	oldKey, newKey := masterkey.Generate(), masterkey.Generate()
	before, err := masterkey.Parse(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	sealed := before.Seal([]byte("secret"), []byte("row-1"))
	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("sealed value contains the plaintext")
	}
	rotated, err := masterkey.Parse(newKey + "," + oldKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rotated.Open(sealed, []byte("row-1"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("Open after rotation = %q, %v; want secret", got, err)
	}
	if _, err := rotated.Open(sealed, []byte("row-2")); !errors.Is(err, masterkey.ErrDecrypt) {
		t.Errorf("Open with other aad = %v, want ErrDecrypt", err)
	}
	fresh := rotated.Seal([]byte("x"), nil)
	if _, err := before.Open(fresh, nil); !errors.Is(err, masterkey.ErrDecrypt) {
		t.Errorf("old keyring opened a value sealed with the new key: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := rotated.Open(sealed, []byte("row-1")); !errors.Is(err, masterkey.ErrDecrypt) {
		t.Errorf("Open of a flipped byte = %v, want ErrDecrypt", err)
	}
}

func TestParseRejectsBadKeys(t *testing.T) {
	for _, in := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := masterkey.Parse(in); err == nil {
			t.Errorf("Parse(%q) = nil error", in)
		}
	}
}
