package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// withNPI gives a fixture user an NPI.
func withNPI(npi string) userOption {
	return func(u *models.User) { u.NPI = &npi }
}

// orgVerificationBody is the answer of POST and GET /v1/orgs/{orgID}/verifications[/{id}].
type orgVerificationBody struct {
	ID       string `json:"id"`
	Verifier struct {
		Type, ID, Name string
	} `json:"verifier"`
	ItemCount     int                  `json:"item_count"`
	NPICount      int                  `json:"npi_count"`
	ResultsSHA256 string               `json:"results_sha256"`
	Results       []verificationResult `json:"results"`
	RawResults    json.RawMessage      `json:"-"`
	Receipt       string               `json:"receipt"`
}

type verificationResult struct {
	Index        int               `json:"index"`
	Query        map[string]string `json:"query"`
	Found        bool              `json:"found"`
	Status       string            `json:"status"`
	HolderName   string            `json:"holder_name"`
	Course       string            `json:"course"`
	Code         string            `json:"code"`
	ValidThrough string            `json:"valid_through"`
}

// verifyItems posts items as the caller and returns the answer, failing unless it is 201.
func (e *env) verifyItems(t *testing.T, token, orgID string, items ...map[string]string) (orgVerificationBody, *resp) {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgID + "/verifications", token: token, body: map[string]any{"items": items}})
	if r.Code != 201 {
		t.Fatalf("verify = %d %s", r.Code, truncate(r.Body))
	}
	var v orgVerificationBody
	r.decode(t, &v)
	var raw struct {
		Results json.RawMessage `json:"results"`
	}
	r.decode(t, &raw)
	v.RawResults = raw.Results
	return v, r
}

