// Package masterkey encrypts secrets at rest (signing keys, TOTP secrets, webhook secrets,
// unsent mail) with AES-256-GCM under the master key. Several keys may be configured so the
// master key can rotate: the first encrypts, all decrypt.
package masterkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrDecrypt means no configured key opens the sealed value.
var ErrDecrypt = errors.New("masterkey: cannot decrypt with any configured key")

// Keyring holds the master keys. The zero value is unusable; build one with Parse or New.
type Keyring struct {
	keys []key
}

type key struct {
	id   [4]byte // first bytes of SHA-256 of the key, stored with each sealed value
	aead cipher.AEAD
	raw  []byte
}

// Parse reads a comma-separated list of base64 32-byte keys.
func Parse(s string) (*Keyring, error) {
	var raws [][]byte
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(part)
		if err != nil {
			return nil, fmt.Errorf("master key %d is not base64", i+1)
		}
		if len(b) != 32 {
			return nil, fmt.Errorf("master key %d is %d bytes, want 32", i+1, len(b))
		}
		raws = append(raws, b)
	}
	if len(raws) == 0 {
		return nil, errors.New("no master key given")
	}
	return New(raws...)
}

// New builds a keyring from raw 32-byte keys; the first encrypts.
func New(raws ...[]byte) (*Keyring, error) {
	kr := &Keyring{}
	for _, raw := range raws {
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(raw)
		var k key
		copy(k.id[:], sum[:4])
		k.aead = aead
		k.raw = append([]byte(nil), raw...)
		kr.keys = append(kr.keys, k)
	}
	return kr, nil
}

// Generate returns a new random key, base64-encoded.
func Generate() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// Seal encrypts plaintext with the first key. aad binds the value to its use (e.g. a row
// ID and column) so a sealed value cannot be moved elsewhere.
func (kr *Keyring) Seal(plaintext, aad []byte) []byte {
	k := kr.keys[0]
	nonce := make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := append(append(k.id[:0:0], k.id[:]...), nonce...)
	return k.aead.Seal(out, nonce, plaintext, aad)
}

// Open decrypts a value made by Seal with any configured key.
func (kr *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	for _, k := range kr.keys {
		ns := k.aead.NonceSize()
		if len(sealed) < 4+ns || [4]byte(sealed[:4]) != k.id {
			continue
		}
		pt, err := k.aead.Open(nil, sealed[4:4+ns], sealed[4+ns:], aad)
		if err != nil {
			return nil, ErrDecrypt
		}
		return pt, nil
	}
	return nil, ErrDecrypt
}

// DeriveKeys returns one 32-byte key per master key, derived with HKDF-SHA256 for label (e.g.
// "link-token"), in the keyring's order: the first is for signing, all are for checking, so
// what was signed before a master-key rotation still checks after it. Different labels give
// unrelated keys, so no two uses share one.
func (kr *Keyring) DeriveKeys(label string) [][]byte {
	out := make([][]byte, len(kr.keys))
	for i, k := range kr.keys {
		d, err := hkdf.Key(sha256.New, k.raw, nil, "aalscert "+label, 32)
		if err != nil {
			panic(err) // only for lengths HKDF cannot give; 32 bytes always can
		}
		out[i] = d
	}
	return out
}
