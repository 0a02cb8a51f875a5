package models

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockID is the advisory lock every migrator takes, so servers starting together
// apply migrations one at a time.
const migrationLockID int64 = 0x61616c73_6d696772 // "aalsmigr"

func gooseProvider(db *DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db.SQL, sub, goose.WithDisableGlobalRegistry(true))
}

// MigrationResult says what Migrate applied.
type MigrationResult struct {
	Applied      []int64
	RiverApplied []int
}

// Migrate applies this build's migrations and River's, holding a PostgreSQL advisory lock for
// the whole step.
func Migrate(ctx context.Context, db *DB, log *slog.Logger) (*MigrationResult, error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire migration connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID); err != nil {
			log.Warn("release migration lock", "err", err)
		}
	}()

	res := &MigrationResult{}
	rm, err := rivermigrate.New(riverpgxv5.New(db.Pool), &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, err
	}
	rres, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate river: %w", err)
	}
	for _, v := range rres.Versions {
		res.RiverApplied = append(res.RiverApplied, v.Version)
	}

	p, err := gooseProvider(db)
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate schema: %w", err)
	}
	for _, r := range results {
		res.Applied = append(res.Applied, r.Source.Version)
	}
	return res, nil
}

// SchemaState compares the database with this build.
type SchemaState struct {
	Current  int64 // highest applied version
	Required int64 // highest version this build knows
	Ahead    bool  // the database has versions this build does not know (tolerated)
}

// CheckSchema returns ErrSchemaBehind if the database lacks a migration this build needs
// (its own or River's). A database that is ahead is reported but accepted: an older server
// keeps running while a newer one expands the schema.
func CheckSchema(ctx context.Context, db *DB) (SchemaState, error) {
	var st SchemaState
	p, err := gooseProvider(db)
	if err != nil {
		return st, err
	}
	for _, s := range p.ListSources() {
		st.Required = max(st.Required, s.Version)
	}
	if err := db.Pool.QueryRow(ctx,
		`SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&st.Current); err != nil {
		return st, fmt.Errorf("%w (%v)", ErrSchemaBehind, err)
	}
	var missing int
	if err := db.Pool.QueryRow(ctx,
		`SELECT count(*) FROM unnest($1::bigint[]) v WHERE v NOT IN (SELECT version_id FROM goose_db_version WHERE is_applied)`,
		sourceVersions(p)).Scan(&missing); err != nil {
		return st, err
	}
	st.Ahead = st.Current > st.Required
	if missing > 0 {
		return st, fmt.Errorf("%w: %d of %d migrations missing", ErrSchemaBehind, missing, len(p.ListSources()))
	}
	rm, err := rivermigrate.New(riverpgxv5.New(db.Pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return st, err
	}
	vr, err := rm.Validate(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("%w (river: %v)", ErrSchemaBehind, err)
	}
	if !vr.OK {
		return st, fmt.Errorf("%w (river: %v)", ErrSchemaBehind, vr.Messages)
	}
	return st, nil
}

func sourceVersions(p *goose.Provider) []int64 {
	var vs []int64
	for _, s := range p.ListSources() {
		vs = append(vs, s.Version)
	}
	return vs
}

// IsSchemaBehind reports whether err says the schema is behind.
func IsSchemaBehind(err error) bool { return errors.Is(err, ErrSchemaBehind) }
