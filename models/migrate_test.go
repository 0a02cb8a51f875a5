package models_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

var quiet = slog.New(slog.DiscardHandler)

func TestMigrateConcurrentServersAreSafe(t *testing.T) {
	t.Parallel()
	db := pgtest.Empty(t)
	ctx := context.Background()

	if _, err := models.CheckSchema(ctx, db); !models.IsSchemaBehind(err) {
		t.Fatalf("CheckSchema on empty database = %v, want ErrSchemaBehind", err)
	}

	const servers = 4
	var wg sync.WaitGroup
	results := make([]*models.MigrationResult, servers)
	errs := make([]error, servers)
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = models.Migrate(ctx, db, quiet)
		}()
	}
	wg.Wait()
	applied, riverApplied := 0, 0
	for i := range servers {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		applied += len(results[i].Applied)
		riverApplied += len(results[i].RiverApplied)
	}
	st, err := models.CheckSchema(ctx, db)
	if err != nil {
		t.Fatalf("CheckSchema after migrate: %v", err)
	}
	// Exactly one migrator did the work; the others found nothing left to do.
	if int64(applied) != countSources(t, db) {
		t.Errorf("migrations applied across servers = %d, want %d (each once)", applied, countSources(t, db))
	}
	if riverApplied == 0 {
		t.Errorf("no River migrations applied")
	}
	if st.Current != st.Required || st.Ahead {
		t.Errorf("state = %+v, want current == required and not ahead", st)
	}
}

func countSources(t *testing.T, db *models.DB) int64 {
	var n int64
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCheckSchemaBehindAndAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Behind", func(t *testing.T) {
		t.Parallel()
		db := pgtest.New(t)
		if _, err := db.Pool.Exec(ctx,
			`DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`); err != nil {
			t.Fatal(err)
		}
		if _, err := models.CheckSchema(ctx, db); !models.IsSchemaBehind(err) {
			t.Fatalf("CheckSchema = %v, want ErrSchemaBehind", err)
		}
	})
	t.Run("RiverBehind", func(t *testing.T) {
		t.Parallel()
		db := pgtest.New(t)
		if _, err := db.Pool.Exec(ctx,
			`DELETE FROM river_migration WHERE version = (SELECT max(version) FROM river_migration)`); err != nil {
			t.Fatal(err)
		}
		if _, err := models.CheckSchema(ctx, db); !models.IsSchemaBehind(err) {
			t.Fatalf("CheckSchema = %v, want ErrSchemaBehind", err)
		}
	})
	t.Run("AheadIsTolerated", func(t *testing.T) {
		t.Parallel()
		db := pgtest.New(t)
		if _, err := db.Pool.Exec(ctx,
			`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`); err != nil {
			t.Fatal(err)
		}
		st, err := models.CheckSchema(ctx, db)
		if err != nil {
			t.Fatalf("CheckSchema = %v, want nil for a schema that is ahead", err)
		}
		if !st.Ahead || st.Current != 99999 {
			t.Errorf("state = %+v, want Ahead with current 99999", st)
		}
	})
}

type noopArgs struct{ N int }

func (noopArgs) Kind() string { return "test_noop" }

// TestInTxJoinsRiver proves that a job enqueued with the transaction's pgx side commits and
// rolls back together with rows written through GORM on the same transaction.
func TestInTxJoinsRiver(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	client, err := river.NewClient(riverpgxv5.New(db.Pool), &river.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	write := func(n int, fail bool) error {
		return db.InTx(ctx, func(tx models.Tx) error {
			if err := tx.DB.Exec(`INSERT INTO settings (key, value) VALUES (?, 'x')`, strconv.Itoa(n)).Error; err != nil {
				return err
			}
			if _, err := client.InsertTx(ctx, tx.Conn, noopArgs{N: n}, nil); err != nil {
				return err
			}
			// A nested GORM transaction becomes a savepoint, not a second BEGIN.
			if err := tx.DB.Transaction(func(inner *gorm.DB) error {
				return inner.Exec(`UPDATE settings SET value = 'y' WHERE key = ?`, strconv.Itoa(n)).Error
			}); err != nil {
				return err
			}
			if fail {
				return errors.New("boom")
			}
			return nil
		})
	}
	if err := write(1, false); err != nil {
		t.Fatalf("committed write: %v", err)
	}
	if err := write(2, true); err == nil {
		t.Fatal("failed write returned nil")
	}
	count := func(q string) int {
		var n int
		if err := db.Pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(`SELECT count(*) FROM settings WHERE key = '1' AND value = 'y'`); got != 1 {
		t.Errorf("committed rows = %d, want 1", got)
	}
	if got := count(`SELECT count(*) FROM settings WHERE key = '2'`); got != 0 {
		t.Errorf("rolled-back rows = %d, want 0", got)
	}
	if got := count(`SELECT count(*) FROM river_job WHERE kind = 'test_noop' AND args->>'N' = '1'`); got != 1 {
		t.Errorf("committed jobs = %d, want 1", got)
	}
	if got := count(`SELECT count(*) FROM river_job WHERE kind = 'test_noop' AND args->>'N' = '2'`); got != 0 {
		t.Errorf("rolled-back jobs = %d, want 0", got)
	}
	var _ pgx.Tx // the Conn side is a real pgx.Tx
}

// TestGormAndRiverShareOnePool proves GORM draws its connections from the pgx pool River
// uses: with every pool connection held, a GORM query cannot get one.
func TestGormAndRiverShareOnePool(t *testing.T) {
	t.Parallel()
	migrated := pgtest.New(t)
	db, err := models.Open(t.Context(), migrated.Pool.Config().ConnString(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.Gorm.Raw("SELECT 1").Scan(&n).Error; err != nil || n != 1 {
		t.Fatalf("gorm query = %d, %v", n, err)
	}
	before := db.Pool.Stat().AcquireCount()
	if err := db.Gorm.Raw("SELECT 1").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	// database/sql may keep an idle connection; either way a GORM query used the pool or
	// holds one of its connections. Hold every connection the pool has left.
	db.SQL.SetMaxIdleConns(0)
	c1, err := db.Pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Release()
	c2, err := db.Pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Release()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := db.Gorm.WithContext(ctx).Raw("SELECT 1").Scan(&n).Error; err == nil {
		t.Fatal("GORM ran a query while every pool connection was held: it has connections of its own")
	}
	if db.Pool.Stat().AcquireCount() <= before {
		t.Errorf("pool acquire count did not grow with GORM queries")
	}
}
