// Package api serves the HTTP API with Echo: routes.go lists every route, one file per
// resource, middleware, and problem.go for errors.
package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"github.com/aalscert/aalscert/authtoken"
	"github.com/aalscert/aalscert/billing"
	"github.com/aalscert/aalscert/linktoken"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

// Config is what the API needs from the process configuration.
type Config struct {
	Env            string // "development" or "production"
	PublicURL      string // base URL of this API, no trailing slash
	AppURL         string // base URL email links open, no trailing slash
	TrustedProxies []*net.IPNet
	BodyLimit      string // e.g. "1M"
	// AdminMFA makes platform-admin routes require a session opened with TOTP.
	AdminMFA bool
	// MailFrom is the sender of every email.
	MailFrom string
	// Location is the issuer's time zone (AALS_TIMEZONE): expiry days and renewal windows
	// are counted on its calendar. Nil means UTC.
	Location *time.Location
	// AllowLoopbackWebhooks accepts http://127.0.0.1, http://[::1] and http://localhost
	// webhook URLs and lets deliveries connect to loopback (local development only).
	AllowLoopbackWebhooks bool
}

// Deps are the services the API uses.
type Deps struct {
	DB       *models.DB
	Log      *slog.Logger
	Tokens   *authtoken.Issuer
	Keyring  *masterkey.Keyring
	Jobs     *river.Client[pgx.Tx]
	Billing  *billing.Client // Stripe; nil or without a key: offline payments only
	Registry *prometheus.Registry
	Now      func() time.Time
	// IssuerKeys are the credential signing keys; nil publishes none.
	IssuerKeys *IssuerKeys
	// ReceiptKeys sign org verification receipts (org_verifications.go); published in the
	// JWKS and at their kid URLs, never trusted as credential keys. Nil: no receipts.
	ReceiptKeys *IssuerKeys
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	db      *models.DB
	log     *slog.Logger
	tokens  *authtoken.Issuer
	keyring *masterkey.Keyring
	jobs    *river.Client[pgx.Tx]
	billing *billing.Client
	now     func() time.Time
	echo    *echo.Echo
	metrics *metrics
	// issuerKeys are the credential signing keys (issuer.go).
	issuerKeys *IssuerKeys
	// receiptKeys sign org verification receipts (org_verifications.go).
	receiptKeys *IssuerKeys
	// statusLists keeps the signed status lists (status_lists.go).
	statusLists statusListCache
	// links checks the signed renewal and unsubscribe links of reminder emails; nil without a
	// keyring, when every such link reads as invalid.
	links *linktoken.Codec
	// jobsUI is River's web UI behind the jobs dashboard (jobs_dashboard.go); nil without a
	// job client.
	jobsUI *riverui.Handler
}

// New builds the server and its routes.
func New(cfg Config, d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "1M"
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, db: d.DB, log: d.Log, tokens: d.Tokens, keyring: d.Keyring, jobs: d.Jobs, billing: d.Billing, now: d.Now}
	s.issuerKeys = d.IssuerKeys
	s.receiptKeys = d.ReceiptKeys
	s.links = newLinkCodec(d)
	s.metrics = newMetrics(d.Registry, d.DB, d.Now)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.httpErrorHandler
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	e.Binder = strictBinder{}
	s.echo = e
	s.middleware()
	s.routes()
	return s
}

// Echo returns the router, for tests and for mounting.
func (s *Server) Echo() *echo.Echo { return s.echo }

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// ipExtractor believes X-Forwarded-For only from peers in trusted.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// today returns now on the issuer's calendar.
func (s *Server) today() time.Time { return s.now().In(s.cfg.Location) }

// ctx returns the request's context.
func ctx(c echo.Context) context.Context { return c.Request().Context() }
