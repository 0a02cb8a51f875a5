// Package pgtest gives tests a real PostgreSQL: a migrated database of their own, cloned from
// a template built once per test process, or a transaction that is rolled back.
//
// The server comes from TEST_DATABASE_URL (make test sets it). Without it, pgtest starts a
// throwaway cluster with scripts/pg.sh for the life of the test process.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/models"
)

var (
	setupOnce   sync.Once
	setupErr    error
	serverURL   string
	template    string
	shared      *models.DB
	clusterDir  string
	repoRootDir string
)

// Main runs the package's tests with a migrated template database and removes everything it
// made afterwards. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	teardown()
	os.Exit(code)
}

func setup() error {
	setupOnce.Do(func() { setupErr = doSetup() })
	return setupErr
}

func doSetup() error {
	ctx := context.Background()
	serverURL = os.Getenv("TEST_DATABASE_URL")
	if serverURL == "" {
		u, err := startCluster()
		if err != nil {
			return err
		}
		serverURL = u
	}
	template = "aals_tmpl_" + randomSuffix()
	if err := exec1(ctx, "CREATE DATABASE "+template); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	db, err := models.Open(ctx, withDB(serverURL, template), 4)
	if err != nil {
		return err
	}
	if _, err := models.Migrate(ctx, db, slog.New(slog.DiscardHandler)); err != nil {
		db.Close()
		return fmt.Errorf("migrate template: %w", err)
	}
	db.Close()
	name := "aals_shared_" + randomSuffix()
	if err := exec1(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		return err
	}
	shared, err = models.Open(ctx, withDB(serverURL, name), 20)
	return err
}

func teardown() {
	if setupErr != nil || serverURL == "" {
		stopCluster()
		return
	}
	ctx := context.Background()
	if shared != nil {
		name := shared.Pool.Config().ConnConfig.Database
		shared.Close()
		_ = exec1(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	if template != "" {
		_ = exec1(ctx, "DROP DATABASE IF EXISTS "+template+" WITH (FORCE)")
	}
	stopCluster()
}

// URL returns the URL of a new empty database (no schema), dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, "template0")
}

// Empty returns a new database with no schema, for migration tests.
func Empty(t testing.TB) *models.DB {
	t.Helper()
	return open(t, newDatabase(t, "template0"))
}

// New returns a new migrated database of the test's own, dropped when the test ends. Use it
// for tests that commit: workers, concurrency, the API.
func New(t testing.TB) *models.DB {
	t.Helper()
	return open(t, newDatabase(t, ""))
}

// Tx returns a transaction on a migrated database shared by the process, rolled back when
// the test ends.
func Tx(t testing.TB) *gorm.DB {
	t.Helper()
	if err := setup(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	tx := shared.Gorm.Begin()
	if tx.Error != nil {
		t.Fatalf("pgtest: begin: %v", tx.Error)
	}
	t.Cleanup(func() { tx.Rollback() })
	return tx
}

func newDatabase(t testing.TB, from string) string {
	if err := setup(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if from == "" {
		from = template
	}
	ctx := context.Background()
	name := "aals_test_" + randomSuffix()
	if err := exec1(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, from)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := exec1(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	return withDB(serverURL, name)
}

func open(t testing.TB, u string) *models.DB {
	db, err := models.Open(context.Background(), u, 20)
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

func exec1(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func withDB(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RepoRoot returns the module's root directory.
func RepoRoot() string {
	if repoRootDir == "" {
		_, file, _, _ := runtime.Caller(0)
		repoRootDir = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	}
	return repoRootDir
}

func startCluster() (string, error) {
	dir, err := os.MkdirTemp("", "aals-pgtest-")
	if err != nil {
		return "", err
	}
	clusterDir = dir
	cmd := exec.Command("bash", filepath.Join(RepoRoot(), "scripts", "pg.sh"), "start", dir, "--fast")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("start PostgreSQL (set TEST_DATABASE_URL or run make test): %v\n%s", err, out)
	}
	u, err := os.ReadFile(filepath.Join(dir, "url"))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(u)), nil
}

func stopCluster() {
	if clusterDir == "" {
		return
	}
	_ = exec.Command("bash", filepath.Join(RepoRoot(), "scripts", "pg.sh"), "stop", clusterDir).Run()
	_ = os.RemoveAll(clusterDir)
}
