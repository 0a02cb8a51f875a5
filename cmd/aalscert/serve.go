package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/billing"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/models"
)

// shutdownGrace bounds how long in-flight requests and running jobs get after SIGTERM.
const shutdownGrace = 20 * time.Second

// app is the wired service.
type app struct {
	cfg  *Config
	log  *slog.Logger
	db   *models.DB
	jobs *river.Client[pgx.Tx]
	api  *api.Server
}

// newApp connects, prepares the schema (migrating first in development), seeds, and wires
// the API and the job client. It refuses a schema that is behind this build.
func newApp(ctx context.Context, cfg *Config, log *slog.Logger, out io.Writer, runWorkers bool) (*app, error) {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, db: db}
	if err := a.prepare(ctx, out, runWorkers); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) prepare(ctx context.Context, out io.Writer, runWorkers bool) error {
	cfg, log, db := a.cfg, a.log, a.db
	if !cfg.Production() {
		if _, err := models.Migrate(ctx, db, log); err != nil {
			return err
		}
	}
	st, err := models.CheckSchema(ctx, db)
	if err != nil {
		return fmt.Errorf("refusing to serve: %w", err)
	}
	if st.Ahead {
		log.Warn("database schema is ahead of this build; continuing", "database", st.Current, "build", st.Required)
	}
	// Issued credentials name the public URL as their issuer and verification page, so a
	// server at another URL would break every one of them.
	if err := models.CheckPublicURL(ctx, db.Gorm, cfg.PublicURL); err != nil {
		return fmt.Errorf("refusing to serve: %w", err)
	}
	kr, err := cfg.ensureKeyring(log)
	if err != nil {
		return err
	}
	if err := seed(ctx, db, cfg, out, time.Now()); err != nil {
		return err
	}
	tokens, err := accessIssuer(ctx, db, kr, cfg.PublicURL, time.Now)
	if err != nil {
		return err
	}
	issuerKeys, err := credentialKeys(ctx, db, kr, cfg.PublicURL, cfg.VCAlg, log, time.Now)
	if err != nil {
		return err
	}
	receiptKeys, err := receiptKeys(ctx, db, kr, cfg.PublicURL, time.Now)
	if err != nil {
		return err
	}
	sender, err := a.mailSender(out)
	if err != nil {
		return err
	}
	a.jobs, err = jobs.NewClient(jobs.Deps{DB: db, Log: log, Keyring: kr, Sender: sender, Now: time.Now, Location: cfg.location,
		PublicURL: cfg.PublicURL, AppURL: cfg.AppURL, AllowLoopbackWebhooks: cfg.DevLoopbackWebhooks && !cfg.Production()}, jobs.Config{
		RunWorkers: runWorkers, MaxWorkers: 50,
		FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 500 * time.Millisecond,
	})
	if err != nil {
		return fmt.Errorf("job client: %w", err)
	}
	if !cfg.StripeEnabled() {
		log.Info("Stripe is not configured: offline payments only")
	}
	pay := billing.New(billing.Config{
		SecretKey: cfg.StripeSecretKey, WebhookSecret: cfg.StripeWebhookSecret, APIURL: cfg.StripeAPIURL,
		SuccessURL: cfg.AppURL + "/checkout/success?order={ORDER_ID}", CancelURL: cfg.AppURL + "/checkout/cancel?order={ORDER_ID}",
	})
	reg := prometheus.NewRegistry()
	a.api = api.New(api.Config{
		Env: cfg.Env, PublicURL: cfg.PublicURL, AppURL: cfg.AppURL, TrustedProxies: cfg.proxies,
		AdminMFA: cfg.Production(), MailFrom: cfg.MailFrom, Location: cfg.location,
		AllowLoopbackWebhooks: cfg.DevLoopbackWebhooks && !cfg.Production(),
	}, api.Deps{DB: db, Log: log, Tokens: tokens, Keyring: kr, Jobs: a.jobs, Billing: pay, Registry: reg, Now: time.Now, IssuerKeys: issuerKeys, ReceiptKeys: receiptKeys})
	return nil
}

// mailSender sends by SMTP when configured; in development without SMTP it prints each
// message to the terminal; otherwise messages are only recorded in the outbox.
func (a *app) mailSender(out io.Writer) (mail.Sender, error) {
	if a.cfg.SMTPURL != "" {
		return mail.NewSMTPSender(a.cfg.SMTPURL, a.cfg.MailFrom)
	}
	if !a.cfg.Production() {
		a.log.Info("SMTP_URL is unset: emails are recorded in the outbox and printed to the terminal")
		return mail.NewTerminalSender(out), nil
	}
	return nil, nil
}

func (a *app) close() { a.db.Close() }

// serve runs the API and (with AALS_WORKERS) the workers until ctx is cancelled, then stops
// accepting, finishes in-flight requests and running jobs (bounded), and returns nil.
func serve(ctx context.Context, cfg *Config, log *slog.Logger, out io.Writer, ln net.Listener) error {
	a, err := newApp(ctx, cfg, log, out, cfg.Workers)
	if err != nil {
		return err
	}
	defer a.close()
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler: a.api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 120 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.Workers {
		if err := a.jobs.Start(ctx); err != nil {
			return fmt.Errorf("start workers: %w", err)
		}
	}
	if err := a.api.Start(ctx); err != nil {
		return fmt.Errorf("start the jobs dashboard: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(out, "aalscert is serving on %s (public URL %s)\n", localURL(ln.Addr()), cfg.PublicURL)
	log.Info("serving", "config", cfg)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if cfg.Workers {
		if err := a.jobs.Stop(sctx); err != nil {
			log.Warn("stopping workers", "err", err)
		}
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return shutdownErr
}

// worker runs background workers only, until ctx is cancelled.
func worker(ctx context.Context, cfg *Config, log *slog.Logger, out io.Writer) error {
	a, err := newApp(ctx, cfg, log, out, true)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.jobs.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "aalscert worker is running")
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	return a.jobs.Stop(sctx)
}

func localURL(addr net.Addr) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); host == "" || ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
