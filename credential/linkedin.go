package credential

import (
	"net/url"
	"strconv"
	"strings"
)

// LinkedInParams are the fields of LinkedIn's "add certification to profile" form.
type LinkedInParams struct {
	Name             string // the certification's name, e.g. the course title
	OrganizationName string // the issuing organization
	IssueYear        int
	IssueMonth       int // 1–12
	ExpirationYear   int // 0 with ExpirationMonth 0: the certification does not expire
	ExpirationMonth  int
	CertURL          string // the public verification page
	CertID           string // the verification code
}

// LinkedInAddURL returns the link that opens LinkedIn's "add certification" form filled in
// with p. Parameters appear in a fixed order (that of the form); empty strings and zero numbers are
// left out. Values are percent-encoded with spaces as %20, which every query parser reads as a
// space (a "+" is not read so by all).
func LinkedInAddURL(p LinkedInParams) string {
	var b strings.Builder
	b.WriteString("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME")
	add := func(key, value string) {
		if value == "" {
			return
		}
		b.WriteString("&")
		b.WriteString(key)
		b.WriteString("=")
		// QueryEscape writes a literal "+" as %2B, so every "+" it returns is a space.
		b.WriteString(strings.ReplaceAll(url.QueryEscape(value), "+", "%20"))
	}
	num := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	add("name", p.Name)
	add("organizationName", p.OrganizationName)
	add("issueYear", num(p.IssueYear))
	add("issueMonth", num(p.IssueMonth))
	add("expirationYear", num(p.ExpirationYear))
	add("expirationMonth", num(p.ExpirationMonth))
	add("certUrl", p.CertURL)
	add("certId", p.CertID)
	return b.String()
}
