package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestEveryRouteIsInTheSpec fails if any route registered in Echo is missing from openapi.yaml.
func TestEveryRouteIsInTheSpec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	router := spec(t)
	n := 0
	for _, r := range e.srv.Echo().Routes() {
		if r.Method == "echo_route_not_found" || strings.HasSuffix(r.Path, "/*") {
			continue
		}
		n++
		path := echoParam.ReplaceAllString(r.Path, "{$1}")
		// Fill path parameters so the spec router can match the concrete path.
		concrete := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "00000000-0000-4000-8000-000000000000")
		req, _ := http.NewRequest(r.Method, concrete, nil)
		route, _, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s is registered but not in openapi.yaml", r.Method, path)
			continue
		}
		if route.Path != path {
			t.Errorf("%s %s matched spec path %s, want the same template", r.Method, path, route.Path)
		}
	}
	if n < 5 {
		t.Fatalf("only %d routes registered", n)
	}
}

func TestOperationalRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.run(t, []scenario{
		{name: "Healthz", req: req{method: "GET", path: "/healthz"}, wantStatus: 200},
		{name: "Readyz", req: req{method: "GET", path: "/readyz"}, wantStatus: 200},
		{name: "Metrics", req: req{method: "GET", path: "/metrics"}, wantStatus: 200},
		{name: "Spec", req: req{method: "GET", path: "/openapi.yaml"}, wantStatus: 200},
		{name: "ProblemPage", req: req{method: "GET", path: "/problems/validation"}, wantStatus: 200},
		{name: "UnknownRouteIsProblem404", req: req{method: "GET", path: "/nope", unspecified: true}, wantStatus: 404, wantType: "not-found"},
		{name: "WrongMethodIsProblem405", req: req{method: "DELETE", path: "/healthz", unspecified: true}, wantStatus: 405, wantType: "method-not-allowed"},
	})
	// Metrics carry request counts by route and status, the DB pool and job counts.
	r := e.do(t, req{method: "GET", path: "/metrics"})
	for _, want := range []string{`aals_http_requests_total{method="GET",route="/healthz",status="200"}`, "aals_db_pool_connections", `aals_jobs{state="available"}`, "aals_jobs_discarded"} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestReadyzReportsSchemaBehind(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.Pool.Exec(t.Context(), `DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{{name: "Behind", req: req{method: "GET", path: "/readyz"}, wantStatus: 503}})
}
