package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	mailpkg "github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/password"
)

// Config is the process configuration, read from the environment (see README).
type Config struct {
	Env                 string   `env:"AALS_ENV" envDefault:"development"`
	DatabaseURL         string   `env:"DATABASE_URL"`
	Addr                string   `env:"AALS_ADDR" envDefault:":8080"`
	PublicURL           string   `env:"AALS_PUBLIC_URL" envDefault:"http://localhost:8080"`
	AppURL              string   `env:"AALS_APP_URL"`
	Timezone            string   `env:"AALS_TIMEZONE" envDefault:"America/New_York"`
	VCAlg               string   `env:"AALS_VC_ALG" envDefault:"RS256"`
	TrustedProxies      []string `env:"AALS_TRUSTED_PROXIES" envSeparator:","`
	AdminEmail          string   `env:"AALS_ADMIN_EMAIL" envDefault:"admin@aalscert.localhost"`
	AdminPassword       string   `env:"AALS_ADMIN_PASSWORD"`
	MasterKey           string   `env:"AALS_MASTER_KEY"`
	Workers             bool     `env:"AALS_WORKERS" envDefault:"true"`
	StripeSecretKey     string   `env:"STRIPE_SECRET_KEY"`
	StripeWebhookSecret string   `env:"STRIPE_WEBHOOK_SECRET"`
	StripeAPIURL        string   `env:"STRIPE_API_URL"`
	SMTPURL             string   `env:"SMTP_URL"`
	MailFrom            string   `env:"MAIL_FROM" envDefault:"aalscert <no-reply@aalscert.localhost>"`
	// DataDir holds development-only state: the generated master key.
	DataDir  string `env:"AALS_DATA_DIR" envDefault:".data"`
	LogLevel string `env:"AALS_LOG_LEVEL" envDefault:"info"`
	// DevLoopbackWebhooks lets webhooks use http://127.0.0.1 and localhost URLs; ignored in
	// production.
	DevLoopbackWebhooks bool `env:"AALS_DEV_LOOPBACK_WEBHOOKS"`

	// Derived by Validate.
	location *time.Location
	proxies  []*net.IPNet
	keyring  *masterkey.Keyring
}

// Production reports whether the production requirements apply.
func (c *Config) Production() bool { return c.Env == "production" }

// StripeEnabled reports whether card payments are configured.
func (c *Config) StripeEnabled() bool { return c.StripeSecretKey != "" }

// loadConfig reads the configuration from environ (os.Environ() in production) and
// validates it, reporting every problem at once.
func loadConfig(environ map[string]string) (*Config, error) {
	cfg := &Config{}
	var problems []error
	if err := env.ParseWithOptions(cfg, env.Options{Environment: environ}); err != nil {
		var agg env.AggregateError
		if errors.As(err, &agg) {
			for _, e := range agg.Errors {
				problems = append(problems, envProblem(e))
			}
		} else {
			problems = append(problems, err)
		}
	}
	problems = append(problems, cfg.validate()...)
	if len(problems) > 0 {
		return nil, &configError{problems: problems}
	}
	return cfg, nil
}

// envProblem names the environment variable of a parse error instead of the Go field.
func envProblem(err error) error {
	var pe env.ParseError
	if errors.As(err, &pe) {
		if f, ok := reflect.TypeFor[Config]().FieldByName(pe.Name); ok {
			return fmt.Errorf("%s has an invalid value: %v", f.Tag.Get("env"), pe.Err)
		}
	}
	return err
}

// configError lists every configuration problem; it never contains a secret value.
type configError struct{ problems []error }

func (e *configError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d configuration problem(s):", len(e.problems))
	for _, p := range e.problems {
		b.WriteString("\n  - " + p.Error())
	}
	return b.String()
}

