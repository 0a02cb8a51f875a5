// Command aalscert runs the aalscert service.
//
//	aalscert serve     migrate (in development), seed, and serve the API with its workers
//	aalscert worker    run background workers only (to scale them out)
//	aalscert migrate   apply schema migrations (the release step in production)
//	aalscert seed      create the platform admin and seed data
//	aalscert keys rotate  add a credential key of AALS_VC_ALG and a receipt key (old keys stay published)
//
// Configuration comes from environment variables; see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aalscert/aalscert/models"
)

const usage = `usage: aalscert <command>

commands:
  serve     migrate (in development), seed, and serve the API with its background workers
  worker    run background workers only
  migrate   apply schema migrations, then exit
  seed      create the platform admin and seed data, then exit
  keys rotate
            add a credential signing key of AALS_VC_ALG and a receipt signing key and
            print their kids; servers sign with them from their next start, and old
            keys stay published
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], environMap(), os.Stdout, os.Stderr))
}

// run executes a subcommand and returns the exit code.
func run(ctx context.Context, args []string, environ map[string]string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "keys" && args[1] == "rotate" {
		args = []string{"keys rotate"}
	}
	if len(args) != 1 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cfg, err := loadConfig(environ)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	log := newLogger(cfg, stderr)
	switch args[0] {
	case "serve":
		err = serve(ctx, cfg, log, stdout, nil)
	case "worker":
		err = worker(ctx, cfg, log, stdout)
	case "migrate":
		err = migrate(ctx, cfg, log, stdout)
	case "seed":
		err = seedCommand(ctx, cfg, log, stdout)
	case "keys rotate":
		err = keysRotate(ctx, cfg, log, stdout)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		log.Error(args[0]+" failed", "err", err)
		return 1
	}
	return 0
}

// newLogger logs JSON in production and text in development, to stderr.
func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Production() {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func openDB(ctx context.Context, cfg *Config) (*models.DB, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is required (make run starts a local PostgreSQL and sets it)")
	}
	cx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	db, err := models.Open(cx, cfg.DatabaseURL, 0)
	if err != nil {
		return nil, err
	}
	if err := db.Ping(cx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database unreachable: %w", err)
	}
	return db, nil
}

func migrate(ctx context.Context, cfg *Config, log *slog.Logger, out io.Writer) error {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := models.Migrate(ctx, db, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "migrations applied: %d (schema), %d (jobs)\n", len(res.Applied), len(res.RiverApplied))
	return nil
}

func seedCommand(ctx context.Context, cfg *Config, log *slog.Logger, out io.Writer) error {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := models.CheckSchema(ctx, db); err != nil {
		return err
	}
	return seed(ctx, db, cfg, out, time.Now())
}
