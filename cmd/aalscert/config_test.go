package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/aalscert/aalscert/masterkey"
)

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(map[string]string{})
	if err != nil {
		t.Fatalf("loadConfig(empty) = %v", err)
	}
	if cfg.Addr != ":8080" || cfg.PublicURL != "http://localhost:8080" || cfg.AppURL != cfg.PublicURL ||
		cfg.Timezone != "America/New_York" || cfg.VCAlg != "RS256" || !cfg.Workers || cfg.Production() {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	secret := "sk_live_do_not_print_me"
	_, err := loadConfig(map[string]string{
		"AALS_ENV":             "production",
		"AALS_PUBLIC_URL":      "http://example.org",
		"AALS_TIMEZONE":        "Mars/Olympus",
		"AALS_VC_ALG":          "HS256",
		"AALS_TRUSTED_PROXIES": "10.0.0.0/8,not-a-cidr",
		"AALS_WORKERS":         "maybe",
		"STRIPE_SECRET_KEY":    secret,
		"AALS_ADMIN_PASSWORD":  "short",
	})
	if err == nil {
		t.Fatal("loadConfig accepted a bad configuration")
	}
	msg := err.Error()
	for _, want := range []string{
		"AALS_WORKERS", "https://", "AALS_TIMEZONE", "AALS_VC_ALG", "not-a-cidr",
		"AALS_MASTER_KEY is required", "SMTP_URL is required", "STRIPE_WEBHOOK_SECRET", "AALS_ADMIN_PASSWORD",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, secret) || strings.Contains(msg, "short") {
		t.Errorf("error prints a secret:\n%s", msg)
	}
}

func TestConfigProductionAccepted(t *testing.T) {
	cfg, err := loadConfig(map[string]string{
		"AALS_ENV": "production", "AALS_PUBLIC_URL": "https://certs.example.org/",
		"AALS_MASTER_KEY":      masterkey.Generate() + "," + masterkey.Generate(),
		"SMTP_URL":             "smtp://user:pass@mail.example.org:587",
		"AALS_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7",
	})
	if err != nil {
		t.Fatalf("loadConfig = %v", err)
	}
	if cfg.PublicURL != "https://certs.example.org" || len(cfg.proxies) != 2 || cfg.keyring == nil {
		t.Errorf("cfg = public %q, proxies %d, keyring %v", cfg.PublicURL, len(cfg.proxies), cfg.keyring != nil)
	}
}

func TestConfigLogValueHidesSecrets(t *testing.T) {
	key := masterkey.Generate()
	cfg, err := loadConfig(map[string]string{
		"AALS_MASTER_KEY": key, "SMTP_URL": "smtp://user:hunter2hunter2@127.0.0.1:2525",
		"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc",
		"DATABASE_URL": "postgres://u:dbpassword@127.0.0.1/x", "AALS_ADMIN_PASSWORD": "correct horse battery",
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("serving", "config", cfg)
	for _, secret := range []string{key, "hunter2hunter2", "sk_test_abc", "whsec_abc", "dbpassword", "correct horse battery"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log line contains a secret: %s", buf.String())
		}
	}
	if !strings.Contains(buf.String(), `"master_key":"set"`) {
		t.Errorf("log line = %s, want master_key set", buf.String())
	}
}
