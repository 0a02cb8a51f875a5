package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/authtoken"
	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

// orgVerifyLayout is the data of the bulk verification benchmark: a million credentials held
// by 250,000 accounts (four each), issued over 550 days from 2024-11-01.
var orgVerifyLayout = scaleLayout{
	holders: 250_000,
	issued:  `date '2024-11-01' + (i % 550)`,
	through: `date_trunc('month', issued) + interval '25 months' - interval '1 day'`,
}

// benchNPI returns the n-th valid NPI of the benchmark: "1" and eight digits of n, then the
// check digit.
func benchNPI(n int) string {
	p := fmt.Sprintf("1%08d", n)
	for d := range 10 {
		if npi := p + fmt.Sprint(d); models.ValidNPI(npi) {
			return npi
		}
	}
	panic("no check digit")
}

// orgVerifyServer is a server with a receipt key, an approved org and its admin's token.
func orgVerifyServer(b *testing.B) (*api.Server, *models.DB, string, string) {
	b.Helper()
	db := pgtest.New(b)
	kr, _ := masterkey.New(bytes.Repeat([]byte{1}, 32))
	iss, _ := authtoken.NewIssuer("http://localhost:8080", time.Hour, time.Now, authtoken.NewKey())
	log := slog.New(slog.DiscardHandler)
	client, err := jobs.NewClient(jobs.Deps{DB: db, Log: log, Keyring: kr}, jobs.Config{})
	if err != nil {
		b.Fatal(err)
	}
	priv, _ := credential.GenerateKey(credential.AlgEdDSA)
	k, _ := credential.NewKey("http://localhost:8080", priv)
	signer, err := credential.NewSigner(k)
	if err != nil {
		b.Fatal(err)
	}
	srv := api.New(api.Config{Env: "development", PublicURL: "http://localhost:8080", AppURL: "http://localhost:8080"},
		api.Deps{DB: db, Log: log, Tokens: iss, Keyring: kr, Jobs: client,
			ReceiptKeys: &api.IssuerKeys{Signer: signer, Published: []credential.PublicKey{k.Public()}}})
	ctx := context.Background()
	u := &models.User{Email: "office@hospital.example", Name: "Credentialing Office"}
	if err := models.CreateUser(ctx, db.Gorm, u); err != nil {
		b.Fatal(err)
	}
	tok, _, _ := iss.Issue(u.ID.String(), false)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/orgs", bytes.NewReader([]byte(`{"name":"General Hospital"}`)))
	r.Header.Set("Authorization", "Bearer "+tok)
	r.Header.Set("Content-Type", "application/json")
	srv.ServeHTTP(w, r)
	var org struct{ ID uuid.UUID }
	if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &org) != nil {
		b.Fatalf("create org = %d %s", w.Code, w.Body)
	}
	if _, err := models.ApproveOrg(ctx, db.Gorm, org.ID, u.ID, time.Now()); err != nil {
		b.Fatal(err)
	}
	return srv, db, org.ID.String(), tok
}

// BenchmarkOrgVerifyBulk times POST /v1/orgs/{orgID}/verifications end to end through the
// router with 10,000 items against a million credentials: all codes (three in four known, the
// rest unknown), and a mix of 8,000 codes and 2,000 NPI queries. Each request stores its
// verification, subjects and signed receipt and counts its NPI lookups. Seeding happens once, outside the timed loops.
func BenchmarkOrgVerifyBulk(b *testing.B) {
	srv, db, orgID, tok := orgVerifyServer(b)
	start := time.Now()
	seedScale(b, db, orgVerifyLayout)
	const withNPI = 50_000
	idx := make(pq.Int64Array, withNPI)
	npis := make(pq.StringArray, withNPI)
	for i := range withNPI {
		idx[i], npis[i] = int64(i), benchNPI(i)
	}
	if _, err := db.Pool.Exec(context.Background(), `UPDATE users SET npi = t.npi
		FROM unnest($1::bigint[], $2::text[]) AS t(u, npi) WHERE users.id = md5('holder-' || t.u)::uuid`, idx, npis); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d credentials, %d holders (%d with an NPI) in %s", scaleCredentials, orgVerifyLayout.holders, withNPI,
		time.Since(start).Round(100*time.Millisecond))
	codes := sampleCodes(b, db, 20_000)
	bodies := map[string][]byte{}
	items := make([]map[string]string, 10_000)
	for i := range items {
		items[i] = map[string]string{"code": codes[i%len(codes)]}
		if i%4 == 3 {
			items[i] = map[string]string{"code": fmt.Sprintf("AALS-ZZZZ-%04d", i)}
		}
	}
	bodies["Codes10000"], _ = json.Marshal(map[string]any{"items": items})
	for i := range items {
		items[i] = map[string]string{"code": codes[(i+10_000)%len(codes)]}
		if i%5 == 4 {
			items[i] = map[string]string{"npi": benchNPI(i * 20 % (withNPI + 5_000)), "course": "AALS"} // some unknown
		}
	}
	bodies["Mixed8000Codes2000NPIs"], _ = json.Marshal(map[string]any{"items": items})
	for _, name := range []string{"Codes10000", "Mixed8000Codes2000NPIs"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				// The daily NPI cap would refuse the mix after ten requests; clearing the
				// counter is one tiny statement beside a request of 10,000 items.
				if _, err := db.Pool.Exec(context.Background(), `DELETE FROM npi_lookups`); err != nil {
					b.Fatal(err)
				}
				r := httptest.NewRequest("POST", "/v1/orgs/"+orgID+"/verifications", bytes.NewReader(bodies[name]))
				r.Header.Set("Authorization", "Bearer "+tok)
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, r)
				if w.Code != http.StatusCreated {
					b.Fatalf("POST verifications = %d %.500s", w.Code, w.Body)
				}
			}
		})
	}
}
