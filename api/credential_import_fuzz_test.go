package api_test

import (
	"testing"
)

// FuzzImportCSV posts arbitrary files to the legacy import: whatever the bytes, the answer is
// a per-row report (200) or a problem for the whole file (413, 422), never a 500, always as the
// spec describes it; and every row of a report is accounted for.
func FuzzImportCSV(f *testing.F) {
	e := newEnv(f)
	e.seedCourses(f)
	admin := e.token(f, e.adminUser(f))
	for _, seed := range []string{
		"name,email,course,issued,valid_through,legacy_id\nAna Reyes,ana@example.org,AALS,2025-03-14,2027-03-31,L-1\n",
		"\ufeffName,E-mail,Course,Issued,Valid Through,Legacy ID\r\n\"Núñez, José\",jose@example.org,acls,2024-12-31,2026-12-31,L-2\r\n",
		"name,email,course,issued,valid_through,legacy_id\nBo,not-an-email,XYZ,2031-01-01,2020-01-01,\n,,,,,\n",
		"name,email\nonly,two\n",
		"name,email,course,issued,valid_through,legacy_id\n\"unterminated,quote\n",
		"", "\xff\xfe", "a,b,c\n1,2,3,4,5,6,7\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := e.do(t, req{method: "POST", path: "/v1/admin/credentials/import", token: admin, body: body, ctype: "text/csv"})
		switch r.Code {
		case 200:
			var out struct {
				Created, Existing, Failed int
				Rows                      []struct{ Status string }
			}
			r.decode(t, &out)
			if out.Created+out.Existing+out.Failed != len(out.Rows) {
				t.Fatalf("counts %d+%d+%d for %d rows", out.Created, out.Existing, out.Failed, len(out.Rows))
			}
		case 413, 422:
		default:
			t.Fatalf("%d for %q: %s", r.Code, body, truncate(r.Body))
		}
	})
}
