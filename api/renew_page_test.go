package api_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/linktoken"
	"github.com/aalscert/aalscert/models"
)

// renewalHolder stores a holder with an AALS credential issued at the env's clock
// (2026-11-21, so valid through 2028-11-30) and moves the clock to 2028-10-01, 60 days before
// it expires and inside its renewal window. It returns the holder and the credential.
func (e *env) renewalHolder(t testing.TB, email string) (*models.User, *models.Credential) {
	t.Helper()
	e.seedCourses(t)
	u, _ := e.user(t, email)
	cr := e.issueCredential(t, u, "AALS")
	e.clock.Advance(time.Date(2028, 10, 1, 15, 0, 0, 0, time.UTC).Sub(e.clock.Now()))
	return u, cr
}

// renewPath is the renewal link of the credential, signed now and valid for 30 days.
func (e *env) renewPath(t testing.TB, cr *models.Credential) string {
	t.Helper()
	return "/renew?token=" + e.linkCodec(t).Sign(linktoken.PurposeRenew, cr.ID.String(), 30*24*time.Hour)
}

// renewForm is the renewal page's form, sent from its own page.
func renewForm(path, email, password string) req {
	body := url.Values{"email": {email}, "password": {password}}.Encode()
	return req{method: "POST", path: path, body: body, ctype: "application/x-www-form-urlencoded",
		headers: map[string]string{"Sec-Fetch-Site": "same-origin"}}
}

// renewals returns the user's renewal enrollments with their order IDs, oldest first.
func (e *env) renewals(t testing.TB, userID uuid.UUID) []models.Enrollment {
	t.Helper()
	var rows []models.Enrollment
	if err := e.db.Gorm.Where("user_id = ? AND offering = 'renewal'", userID).Order("created_at").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestRenewPageShowsCredentialAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	now := e.clock.Now()
	totp, _ := e.user(t, "totp@example.org", func(u *models.User) { u.TOTPEnabledAt = &now })
	totpCred := e.issueCredential(t, totp, "AALS")
	ana, cr := e.renewalHolder(t, "ana@example.org")
	path := e.renewPath(t, cr)
	for range 2 {
		body := e.htmlPage(t, req{method: "GET", path: path}, 200, cr.Code, "Advanced Anesthesia Life Support", "(AALS)", "2028-11-30",
			`action="`+path+`"`, `name="password"`)
		if strings.Contains(body, "totp_code") {
			t.Error("the form asks for a TOTP code of an account without TOTP")
		}
	}
	if n := len(e.renewals(t, ana.ID)); n != 0 {
		t.Fatalf("opening the page made %d renewal enrollments, want 0", n)
	}
	if n := e.count(t, `SELECT count(*) FROM orders WHERE buyer_id = $1`, ana.ID); n != 0 {
		t.Fatalf("opening the page made %d orders, want 0", n)
	}

	totpPath := e.renewPath(t, totpCred)
	e.htmlPage(t, req{method: "GET", path: totpPath}, 200, `name="totp_code"`)
	e.htmlPage(t, renewForm(totpPath, totp.Email, fixturePassword), 401, "authenticator app", `name="totp_code"`)
	if n := len(e.renewals(t, totp.ID)); n != 0 {
		t.Fatalf("a sign-in without the TOTP code made %d renewal enrollments", n)
	}
}

func TestRenewPageOfflinePayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, cr := e.renewalHolder(t, "ana@example.org")
	path := e.renewPath(t, cr)

	t.Run("WrongPassword", func(t *testing.T) {
		e.htmlPage(t, renewForm(path, "ana@example.org", "not the password"), 401, "incorrect", `name="password"`, `value="ana@example.org"`)
		e.htmlPage(t, renewForm(path, "ana@example.org", ""), 422, "Enter your email address and password")
		if n := len(e.renewals(t, ana.ID)); n != 0 {
			t.Fatalf("%d renewal enrollments after failed sign-ins, want 0", n)
		}
	})
	t.Run("FromAnotherSite", func(t *testing.T) {
		q := renewForm(path, "ana@example.org", fixturePassword)
		q.headers["Sec-Fetch-Site"] = "cross-site"
		e.htmlPage(t, q, 403, "only be sent from its own page")
		if n := len(e.renewals(t, ana.ID)); n != 0 {
			t.Fatalf("%d renewal enrollments after a cross-site POST, want 0", n)
		}
	})

	var orderID string
	t.Run("Enrolls", func(t *testing.T) {
		body := e.htmlPage(t, renewForm(path, "ana@example.org", fixturePassword), 200, "waiting for payment", "USD ", "Order reference")
		rs := e.renewals(t, ana.ID)
		if len(rs) != 1 || rs[0].Status != models.EnrollmentPendingPayment || rs[0].CourseCode != "AALS" || rs[0].OrderID == nil {
			t.Fatalf("renewal enrollments = %+v, want one pending AALS renewal with an order", rs)
		}
		orderID = rs[0].OrderID.String()
		if !strings.Contains(body, orderID) {
			t.Errorf("the page does not show the order reference %s:\n%s", orderID, body)
		}
		var list struct {
			Items []struct {
				ID       string `json:"id"`
				Offering string `json:"offering"`
				Status   string `json:"status"`
			} `json:"items"`
		}
		e.do(t, req{method: "GET", path: "/v1/enrollments", token: e.token(t, ana)}).decode(t, &list)
		if len(list.Items) == 0 || list.Items[0].ID != rs[0].ID.String() || list.Items[0].Offering != "renewal" || list.Items[0].Status != "pending_payment" {
			t.Errorf("GET /v1/enrollments = %+v, want the pending renewal first", list.Items)
		}
	})
	t.Run("SecondPostContinuesTheSameOrder", func(t *testing.T) {
		e.htmlPage(t, renewForm(path, "ana@example.org", fixturePassword), 200, "waiting for payment", orderID)
		if rs := e.renewals(t, ana.ID); len(rs) != 1 {
			t.Fatalf("%d renewal enrollments after a second POST, want 1", len(rs))
		}
		if n := e.count(t, `SELECT count(*) FROM orders WHERE buyer_id = $1`, ana.ID); n != 1 {
			t.Fatalf("%d orders after a second POST, want 1", n)
		}
	})
	t.Run("Paid", func(t *testing.T) {
		e.markPaid(t, orderID)
		e.htmlPage(t, renewForm(path, "ana@example.org", fixturePassword), 200, "paid and open", "renewal exam")
		if rs := e.renewals(t, ana.ID); len(rs) != 1 || rs[0].Status != models.EnrollmentActive {
			t.Fatalf("renewal enrollments = %+v, want the one, active", rs)
		}
	})
}

func TestRenewPageConcurrentPostsMakeOneEnrollment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, cr := e.renewalHolder(t, "ana@example.org")
	path := e.renewPath(t, cr)
	codes := make([]int, 3)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do(t, renewForm(path, ana.Email, fixturePassword)).Code
		}()
	}
	wg.Wait()
	for i, code := range codes {
		if code != 200 {
			t.Errorf("POST %d = %d, want 200 (the order waiting for payment)", i+1, code)
		}
	}
	if rs := e.renewals(t, ana.ID); len(rs) != 1 {
		t.Fatalf("%d renewal enrollments after %d simultaneous POSTs, want 1", len(rs), len(codes))
	}
	if n := e.count(t, `SELECT count(*) FROM orders WHERE buyer_id = $1`, ana.ID); n != 1 {
		t.Fatalf("%d orders after %d simultaneous POSTs, want 1", n, len(codes))
	}
}

func TestRenewPageRedirectsToCheckout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	ana, cr := e.renewalHolder(t, "ana@example.org")
	path := e.renewPath(t, cr)
	get := e.do(t, req{method: "GET", path: path})
	if csp := get.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https:") {
		t.Errorf("page CSP %q does not let the form's answer redirect to checkout", csp)
	}
	var first string
	for i := range 2 {
		r := e.do(t, renewForm(path, "ana@example.org", fixturePassword))
		loc := r.Header.Get("Location")
		if r.Code != 303 || !strings.HasPrefix(loc, "https://") {
			t.Fatalf("POST %d = %d Location %q, want 303 to the checkout URL; body %s", i+1, r.Code, loc, truncate(r.Body))
		}
		if i == 0 {
			first = loc
		}
	}
	rs := e.renewals(t, ana.ID)
	if len(rs) != 1 || rs[0].Status != models.EnrollmentPendingPayment {
		t.Fatalf("renewal enrollments = %+v, want one pending after two POSTs", rs)
	}
	o, err := models.FindOrder(context.Background(), e.db.Gorm, *rs[0].OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if o.StripeCheckoutSessionID == nil || o.Offering != "renewal" || first == "" {
		t.Errorf("order = %+v, want a renewal order with a Checkout Session", o)
	}
}

func TestRenewPageRefusesAnotherAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, cr := e.renewalHolder(t, "ana@example.org")
	bo, _ := e.user(t, "bo@example.org")
	boCred := e.issueCredential(t, bo, "AALS")
	path := e.renewPath(t, cr)
	body := e.htmlPage(t, renewForm(path, "bo@example.org", fixturePassword), 403, "for another account")
	if strings.Contains(body, boCred.Code) || strings.Contains(body, bo.Name) {
		t.Errorf("the page shows the signed-in user's data:\n%s", body)
	}
	for _, u := range []*models.User{ana, bo} {
		if n := len(e.renewals(t, u.ID)); n != 0 {
			t.Errorf("%s has %d renewal enrollments, want 0", u.Email, n)
		}
	}
}

func TestRenewPageRefusesBadLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, cr := e.renewalHolder(t, "ana@example.org")
	links := e.linkCodec(t)
	good := links.Sign(linktoken.PurposeRenew, cr.ID.String(), time.Hour)
	for name, token := range map[string]string{
		"Missing":           "",
		"AlteredMAC":        good[:len(good)-2] + flipChars(good[len(good)-2:]),
		"UnsubscribeLink":   links.Sign(linktoken.PurposeUnsubscribe, cr.ID.String(), time.Hour),
		"UnknownCredential": links.Sign(linktoken.PurposeRenew, uuid.NewString(), time.Hour),
	} {
		t.Run(name, func(t *testing.T) {
			path := "/renew?token=" + token
			for _, q := range []req{{method: "GET", path: path}, renewForm(path, "ana@example.org", fixturePassword)} {
				body := e.htmlPage(t, q, 404, "This renewal link is not valid", "enroll in the renewal")
				if strings.Contains(body, cr.Code) || strings.Contains(body, "<form") {
					t.Errorf("%s shows the credential or a form:\n%s", q.method, body)
				}
			}
		})
	}
	e.clock.Advance(time.Hour + time.Second)
	path := "/renew?token=" + good
	for _, q := range []req{{method: "GET", path: path}, renewForm(path, "ana@example.org", fixturePassword)} {
		e.htmlPage(t, q, 410, "This renewal link has expired", "sign in to your account and enroll in the renewal")
	}
	if n := len(e.renewals(t, ana.ID)); n != 0 {
		t.Fatalf("bad links made %d renewal enrollments, want 0", n)
	}
}

func TestRenewPageExplainsIneligibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	early, _ := e.user(t, "early@example.org")
	earlyCred := e.issueCredential(t, early, "AALS")
	t.Run("TooEarly", func(t *testing.T) {
		path := e.renewPath(t, earlyCred)
		e.htmlPage(t, req{method: "GET", path: path}, 200, "renewal opens on 2028-09-01")
		e.htmlPage(t, renewForm(path, early.Email, fixturePassword), 403, "renewal opens on 2028-09-01")
		if n := len(e.renewals(t, early.ID)); n != 0 {
			t.Fatalf("%d renewal enrollments, want 0", n)
		}
	})
	revoked, _ := e.user(t, "revoked@example.org")
	revokedCred := e.issueCredential(t, revoked, "AALS")
	e.changeStatus(t, revokedCred.ID, models.ActionRevoked, "misconduct")
	e.clock.Advance(time.Date(2028, 10, 1, 15, 0, 0, 0, time.UTC).Sub(e.clock.Now()))
	t.Run("Revoked", func(t *testing.T) {
		path := e.renewPath(t, revokedCred)
		body := e.htmlPage(t, req{method: "GET", path: path}, 200, "was revoked")
		if strings.Contains(body, "<form") {
			t.Error("the page of a revoked credential shows the sign-in form")
		}
		e.htmlPage(t, renewForm(path, revoked.Email, fixturePassword), 403, "was revoked")
		if n := len(e.renewals(t, revoked.ID)); n != 0 {
			t.Fatalf("%d renewal enrollments, want 0", n)
		}
	})
	t.Run("TooLate", func(t *testing.T) {
		// 2028-11-30 + 30 days of grace: closed from 2028-12-31.
		e.clock.Advance(time.Date(2028, 12, 31, 15, 0, 0, 0, time.UTC).Sub(e.clock.Now()))
		path := e.renewPath(t, earlyCred)
		e.htmlPage(t, req{method: "GET", path: path}, 200, "renewal closed on 2028-12-30", "initial")
		e.htmlPage(t, renewForm(path, early.Email, fixturePassword), 403, "renewal closed on 2028-12-30")
		if n := len(e.renewals(t, early.ID)); n != 0 {
			t.Fatalf("%d renewal enrollments, want 0", n)
		}
	})
}