// canonicalDigest recomputes results_sha256 as a receipt's reader would: the results as JSON
// with keys sorted and no whitespace.
func canonicalDigest(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

func code(c string) map[string]string { return map[string]string{"code": c} }

func byNPI(npi, course string) map[string]string {
	return map[string]string{"npi": npi, "course": course}
}

func TestOrgVerifications(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	holder, holderTok := e.user(t, "holder@example.org", withNPI("1234567893"))
	aals := e.issueCredential(t, holder, "AALS")
	other, otherTok := e.user(t, "other@example.org", withNPI("1000000004"))
	otherACLS := e.issueCredential(t, other, "ACLS")
	_, adminTok := e.user(t, "office@hospital.test")
	orgID := e.org(t, adminTok, "General Hospital")
	e.approve(t, orgID)
	verifier, verifierTok := e.user(t, "verifier@hospital.test")
	e.addMember(t, orgID, verifier, models.RoleVerifier)
	member, memberTok := e.user(t, "nurse@hospital.test")
	e.addMember(t, orgID, member, models.RoleMember)
	_, key := e.apiKey(t, adminTok, orgID)

	t.Run("CodesAndNPIsInInputOrder", func(t *testing.T) {
		v, _ := e.verifyItems(t, verifierTok, orgID,
			code(strings.ToLower(aals.Code)), // 0: typed in lower case
			code("AALS-ZZZZ-ZZZZ"),           // 1: unknown
			byNPI("1234567893", "AALS"),      // 2: found by NPI
			byNPI("1000000012", "AALS"),      // 3: nobody has this NPI
			byNPI("1234567893", "ACLS"),      // 4: the holder has no ACLS credential
			code(aals.Code),                  // 5: a duplicate
			code(otherACLS.Code),             // 6: another holder
			byNPI("1234567893", "AALS"),      // 7: a duplicate NPI query
		)
		if len(v.Results) != 8 || v.ItemCount != 8 || v.NPICount != 4 {
			t.Fatalf("results = %d, item_count %d, npi_count %d; want 8, 8, 4", len(v.Results), v.ItemCount, v.NPICount)
		}
		wantFound := []bool{true, false, true, false, false, true, true, true}
		for i, r := range v.Results {
			if r.Index != i || r.Found != wantFound[i] {
				t.Errorf("result %d = index %d found %v, want index %d found %v", i, r.Index, r.Found, i, wantFound[i])
			}
		}
		for _, i := range []int{0, 2, 5, 7} {
			r := v.Results[i]
			if r.Code != aals.Code || r.Status != "active" || r.HolderName != aals.HolderName || r.Course != "AALS" ||
				r.ValidThrough != aals.ValidThrough.Format("2006-01-02") {
				t.Errorf("result %d = %+v, want holder's active AALS %s", i, r, aals.Code)
			}
		}
		if v.Results[0].Query["code"] != strings.ToLower(aals.Code) || v.Results[2].Query["npi"] != "1234567893" {
			t.Errorf("queries not echoed as sent: %v, %v", v.Results[0].Query, v.Results[2].Query)
		}
		if r := v.Results[6]; r.Code != otherACLS.Code || r.Course != "ACLS" {
			t.Errorf("result 6 = %+v, want the other holder's ACLS", r)
		}
		if v.Verifier.Type != "user" || v.Verifier.ID != verifier.ID.String() || v.Verifier.Name != verifier.Name {
			t.Errorf("verifier = %+v, want the verifying member", v.Verifier)
		}
		if n := e.count(t, `SELECT count(*) FROM verification_subjects WHERE verification_id = $1`, v.ID); n != 2 {
			t.Errorf("verification subjects = %d, want 2 (each credential once)", n)
		}
		if n := e.count(t, `SELECT count FROM npi_lookups WHERE org_id = $1`, orgID); n != 4 {
			t.Errorf("npi lookups counted = %d, want 4", n)
		}
	})

	t.Run("NPIAnswersWithTheCurrentCredential", func(t *testing.T) {
		// The holder renewed: the old credential is superseded by a newer one of the course.
		renewed := e.issueCredential(t, holder, "AALS")
		if _, err := e.db.Pool.Exec(context.Background(), `UPDATE credentials SET status = 'superseded', superseded_by = $2 WHERE id = $1`, aals.ID, renewed.ID); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			e.db.Pool.Exec(context.Background(), `UPDATE credentials SET status = 'active', superseded_by = NULL WHERE id = $1`, aals.ID)
		})
		v, _ := e.verifyItems(t, key, orgID, byNPI("1234567893", "AALS"), code(aals.Code))
		if r := v.Results[0]; !r.Found || r.Code != renewed.Code || r.Status != "active" {
			t.Errorf("by NPI = %+v, want the current credential %s", r, renewed.Code)
		}
		if r := v.Results[1]; !r.Found || r.Status != "superseded" {
			t.Errorf("old code = %+v, want it found as superseded", r)
		}
		if v.Verifier.Type != "api_key" || v.Verifier.Name != "LIMS" {
			t.Errorf("verifier = %+v, want the API key", v.Verifier)
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		tooMany := make([]map[string]string, 10001)
		for i := range tooMany {
			tooMany[i] = code("AALS-ZZZZ-ZZZZ")
		}
		_, outsiderTok := e.user(t, "someone@elsewhere.test")
		pendingOrg := e.org(t, outsiderTok, "Pending Clinic")
		path := "/v1/orgs/" + orgID + "/verifications"
		before := e.count(t, `SELECT count(*) FROM verifications`)
		e.run(t, []scenario{
			{name: "TooManyItems", req: req{method: "POST", path: path, token: verifierTok, body: map[string]any{"items": tooMany}}, wantStatus: 422, wantType: "validation"},
			{name: "NoItems", req: req{method: "POST", path: path, token: verifierTok, body: map[string]any{"items": []any{}}}, wantStatus: 422, wantType: "validation"},
			{name: "BadNPI", req: req{method: "POST", path: path, token: verifierTok, body: map[string]any{"items": []any{byNPI("1234567890", "AALS")}}}, wantStatus: 422, wantType: "validation"},
			{name: "UnknownCourse", req: req{method: "POST", path: path, token: verifierTok, body: map[string]any{"items": []any{byNPI("1234567893", "BLS")}}}, wantStatus: 422, wantType: "validation"},
			{name: "CodeAndNPI", req: req{method: "POST", path: path, token: verifierTok, body: map[string]any{"items": []any{map[string]string{"code": "x", "npi": "1234567893", "course": "AALS"}}}}, wantStatus: 422, wantType: "validation"},
			{name: "MemberWithoutRole", req: req{method: "POST", path: path, token: memberTok, body: map[string]any{"items": []any{code(aals.Code)}}}, wantStatus: 403, wantType: "forbidden"},
			{name: "AnotherOrg", req: req{method: "POST", path: path, token: outsiderTok, body: map[string]any{"items": []any{code(aals.Code)}}}, wantStatus: 404, wantType: "not-found"},
			{name: "UnapprovedOrg", req: req{method: "POST", path: "/v1/orgs/" + pendingOrg + "/verifications", token: outsiderTok, body: map[string]any{"items": []any{byNPI("1234567893", "AALS")}}}, wantStatus: 403, wantType: "org-not-approved"},
			{name: "NotSignedIn", req: req{method: "POST", path: path, body: map[string]any{"items": []any{code(aals.Code)}}}, wantStatus: 401, wantType: "unauthorized"},
		})
		if after := e.count(t, `SELECT count(*) FROM verifications`); after != before {
			t.Errorf("verifications went from %d to %d on refused requests", before, after)
		}
	})

	t.Run("NPICap", func(t *testing.T) {
		capOrg := e.org(t, adminTok, "Capped Hospital")
		e.approve(t, capOrg)
		if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO npi_lookups (org_id, day, count) VALUES ($1, $2, 19999)`,
			capOrg, e.clock.Now().Format("2006-01-02")); err != nil {
			t.Fatal(err)
		}
		path := "/v1/orgs/" + capOrg + "/verifications"
		e.run(t, []scenario{{name: "OverTheCap", req: req{method: "POST", path: path, token: adminTok,
			body: map[string]any{"items": []any{byNPI("1234567893", "AALS"), byNPI("1000000004", "ACLS")}}},
			wantStatus: 429, wantType: "npi-lookup-limit"}})
		if n := e.count(t, `SELECT count(*) FROM verifications WHERE org_id = $1`, capOrg); n != 0 {
			t.Errorf("verifications stored over the cap = %d, want 0", n)
		}
		if n := e.count(t, `SELECT count FROM npi_lookups WHERE org_id = $1`, capOrg); n != 19999 {
			t.Errorf("npi lookups = %d after a refused request, want 19999", n)
		}
		// The last lookup of the day still goes through, and codes are never capped.
		e.verifyItems(t, adminTok, capOrg, byNPI("1234567893", "AALS"), code(aals.Code))
		e.verifyItems(t, adminTok, capOrg, code(aals.Code))
	})

	t.Run("ReceiptVerifiesWithThePublishedKey", func(t *testing.T) {
		v, _ := e.verifyItems(t, verifierTok, orgID, code(aals.Code), byNPI("1000000004", "ACLS"))
		if got := canonicalDigest(t, v.RawResults); got != v.ResultsSHA256 {
			t.Errorf("results_sha256 = %s, recomputed %s", v.ResultsSHA256, got)
		}
		jwks := e.do(t, req{method: "GET", path: "/.well-known/jwks.json"})
		var set credential.JWKSet
		jwks.decode(t, &set)
		kid := receiptKID(t, v.Receipt)
		var keys []credential.PublicKey
		for _, j := range set.Keys {
			if j.Kid == kid {
				k, err := j.PublicKey()
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k)
			}
		}
		if len(keys) != 1 {
			t.Fatalf("receipt kid %s is in the JWKS %d times, want once", kid, len(keys))
		}
		ver, err := credential.NewVerifier(keys...)
		if err != nil {
			t.Fatal(err)
		}
		claims, err := ver.VerifySignature(v.Receipt)
		if err != nil {
			t.Fatalf("receipt does not verify with the published key: %v", err)
		}
		org := claims["org"].(map[string]any)
		verifierClaim := claims["verifier"].(map[string]any)
		if claims["jti"] != v.ID || claims["iss"] != publicURL+"/issuer" || claims["results_sha256"] != v.ResultsSHA256 ||
			org["name"] != "General Hospital" || verifierClaim["id"] != verifier.ID.String() ||
			!strings.Contains(fmt.Sprint(claims["statement"]), "primary source") || fmt.Sprint(claims["item_count"]) != "2" {
			t.Errorf("receipt claims = %v", claims)
		}
		parts := strings.Split(v.Receipt, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(bytes.Replace(payload, []byte(`"item_count":2`), []byte(`"item_count":3`), 1)) + "." + parts[2]
		if _, err := ver.VerifySignature(tampered); !errors.Is(err, credential.ErrSignature) {
			t.Errorf("tampered receipt: err = %v, want a signature failure", err)
		}
		// The kid URL serves the key; the did:web document lists credential keys only.
		tp := kid[strings.LastIndex(kid, "/")+1:]
		if r := e.do(t, req{method: "GET", path: "/keys/" + tp}); r.Code != 200 {
			t.Errorf("GET /keys/%s = %d, want the receipt key", tp, r.Code)
		}
		if did := e.do(t, req{method: "GET", path: "/.well-known/did.json"}); bytes.Contains(did.Body, []byte(tp)) {
			t.Errorf("did.json lists the receipt key %s: receipts are not credentials", tp)
		}
		// A receipt is not a credential: the credential verifier does not trust its key.
		r := e.do(t, req{method: "POST", path: "/v1/verify/vc", body: map[string]string{"vc": v.Receipt}})
		var vc vcVerification
		if r.Code == 200 {
			r.decode(t, &vc)
		}
		if r.Code == 200 && (vc.Valid || !slices.Contains(vc.failed(), "signature")) {
			t.Errorf("POST /v1/verify/vc with a receipt = valid %v, failed %v; want the signature check failed", vc.Valid, vc.failed())
		}
	})

	t.Run("StoredReceipt", func(t *testing.T) {
		e.clock.Advance(time.Minute) // so this one is the newest
		v, _ := e.verifyItems(t, key, orgID, code(aals.Code), code("AALS-ZZZZ-ZZZZ"))
		path := "/v1/orgs/" + orgID + "/verifications/" + v.ID
		r := e.do(t, req{method: "GET", path: path, token: verifierTok})
		if r.Code != 200 {
			t.Fatalf("GET = %d %s", r.Code, truncate(r.Body))
		}
		var got orgVerificationBody
		r.decode(t, &got)
		if got.Receipt != v.Receipt || len(got.Results) != 2 || !got.Results[0].Found || got.Results[1].Found ||
			got.Verifier.Type != "api_key" || got.ResultsSHA256 != v.ResultsSHA256 {
			t.Errorf("stored = %+v, want what POST answered", got)
		}
		var raw struct{ Results json.RawMessage }
		r.decode(t, &raw)
		if canonicalDigest(t, raw.Results) != v.ResultsSHA256 {
			t.Error("stored results do not match the signed digest")
		}
		pdf := e.do(t, req{method: "GET", path: path, token: key, headers: map[string]string{"Accept": "application/pdf"}})
		if pdf.Code != 200 || !bytes.HasPrefix(pdf.Body, []byte("%PDF")) || pdf.Header.Get("Content-Type") != "application/pdf" {
			t.Errorf("PDF = %d %q", pdf.Code, truncate(pdf.Body))
		}
		_, outsiderTok := e.user(t, "auditor@elsewhere.test")
		otherOrg := e.org(t, outsiderTok, "Elsewhere")
		e.approve(t, otherOrg)
		e.run(t, []scenario{
			{name: "AnotherOrgsVerification", req: req{method: "GET", path: "/v1/orgs/" + otherOrg + "/verifications/" + v.ID, token: outsiderTok}, wantStatus: 404, wantType: "not-found"},
			{name: "OutsiderOnThisOrg", req: req{method: "GET", path: path, token: outsiderTok}, wantStatus: 404, wantType: "not-found"},
			{name: "MemberWithoutRole", req: req{method: "GET", path: path, token: memberTok}, wantStatus: 403, wantType: "forbidden"},
			{name: "MalformedID", req: req{method: "GET", path: "/v1/orgs/" + orgID + "/verifications/nope", token: verifierTok}, wantStatus: 404, wantType: "not-found"},
		})
		list := e.do(t, req{method: "GET", path: "/v1/orgs/" + orgID + "/verifications?limit=2", token: key})
		var page struct {
			Items []struct {
				ID        string `json:"id"`
				ItemCount int    `json:"item_count"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		list.decode(t, &page)
		if list.Code != 200 || len(page.Items) != 2 || page.Items[0].ID != v.ID || page.NextCursor == "" {
			t.Fatalf("list = %d %s, want the newest first and a next page", list.Code, truncate(list.Body))
		}
		next := e.do(t, req{method: "GET", path: "/v1/orgs/" + orgID + "/verifications?cursor=" + page.NextCursor, token: key})
		if next.Code != 200 || bytes.Contains(next.Body, []byte(v.ID)) {
			t.Errorf("next page = %d, repeats the first page's verification", next.Code)
		}
	})

	t.Run("TenThousandItems", func(t *testing.T) {
		items := make([]map[string]string, 10000)
		for i := range items {
			items[i] = code(aals.Code)
			if i%2 == 1 {
				items[i] = byNPI("1000000004", "ACLS")
			}
		}
		v, _ := e.verifyItems(t, key, orgID, items...)
		if v.ItemCount != 10000 || len(v.Results) != 10000 || v.Results[9999].Index != 9999 || v.Results[9999].Code != otherACLS.Code {
			t.Fatalf("item_count %d, %d results, want all 10,000 in order", v.ItemCount, len(v.Results))
		}
		pdf := e.do(t, req{method: "GET", path: "/v1/orgs/" + orgID + "/verifications/" + v.ID, token: key,
			headers: map[string]string{"Accept": "application/pdf"}})
		if pdf.Code != 200 || !bytes.HasPrefix(pdf.Body, []byte("%PDF")) {
			t.Errorf("PDF of 10,000 results = %d", pdf.Code)
		}
	})

	t.Run("ProviderSeesWhoVerified", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/v1/me/verifications", token: holderTok})
		var page struct {
			Items []struct {
				Org         struct{ ID, Name string } `json:"org"`
				By          string                    `json:"by"`
				Credentials []struct{ Code, Course string }
			} `json:"items"`
		}
		r.decode(t, &page)
		if r.Code != 200 || len(page.Items) == 0 {
			t.Fatalf("me/verifications = %d %s", r.Code, truncate(r.Body))
		}
		bys := map[string]bool{}
		for _, it := range page.Items {
			if it.Org.ID != orgID && it.Org.Name != "Capped Hospital" {
				t.Errorf("verification by org %+v, want only the orgs that verified", it.Org)
			}
			if len(it.Credentials) == 0 || it.Credentials[0].Course != "AALS" {
				t.Errorf("credentials = %+v, want the holder's AALS", it.Credentials)
			}
			for _, c := range it.Credentials {
				if c.Code == otherACLS.Code {
					t.Errorf("the holder sees another provider's credential %s", c.Code)
				}
			}
			bys[it.By] = true
		}
		if !bys["user"] || !bys["api_key"] {
			t.Errorf("by = %v, want both a user and an API key", bys)
		}
		if bytes.Contains(r.Body, []byte(verifier.Name)) {
			t.Error("the provider sees the name of the org's staff member")
		}
		_, strangerTok := e.user(t, "stranger@example.org")
		s := e.do(t, req{method: "GET", path: "/v1/me/verifications", token: strangerTok})
		if s.Code != 200 || !bytes.Contains(s.Body, []byte(`"items":[]`)) {
			t.Errorf("a provider never verified sees %d %s, want no items", s.Code, truncate(s.Body))
		}
		o := e.do(t, req{method: "GET", path: "/v1/me/verifications", token: otherTok})
		if bytes.Contains(o.Body, []byte(aals.Code)) {
			t.Error("another provider sees the holder's verifications")
		}
		e.run(t, []scenario{{name: "NotSignedIn", req: req{method: "GET", path: "/v1/me/verifications"}, wantStatus: 401, wantType: "unauthorized"}})
	})
}

// receiptKID returns the kid of a receipt's header.
func receiptKID(t *testing.T, token string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var header struct{ Kid, Typ, Alg string }
	if err := json.Unmarshal(h, &header); err != nil {
		t.Fatal(err)
	}
	if header.Typ != "JWT" || header.Kid == "" {
		t.Fatalf("receipt header = %+v", header)
	}
	return header.Kid
}
