package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

const testPublicURL = "http://localhost:8080"

// signVerifies signs with keys' signer and verifies with a verifier of all published keys.
func signVerifies(t *testing.T, signer *credential.Signer, published []credential.PublicKey) {
	t.Helper()
	tok, err := signer.Sign(map[string]any{"iss": testPublicURL + "/issuer"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := credential.NewVerifier(published...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifySignature(tok); err != nil {
		t.Fatalf("token of the signer does not verify with the published keys: %v", err)
	}
}

func TestCredentialKeyCreatedOnceByConcurrentServers(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	kr, _ := masterkey.Parse(masterkey.Generate())
	const servers = 4
	var wg sync.WaitGroup
	kids := make([]string, servers)
	errs := make([]error, servers)
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys, err := credentialKeys(context.Background(), db, kr, testPublicURL, credential.AlgEdDSA, quiet, time.Now)
			if err != nil {
				errs[i] = err
				return
			}
			kids[i] = keys.Signer.Key().KID
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		if kids[i] != kids[0] {
			t.Fatalf("servers sign with different keys: %v", kids)
		}
	}
	rows, err := models.ListSigningKeys(t.Context(), db.Gorm, models.KeyCredential)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Alg != credential.AlgEdDSA || !strings.HasPrefix(rows[0].KID, testPublicURL+"/keys/") {
		t.Fatalf("credential keys = %+v, want one EdDSA key with a kid URL", rows)
	}
	// The stored public JWK is the published one.
	var j credential.JWK
	if err := json.Unmarshal(rows[0].PublicJWK, &j); err != nil {
		t.Fatal(err)
	}
	if pub, err := j.PublicKey(); err != nil || pub.KID != rows[0].KID {
		t.Fatalf("public_jwk %s: %v", rows[0].PublicJWK, err)
	}
	// The private key is sealed: another master key cannot load it.
	other, _ := masterkey.Parse(masterkey.Generate())
	if _, err := credentialKeys(context.Background(), db, other, testPublicURL, credential.AlgEdDSA, quiet, time.Now); err == nil {
		t.Error("loaded the credential key with the wrong master key")
	}
}

// TestKeysRotatePublishesBothAndNewestSigns rotates through the command line, then loads the
// keys as a server does: both are published and the new one signs.
func TestKeysRotatePublishesBothAndNewestSigns(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	mk := masterkey.Generate()
	kr, _ := masterkey.Parse(mk)
	first, err := credentialKeys(t.Context(), db, kr, testPublicURL, credential.AlgEdDSA, quiet, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	environ := map[string]string{
		"DATABASE_URL": dbURL(db), "AALS_MASTER_KEY": mk, "AALS_VC_ALG": credential.AlgEdDSA,
		"AALS_PUBLIC_URL": testPublicURL,
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"keys", "rotate"}, environ, &out, &errOut); code != 0 {
		t.Fatalf("keys rotate = %d: %s", code, errOut.String())
	}
	newKID, receiptKID := "", ""
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case strings.Contains(line, "credential signing key:"):
			newKID = f[len(f)-1]
		case strings.Contains(line, "receipt signing key:"):
			receiptKID = f[len(f)-1]
		}
	}
	if !strings.HasPrefix(newKID, testPublicURL+"/keys/") || newKID == first.Signer.Key().KID ||
		!strings.HasPrefix(receiptKID, testPublicURL+"/keys/") || receiptKID == newKID {
		t.Fatalf("keys rotate printed %q, want a new credential kid and a receipt kid", out.String())
	}
	if rows, err := models.ListSigningKeys(t.Context(), db.Gorm, models.KeyReceipt); err != nil || len(rows) != 1 || rows[0].KID != receiptKID {
		t.Fatalf("receipt keys after rotate = %+v, %v; want the printed one", rows, err)
	}

	keys, err := credentialKeys(t.Context(), db, kr, testPublicURL, credential.AlgEdDSA, quiet, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.Published) != 2 || keys.Published[0].KID != newKID || keys.Published[1].KID != first.Signer.Key().KID {
		t.Fatalf("published = %+v, want %s then %s", keys.Published, newKID, first.Signer.Key().KID)
	}
	if keys.Signer.Key().KID != newKID {
		t.Fatalf("signer = %s, want the new key %s", keys.Signer.Key().KID, newKID)
	}
	signVerifies(t, keys.Signer, keys.Published)
	signVerifies(t, first.Signer, keys.Published) // credentials signed before still verify

	// Usage errors.
	for _, args := range [][]string{{"keys"}, {"keys", "list"}, {"serve", "rotate"}} {
		if code := run(t.Context(), args, environ, io.Discard, io.Discard); code != 2 {
			t.Errorf("%v = %d, want 2", args, code)
		}
	}
}