func (c *Config) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.Env != "development" && c.Env != "production" {
		bad("AALS_ENV must be development or production, not %q", c.Env)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.AppURL == "" {
		c.AppURL = c.PublicURL
	}
	c.AppURL = strings.TrimRight(c.AppURL, "/")
	for name, v := range map[string]string{"AALS_PUBLIC_URL": c.PublicURL, "AALS_APP_URL": c.AppURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			bad("%s must be an absolute http(s) URL without query, got %q", name, v)
		}
	}
	if c.Production() && !strings.HasPrefix(c.PublicURL, "https://") {
		bad("AALS_PUBLIC_URL must use https:// in production")
	}
	if c.Addr == "" {
		bad("AALS_ADDR must not be empty")
	} else if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("AALS_ADDR must be host:port or :port, got %q", c.Addr)
	}
	if loc, err := time.LoadLocation(c.Timezone); err != nil {
		bad("AALS_TIMEZONE %q is not a known time zone", c.Timezone)
	} else {
		c.location = loc
	}
	if c.VCAlg != "RS256" && c.VCAlg != "EdDSA" {
		bad("AALS_VC_ALG must be RS256 or EdDSA, not %q", c.VCAlg)
	}
	for _, entry := range c.TrustedProxies {
		p := strings.TrimSpace(entry)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			bad("AALS_TRUSTED_PROXIES entry %q is not a CIDR or address", strings.TrimSpace(entry))
			continue
		}
		c.proxies = append(c.proxies, n)
	}
	if _, err := mail.ParseAddress(c.AdminEmail); err != nil {
		bad("AALS_ADMIN_EMAIL is not an email address")
	}
	if c.AdminPassword != "" {
		if msg := password.Check(c.AdminPassword); msg != "" {
			bad("AALS_ADMIN_PASSWORD %s", msg)
		}
	}
	if c.MasterKey != "" {
		kr, err := masterkey.Parse(c.MasterKey)
		if err != nil {
			// The error names the position of the bad key, never its value.
			bad("AALS_MASTER_KEY: %v (generate one with: openssl rand -base64 32)", err)
		} else {
			c.keyring = kr
		}
	} else if c.Production() {
		bad("AALS_MASTER_KEY is required in production (generate one with: openssl rand -base64 32)")
	}
	if (c.StripeSecretKey == "") != (c.StripeWebhookSecret == "") {
		bad("STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set together")
	}
	if c.StripeAPIURL != "" {
		if u, err := url.Parse(c.StripeAPIURL); err != nil || u.Host == "" {
			bad("STRIPE_API_URL must be an absolute URL")
		}
	}
	if c.SMTPURL != "" {
		if _, err := mailpkg.ParseSMTPURL(c.SMTPURL); err != nil {
			bad("SMTP_URL: %v", err)
		}
	} else if c.Production() {
		bad("SMTP_URL is required in production")
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		bad("MAIL_FROM is not an email address")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		bad("AALS_LOG_LEVEL must be debug, info, warn or error")
	}
	return errs
}

// LogValue lists the configuration for logs with every secret left out.
func (c *Config) LogValue() slog.Value {
	set := func(s string) string {
		if s == "" {
			return "unset"
		}
		return "set"
	}
	return slog.GroupValue(
		slog.String("env", c.Env),
		slog.String("addr", c.Addr),
		slog.String("public_url", c.PublicURL),
		slog.String("app_url", c.AppURL),
		slog.String("timezone", c.Timezone),
		slog.String("vc_alg", c.VCAlg),
		slog.Int("trusted_proxies", len(c.proxies)),
		slog.Bool("workers", c.Workers),
		slog.String("master_key", set(c.MasterKey)),
		slog.String("stripe", set(c.StripeSecretKey)),
		slog.String("smtp", set(c.SMTPURL)),
		slog.String("database_url", set(c.DatabaseURL)),
	)
}

// ensureKeyring sets up the master keyring. In development without AALS_MASTER_KEY, a key
// is generated once into the data folder, with a warning.
func (c *Config) ensureKeyring(log *slog.Logger) (*masterkey.Keyring, error) {
	if c.keyring != nil {
		return c.keyring, nil
	}
	path := filepath.Join(c.DataDir, "master.key")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return nil, err
		}
		raw = []byte(masterkey.Generate())
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			return nil, err
		}
		log.Warn("AALS_MASTER_KEY is unset: generated a development master key", "path", path)
	} else if err != nil {
		return nil, err
	} else {
		log.Warn("AALS_MASTER_KEY is unset: using the development master key", "path", path)
	}
	kr, err := masterkey.Parse(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.keyring = kr
	return kr, nil
}

func environMap() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
