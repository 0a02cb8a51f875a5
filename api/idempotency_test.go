package api_test

import (
	"strings"
	"sync"
	"testing"
)

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.user(t, "idem@example.org")
	_, otherTok := e.user(t, "idem2@example.org")
	create := func(token, key, name string) req {
		return req{method: "POST", path: "/v1/orgs", token: token, body: map[string]string{"name": name},
			headers: map[string]string{"Idempotency-Key": key}}
	}
	countOrgs := func(name string) int {
		var n int
		if err := e.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM orgs WHERE name = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	first := e.do(t, create(tok, "k1", "Mercy"))
	again := e.do(t, create(tok, "k1", "Mercy"))
	if first.Code != 201 || again.Code != 201 || string(first.Body) != string(again.Body) {
		t.Fatalf("replay = %d %s, first = %d %s; want the same 201", again.Code, again.Body, first.Code, first.Body)
	}
	if again.Header.Get("Idempotent-Replayed") != "true" || first.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("Idempotent-Replayed first %q, replay %q", first.Header.Get("Idempotent-Replayed"), again.Header.Get("Idempotent-Replayed"))
	}
	if n := countOrgs("Mercy"); n != 1 {
		t.Errorf("orgs created = %d, want 1", n)
	}

	e.run(t, []scenario{
		{name: "SameKeyOtherBody", req: create(tok, "k1", "Mercy West"), wantStatus: 422, wantType: "idempotency-key-reused"},
		{name: "KeyTooLong", req: create(tok, strings.Repeat("k", 256), "X"), wantStatus: 422, wantType: "validation"},
		{name: "SameKeyOtherUser", req: create(otherTok, "k1", "Mercy"), wantStatus: 201},
		// An error is not kept: the same key then runs the corrected request.
		{name: "ErrorFirst", req: create(tok, "k2", ""), wantStatus: 422, wantType: "validation"},
		{name: "ThenValid", req: create(tok, "k2", "St. Luke"), wantStatus: 201},
		{name: "NoKeyCreatesAgain", req: req{method: "POST", path: "/v1/orgs", token: tok, body: map[string]string{"name": "St. Luke"}}, wantStatus: 201},
	})
	if n := countOrgs("Mercy"); n != 2 {
		t.Errorf("orgs named Mercy = %d, want 2 (one per user)", n)
	}

	// Concurrent retries of one request create one org; the others replay it or are told
	// the first is still running.
	const n = 12
	var wg sync.WaitGroup
	codes := make([]int, n)
	bodies := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do(t, create(tok, "k3", "Concurrent General"))
			codes[i], bodies[i] = r.Code, string(r.Body)
		}()
	}
	wg.Wait()
	var created string
	for i, code := range codes {
		switch code {
		case 201:
			if created != "" && bodies[i] != created {
				t.Errorf("two different 201 bodies for one key:\n%s\n%s", created, bodies[i])
			}
			created = bodies[i]
		case 409:
			if !strings.Contains(bodies[i], "idempotency-key-in-progress") {
				t.Errorf("409 body = %s", bodies[i])
			}
		default:
			t.Errorf("concurrent request %d = %d %s", i, code, bodies[i])
		}
	}
	if got := countOrgs("Concurrent General"); got != 1 {
		t.Errorf("orgs created by %d concurrent retries = %d, want 1", n, got)
	}
}