// TestVCAlgChangeSignsWithNewestUntilRotate: after AALS_VC_ALG changes, a start keeps signing
// with the newest key (and warns); the next rotation makes a key of the new algorithm.
func TestVCAlgChangeSignsWithNewestUntilRotate(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	kr, _ := masterkey.Parse(masterkey.Generate())
	if _, err := credentialKeys(t.Context(), db, kr, testPublicURL, credential.AlgEdDSA, quiet, time.Now); err != nil {
		t.Fatal(err)
	}
	var logBuf syncBuffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	keys, err := credentialKeys(t.Context(), db, kr, testPublicURL, credential.AlgRS256, log, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if keys.Signer.Key().Alg != credential.AlgEdDSA || len(keys.Published) != 1 {
		t.Fatalf("signer alg = %s with %d keys, want the EdDSA key alone", keys.Signer.Key().Alg, len(keys.Published))
	}
	if !strings.Contains(logBuf.String(), "AALS_VC_ALG") {
		t.Errorf("no warning about AALS_VC_ALG: %s", logBuf.String())
	}
	kid, err := rotateCredentialKey(t.Context(), db, kr, testPublicURL, credential.AlgRS256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys, err = credentialKeys(t.Context(), db, kr, testPublicURL, credential.AlgRS256, quiet, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if keys.Signer.Key().KID != kid || keys.Signer.Key().Alg != credential.AlgRS256 || len(keys.Published) != 2 {
		t.Fatalf("after rotate: signer %s (%s), %d keys", keys.Signer.Key().KID, keys.Signer.Key().Alg, len(keys.Published))
	}
	signVerifies(t, keys.Signer, keys.Published)
}

// TestServedJWKSHasCredentialKeysOnly starts the wired app and reads its key set: the
// credential key and then the receipt key are published, the access-token key is not.
func TestServedJWKSHasCredentialKeysOnly(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	cfg := prodConfig(t, dbURL(db))
	cfg.VCAlg = credential.AlgEdDSA
	a, err := newApp(t.Context(), cfg, quiet, io.Discard, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	w := httptest.NewRecorder()
	a.api.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("jwks = %d: %s", w.Code, w.Body)
	}
	var set credential.JWKSet
	if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	cred, err := models.ListSigningKeys(t.Context(), db.Gorm, models.KeyCredential)
	if err != nil {
		t.Fatal(err)
	}
	access, err := models.ListSigningKeys(t.Context(), db.Gorm, models.KeyAccess)
	if err != nil || len(access) != 1 {
		t.Fatalf("access keys = %d, %v", len(access), err)
	}
	receipt, err := models.ListSigningKeys(t.Context(), db.Gorm, models.KeyReceipt)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || len(cred) != 1 || set.Keys[0].Kid != cred[0].KID || len(receipt) != 1 || set.Keys[1].Kid != receipt[0].KID {
		t.Fatalf("jwks = %s, want the credential key %v and the receipt key %v", w.Body, cred, receipt)
	}
	if strings.Contains(w.Body.String(), access[0].KID) {
		t.Errorf("jwks lists the access-token key %s", access[0].KID)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
