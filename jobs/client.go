// Package jobs runs the service's background work on River, against the same PostgreSQL as
// everything else: the client, one worker per file, and the periodic schedules.
package jobs

import (
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/aalscert/aalscert/linktoken"
	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

// Config tunes the River client.
type Config struct {
	// RunWorkers makes this client work jobs; false gives an insert-only client.
	RunWorkers bool
	MaxWorkers int
	// FetchCooldown and FetchPollInterval trade database load for latency (see README).
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
}

// Deps are what the workers use.
type Deps struct {
	DB      *models.DB
	Log     *slog.Logger
	Keyring *masterkey.Keyring
	Sender  mail.Sender // nil: messages are recorded as "logged", not sent
	Now     func() time.Time
	// Location is the issuer's time zone (AALS_TIMEZONE): credentials issued by a job are
	// dated on its calendar. Nil means UTC.
	Location *time.Location
	// PublicURL (AALS_PUBLIC_URL) is where credentials are verified: the QR code and links of
	// certificates and emails point there, and the first issuance records it.
	PublicURL string
	// AppURL (AALS_APP_URL) is the front end that links in emails open.
	AppURL string
	// Links signs the renewal and unsubscribe links of reminders. Nil: NewClient derives it
	// from Keyring ("link-token"), as the API does, so both accept each other's tokens.
	Links *linktoken.Codec
	// AllowLoopbackWebhooks lets webhook deliveries reach loopback addresses (local
	// development only; see webhookhttp).
	AllowLoopbackWebhooks bool
}

// NewClient returns a River client on the shared pool with every worker registered.
func NewClient(d Deps, cfg Config) (*river.Client[pgx.Tx], error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Location == nil {
		d.Location = time.UTC
	}
	if d.Links == nil && d.Keyring != nil {
		links, err := linktoken.New(d.Keyring.DeriveKeys("link-token"), d.Now)
		if err != nil {
			return nil, err
		}
		d.Links = links
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &SendEmailWorker{deps: d})
	river.AddWorker(workers, &PruneWorker{deps: d})
	river.AddWorker(workers, &LapseEnrollmentsWorker{deps: d})
	river.AddWorker(workers, &GradeExpiredAttemptsWorker{deps: d})
	river.AddWorker(workers, &CredentialCreatedWorker{deps: d})
	river.AddWorker(workers, &ReminderScanWorker{deps: d})
	river.AddWorker(workers, &SendReminderWorker{deps: d})
	river.AddWorker(workers, &OrgDigestWorker{deps: d})
	river.AddWorker(workers, &CohortRemindersWorker{deps: d})
	river.AddWorker(workers, &WebhookDeliveryWorker{sender: NewWebhookSender(d)})
	river.AddWorker(workers, &OrgTimeEventsWorker{deps: d})

	rc := &river.Config{Logger: d.Log, Workers: workers}
	if cfg.RunWorkers {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: max(cfg.MaxWorkers, 1)}}
		rc.FetchCooldown = cfg.FetchCooldown
		rc.FetchPollInterval = cfg.FetchPollInterval
		rc.PeriodicJobs = periodicJobs()
	}
	return river.NewClient(riverpgxv5.New(d.DB.Pool), rc)
}
