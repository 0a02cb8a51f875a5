package credential

import (
	"net/url"
	"testing"
)

func TestLinkedInAddURL(t *testing.T) {
	p := LinkedInParams{
		Name:             "Advanced Cardiovascular Life Support (ACLS) & Airway",
		OrganizationName: "AALS Certification",
		IssueYear:        2026,
		IssueMonth:       3,
		ExpirationYear:   2028,
		ExpirationMonth:  3,
		CertURL:          "https://aals.example/verify/ACLS-7K3M-Q9TD?src=li",
		CertID:           "ACLS-7K3M-Q9TD",
	}
	got := LinkedInAddURL(p)
	want := "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME" +
		"&name=Advanced%20Cardiovascular%20Life%20Support%20%28ACLS%29%20%26%20Airway" +
		"&organizationName=AALS%20Certification" +
		"&issueYear=2026&issueMonth=3&expirationYear=2028&expirationMonth=3" +
		"&certUrl=https%3A%2F%2Faals.example%2Fverify%2FACLS-7K3M-Q9TD%3Fsrc%3Dli" +
		"&certId=ACLS-7K3M-Q9TD"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// Whatever the values hold, a query parser gets them back unchanged.
	p.Name = "a+b = c; 100% d/e?f#g"
	u, err := url.Parse(LinkedInAddURL(p))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for key, want := range map[string]string{
		"startTask":        "CERTIFICATION_NAME",
		"name":             p.Name,
		"organizationName": p.OrganizationName,
		"issueYear":        "2026",
		"issueMonth":       "3",
		"expirationYear":   "2028",
		"expirationMonth":  "3",
		"certUrl":          p.CertURL,
		"certId":           p.CertID,
	} {
		if q.Get(key) != want {
			t.Errorf("%s = %q, want %q", key, q.Get(key), want)
		}
	}
	if u.Host != "www.linkedin.com" || u.Path != "/profile/add" || u.Fragment != "" {
		t.Errorf("URL %s", u)
	}

	// No expiry: the expiration fields are left out.
	p.ExpirationYear, p.ExpirationMonth = 0, 0
	q, _ = url.ParseQuery(mustQuery(t, LinkedInAddURL(p)))
	if q.Has("expirationYear") || q.Has("expirationMonth") {
		t.Errorf("expiration present without one: %v", q)
	}
}

func mustQuery(t *testing.T, s string) string {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u.RawQuery
}
