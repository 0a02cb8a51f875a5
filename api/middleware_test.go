package api_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/api"
)

func TestBodyAndErrorHandling(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := `{"email":"a@example.org","password":"` + strings.Repeat("x", 2<<20) + `","name":"A"}`
	e.run(t, []scenario{
		{name: "TooLarge", req: req{method: "POST", path: "/v1/auth/register", body: big}, wantStatus: 413, wantType: "payload-too-large"},
		{name: "BadJSON", req: req{method: "POST", path: "/v1/auth/register", body: `{"email":`}, wantStatus: 400, wantType: "malformed-request"},
		{name: "TrailingData", req: req{method: "POST", path: "/v1/auth/register", body: `{} {}`}, wantStatus: 400, wantType: "malformed-request"},
		{name: "WrongType", req: req{method: "POST", path: "/v1/auth/register", body: `{"email": 5}`}, wantStatus: 400, wantType: "malformed-request"},
		{name: "NotJSON", req: req{method: "POST", path: "/v1/auth/register", body: "email=a", ctype: "application/x-www-form-urlencoded"}, wantStatus: 415, wantType: "unsupported-media-type"},
	})
}

func TestPanicIsA500WithOnlyTheRequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.Echo().GET("/boom", func(c echo.Context) error { panic("secret detail 1234") })
	r := e.do(t, req{method: "GET", path: "/boom", unspecified: true})
	if r.Code != 500 || r.problemType() != "internal" {
		t.Fatalf("status %d type %q, want 500 internal", r.Code, r.problemType())
	}
	reqID := r.Header.Get("X-Request-Id")
	if reqID == "" || !strings.Contains(string(r.Body), reqID) {
		t.Errorf("body %s does not carry the request ID %q", r.Body, reqID)
	}
	if strings.Contains(string(r.Body), "secret detail") {
		t.Errorf("500 body leaks the cause: %s", r.Body)
	}
	// The server keeps serving after a panic.
	if r := e.do(t, req{method: "GET", path: "/healthz"}); r.Code != 200 {
		t.Errorf("healthz after panic = %d", r.Code)
	}
}

func TestClientAddressTrustsOnlyConfiguredProxies(t *testing.T) {
	t.Parallel()
	_, proxyNet, _ := net.ParseCIDR("192.0.2.0/24")
	cases := []struct {
		name string
		opts []envOption
		want string
	}{
		{name: "NoTrustedProxies", want: "192.0.2.10"},
		{name: "PeerIsTrustedProxy", opts: []envOption{func(c *api.Config, _ *api.Deps) { c.TrustedProxies = []*net.IPNet{proxyNet} }}, want: "203.0.113.7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.opts...)
			e.srv.Echo().GET("/ip", func(c echo.Context) error { return c.String(http.StatusOK, c.RealIP()) })
			r := httptest.NewRequest("GET", "/ip", nil)
			r.RemoteAddr = "192.0.2.10:5555"
			r.Header.Set("X-Forwarded-For", "203.0.113.7")
			w := httptest.NewRecorder()
			e.srv.ServeHTTP(w, r)
			if got := w.Body.String(); got != tc.want {
				t.Errorf("client address = %q, want %q", got, tc.want)
			}
		})
	}
}
