package api_test

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

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	aalscert "github.com/aalscert/aalscert"
	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/authtoken"
	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const publicURL = "http://localhost:8080"

// clock is an injected, settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is one API under test on a database of its own.
type env struct {
	t       testing.TB
	srv     *api.Server
	db      *models.DB
	keyring *masterkey.Keyring
	clock   *clock
	cfg     api.Config
	tokens  *authtoken.Issuer
	jobs    *river.Client[pgx.Tx] // insert-only: jobs queue in river_job and run only when a test works them
}

// envOption adjusts the configuration and the services before the server is built.
type envOption func(*api.Config, *api.Deps)

// withAdminMFA makes platform-admin routes require TOTP, as in production.
func withAdminMFA(c *api.Config, _ *api.Deps) { c.AdminMFA = true }

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	db := pgtest.New(t)
	kr, err := masterkey.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)}
	tokens, err := authtoken.NewIssuer(publicURL, 15*time.Minute, clk.Now, authtoken.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	client, err := jobs.NewClient(jobs.Deps{DB: db, Log: log, Keyring: kr, Now: clk.Now, PublicURL: publicURL, AppURL: publicURL}, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{Env: "development", PublicURL: publicURL, AppURL: publicURL, MailFrom: "aalscert <no-reply@localhost>"}
	deps := api.Deps{DB: db, Log: log, Tokens: tokens, Keyring: kr, Jobs: client, Now: clk.Now, IssuerKeys: testIssuerKeys(t), ReceiptKeys: testIssuerKeys(t)}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	srv := api.New(cfg, deps)
	return &env{t: t, srv: srv, db: db, keyring: kr, clock: clk, cfg: cfg, tokens: tokens, jobs: client}
}

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

func spec(t testing.TB) routers.Router {
	specOnce.Do(func() {
		for _, ct := range []string{"text/html", "application/yaml", "text/csv", "application/vc+jwt", "application/pdf"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(aalscert.OpenAPI)
		if err != nil {
			specErr = err
			return
		}
		if err = doc.Validate(context.Background()); err != nil {
			specErr = err
			return
		}
		specRouter, specErr = legacy.NewRouter(doc)
	})
	if specErr != nil {
		t.Fatalf("openapi.yaml: %v", specErr)
	}
	return specRouter
}

// req is one request in a scenario.
type req struct {
	method  string
	path    string
	token   string // bearer credential
	body    any    // marshalled as JSON unless string or []byte
	ctype   string // default application/json when body is set
	headers map[string]string
	// unspecified marks a request to a path the spec deliberately lacks (e.g. unknown routes).
	unspecified bool
}

// resp is a response, already checked against the spec.
type resp struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r *resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// problemType returns the problem code (the last segment of "type"), or "".
func (r *resp) problemType() string {
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(r.Body, &p)
	return strings.TrimPrefix(p.Type, publicURL+"/problems/")
}

// do sends the request through the real router and validates the response against
// openapi.yaml.
func (e *env) do(t testing.TB, q req) *resp {
	t.Helper()
	var body io.Reader
	var raw []byte
	switch b := q.body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	if q.body != nil {
		body = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(q.method, q.path, body)
	r.RemoteAddr = "192.0.2.10:40000"
	if q.body != nil {
		ct := q.ctype
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	if q.token != "" {
		r.Header.Set("Authorization", "Bearer "+q.token)
	}
	for k, v := range q.headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	out := &resp{Code: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
	if q.unspecified {
		if out.Code >= 400 && !strings.HasPrefix(out.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s: error response has Content-Type %q, want application/problem+json", q.method, q.path, out.Header.Get("Content-Type"))
		}
		return out
	}
	validate(t, q, raw, out)
	return out
}

func validate(t testing.TB, q req, reqBody []byte, out *resp) {
	t.Helper()
	vr := httptest.NewRequest(q.method, q.path, bytes.NewReader(reqBody))
	vr.Header.Set("Content-Type", "application/json")
	route, params, err := spec(t).FindRoute(vr)
	if err != nil {
		t.Errorf("%s %s: not in openapi.yaml: %v", q.method, q.path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request: vr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true},
	}
	rv := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 out.Code,
		Header:                 out.Header,
		Body:                   io.NopCloser(bytes.NewReader(out.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), rv); err != nil {
		t.Errorf("%s %s → %d does not match openapi.yaml: %v\nbody: %s", q.method, q.path, out.Code, err, truncate(out.Body))
	}
}

func truncate(b []byte) string {
	if len(b) > 800 {
		return string(b[:800]) + "…"
	}
	return string(b)
}

// scenario is one row of a table-driven API test.
type scenario struct {
	name       string
	req        req
	wantStatus int
	wantType   string // problem code, for errors
}

func (e *env) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := e.do(t, sc.req)
			if r.Code != sc.wantStatus {
				t.Fatalf("status = %d, want %d; body: %s", r.Code, sc.wantStatus, truncate(r.Body))
			}
			if sc.wantType != "" {
				if got := r.problemType(); got != sc.wantType {
					t.Fatalf("problem type = %q, want %q; body: %s", got, sc.wantType, truncate(r.Body))
				}
			}
		})
	}
}

// mails returns the full (unredacted) messages sent to an address, oldest first.
func (e *env) mails(t testing.TB, to string) []mail.Message {
	t.Helper()
	rows, _, err := models.ListOutboxMessages(context.Background(), e.db.Gorm, models.OutboxFilter{To: to, Page: models.Page{Limit: 200}})
	if err != nil {
		t.Fatal(err)
	}
	var out []mail.Message
	for i := len(rows) - 1; i >= 0; i-- {
		plain, err := e.keyring.Open(rows[i].Sealed, mail.SealAAD(rows[i].ID))
		if err != nil {
			t.Fatalf("open sealed outbox message %s: %v", rows[i].ID, err)
		}
		var m mail.Message
		if err := json.Unmarshal(plain, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// lastMail returns the newest message to an address, failing if there is none.
func (e *env) lastMail(t testing.TB, to string) mail.Message {
	t.Helper()
	ms := e.mails(t, to)
	if len(ms) == 0 {
		t.Fatalf("no email to %s", to)
	}
	return ms[len(ms)-1]
}

// tokenFromLink returns the token query parameter (or last path segment) of the first link in
// text that starts with prefix.
func tokenFromLink(t testing.TB, text, prefix string) string {
	t.Helper()
	i := strings.Index(text, prefix)
	if i < 0 {
		t.Fatalf("no link starting with %s in:\n%s", prefix, text)
	}
	link := text[i:]
	if j := strings.IndexAny(link, " \n\r\t\"<"); j >= 0 {
		link = link[:j]
	}
	if k := strings.Index(link, "token="); k >= 0 {
		return link[k+len("token="):]
	}
	return link[strings.LastIndex(link, "/")+1:]
}
