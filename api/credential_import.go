package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// Legacy imports: at most maxImportRows rows per request, in a body of at most
// importBodyLimit. The route sets this limit itself and the global (JSON-sized) one skips it
// (see hasOwnBodyLimit): a full file runs past 1 MiB.
const (
	maxImportRows   = 5000
	importBodyLimit = "8M"
	importBodyBytes = 8 << 20
	importRoute     = "/v1/admin/credentials/import"
)

// importColumns are the columns an import file names in its header row, in any order.
var importColumns = []string{"name", "email", "course", "issued", "valid_through", "legacy_id"}

// earliestLegacyIssue is the earliest issue date an import accepts: an older one is a typo in
// the records, not a credential that could still matter.
var earliestLegacyIssue = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// utf8BOM starts files that spreadsheets save as "CSV UTF-8".
var utf8BOM = []byte("\xef\xbb\xbf")

// importRoutes registers the platform admin's import of credentials from the records kept
// before this system.
func (s *Server) importRoutes(g *echo.Group) {
	g.POST("/admin/credentials/import", s.importCredentials, middleware.BodyLimit(importBodyLimit), s.idempotent)
}

// importRowResponse is what became of one row of an import file.
type importRowResponse struct {
	Row          int                 `json:"row"` // line in the file; the header is line 1
	LegacyID     string              `json:"legacy_id"`
	Status       string              `json:"status"`
	CredentialID *uuid.UUID          `json:"credential_id,omitempty"`
	Code         string              `json:"code,omitempty"`
	Errors       []models.FieldError `json:"errors,omitempty"`
}

// importResponse is the result of an import, row by row.
type importResponse struct {
	Created  int                 `json:"created"`
	Existing int                 `json:"existing"`
	Failed   int                 `json:"failed"`
	Rows     []importRowResponse `json:"rows"`
}

// importAudit is what the audit log keeps of an import: which file, and the counts.
type importAudit struct {
	FileSHA256 string `json:"file_sha256"`
	Rows       int    `json:"rows"`
	Created    int    `json:"created"`
	Existing   int    `json:"existing"`
	Failed     int    `json:"failed"`
}

// importLine is one data row of an import file: the row to import, or why it cannot be.
type importLine struct {
	row    models.ImportRow
	errors []models.FieldError
}

// importCredentials handles POST /v1/admin/credentials/import: a CSV file of legacy
// credentials (text/csv, or multipart/form-data with a file field), imported row by row in one
// transaction; a bad row is reported and skipped, and a legacy ID imported before is reported
// as existing, so uploading a file again changes nothing. Audited.
func (s *Server) importCredentials(c echo.Context) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	data, err := readImportFile(c)
	if err != nil {
		return err
	}
	lines, err := s.parseImport(c, data)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	var out importResponse
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		results, err := s.importValidLines(c, tx, lines)
		if err != nil {
			return err
		}
		out = newImportResponse(lines, results)
		return s.audit(c, tx, auditEvent{Actor: admin, Action: "credential.import", ObjectType: "credential_import",
			ObjectID: hex.EncodeToString(sum[:]), After: importAudit{FileSHA256: hex.EncodeToString(sum[:]),
				Rows: len(lines), Created: out.Created, Existing: out.Existing, Failed: out.Failed}})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// importValidLines imports the lines without errors and enqueues the follow-up (certificate,
// email to the holder) of each credential created, in tx.
func (s *Server) importValidLines(c echo.Context, tx models.Tx, lines []importLine) ([]models.ImportResult, error) {
	var rows []models.ImportRow
	for _, l := range lines {
		if len(l.errors) == 0 {
			rows = append(rows, l.row)
		}
	}
	results, err := models.ImportCredentials(ctx(c), tx.DB, models.ImportInput{Rows: rows, Location: s.cfg.Location,
		Rules: jobs.IssueRules(s.cfg.PublicURL), At: s.now()})
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		if r.Status == models.ImportCreated {
			if err := jobs.CredentialCreated(ctx(c), s.jobs, tx, r.Credential.ID); err != nil {
				return nil, err
			}
		}
	}
	return results, nil
}

// newImportResponse merges the rows refused on their form with the results of the others, in
// file order (results come in the order of the lines without errors).
func newImportResponse(lines []importLine, results []models.ImportResult) importResponse {
	out := importResponse{Rows: make([]importRowResponse, 0, len(lines))}
	next := 0
	for _, l := range lines {
		r := importRowResponse{Row: l.row.Line, LegacyID: l.row.LegacyID, Status: models.ImportFailed, Errors: l.errors}
		if len(l.errors) == 0 {
			res := results[next]
			next++
			r.Status, r.Errors = res.Status, res.Errors
			if res.Credential != nil {
				r.CredentialID, r.Code = &res.Credential.ID, res.Credential.Code
			}
		}
		switch r.Status {
		case models.ImportCreated:
			out.Created++
		case models.ImportExists:
			out.Existing++
		default:
			out.Failed++
		}
		out.Rows = append(out.Rows, r)
	}
	return out
}

// readImportFile returns the uploaded file: the body of a text/csv request, or the file part
// of a multipart/form-data one.
func readImportFile(c echo.Context) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	switch mt {
	case "text/csv":
		return readLimited(c.Request().Body)
	case echo.MIMEMultipartForm:
		if err := c.Request().ParseMultipartForm(importBodyBytes); err != nil {
			var he *echo.HTTPError
			if errors.As(err, &he) {
				return nil, he
			}
			return nil, problem(http.StatusBadRequest, "malformed-request", "the multipart body could not be read")
		}
		f, _, err := c.Request().FormFile("file")
		if err != nil {
			return nil, models.Invalid("file", "is required: the CSV file")
		}
		defer f.Close()
		return readLimited(f)
	}
	return nil, problem(http.StatusUnsupportedMediaType, "unsupported-media-type",
		"send text/csv, or multipart/form-data with the CSV in a file field")
}

// readLimited reads r to the end; past the route's body limit it is 413.
func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, problem(http.StatusBadRequest, "malformed-request", "the body could not be read")
	}
	return data, nil
}

// parseImport reads the CSV: a header row naming the columns, then at most maxImportRows
// rows, each checked on its own. A file that is not UTF-8, not CSV, lacks a column or has
// too many rows is refused as a whole.
func (s *Server) parseImport(c echo.Context, data []byte) ([]importLine, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		return nil, models.Invalid("file", "is not UTF-8 text: save it as \"CSV UTF-8\"")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // a row of the wrong width is that row's error, not the file's
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, models.Invalid("file", "is empty: its first row must name the columns "+strings.Join(importColumns, ", "))
	}
	if err != nil {
		return nil, csvProblem(err)
	}
	cols, err := importHeader(header)
	if err != nil {
		return nil, err
	}
	courses, err := s.courseCodes(c)
	if err != nil {
		return nil, err
	}
	v := importValidator{cols: cols, width: len(header), courses: courses, today: s.today(), seen: map[string]int{}}
	var lines []importLine
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvProblem(err)
		}
		if n++; n > maxImportRows {
			continue // counted, to say how many there are
		}
		line, _ := r.FieldPos(0)
		lines = append(lines, v.line(line, rec))
	}
	if n > maxImportRows {
		return nil, models.Invalid("file", fmt.Sprintf("has %d rows; at most %d per request: split the file", n, maxImportRows))
	}
	if n == 0 {
		return nil, models.Invalid("file", "has a header row but no rows to import")
	}
	return lines, nil
}

// csvProblem reports a file that is not valid CSV, with where.
func csvProblem(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return models.Invalid("file", fmt.Sprintf("is not valid CSV at line %d, column %d: %v (a value holding a quote must be quoted, with the quote doubled)",
			pe.Line, pe.Column, pe.Err))
	}
	return models.Invalid("file", "could not be read as CSV")
}

// importHeader maps each of importColumns to its position. Names match whatever their case
// and their spaces, hyphens or underscores ("Valid Through" is valid_through, "E-mail" is
// email); other columns are ignored.
func importHeader(header []string) (map[string]int, error) {
	at := map[string]int{}
	for i, h := range header {
		at[columnKey(h)] = i
	}
	cols := map[string]int{}
	v := &models.ValidationError{}
	for _, name := range importColumns {
		i, ok := at[columnKey(name)]
		if !ok {
			v.Add("header", "has no "+name+" column")
			continue
		}
		for j, h := range header {
			if j != i && columnKey(h) == columnKey(name) {
				v.Add("header", "names the column "+name+" twice")
				break
			}
		}
		cols[name] = i
	}
	return cols, v.Err()
}

// columnKey is a column name reduced to what importHeader compares.
func columnKey(name string) string {
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(strings.ToLower(strings.TrimSpace(name)))
}

// courseCodes returns the codes of the program's courses.
func (s *Server) courseCodes(c echo.Context) (map[string]bool, error) {
	courses, err := models.ListCourses(ctx(c), s.db.Gorm)
	if err != nil {
		return nil, err
	}
	codes := make(map[string]bool, len(courses))
	for _, co := range courses {
		codes[co.Code] = true
	}
	return codes, nil
}

// importValidator checks the rows of one file.
type importValidator struct {
	cols    map[string]int
	width   int
	courses map[string]bool
	today   time.Time      // on the issuer's calendar
	seen    map[string]int // legacy ID → the line it first appeared on
}

// line checks one row at line, collecting every field error.
func (v *importValidator) line(line int, rec []string) importLine {
	get := func(col string) string {
		if i := v.cols[col]; i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	row := models.ImportRow{Line: line, LegacyID: get("legacy_id"), Name: get("name"),
		Email: models.NormalizeEmail(get("email")), CourseCode: strings.ToUpper(get("course"))}
	ve := &models.ValidationError{}
	if len(rec) > v.width {
		ve.Add("row", fmt.Sprintf("has %d values but the header names %d columns: put a value holding a comma in double quotes", len(rec), v.width))
		return importLine{row: row, errors: ve.Fields}
	}
	v.legacyID(ve, row.LegacyID, line)
	if n := utf8.RuneCountInString(row.Name); n < 1 || n > 200 {
		ve.Add("name", "must be 1 to 200 characters")
	}
	if msg := emailAddressProblem(row.Email); msg != "" {
		ve.Add("email", msg)
	}
	switch {
	case row.CourseCode == "":
		ve.Add("course", "is required")
	case !v.courses[row.CourseCode]:
		ve.Add("course", "is not a course of this program")
	}
	row.IssuedOn, row.ValidThrough = v.dates(ve, get("issued"), get("valid_through"))
	return importLine{row: row, errors: ve.Fields}
}

// legacyID checks the legacy ID and that no earlier row of the file has it.
func (v *importValidator) legacyID(ve *models.ValidationError, id string, line int) {
	if n := utf8.RuneCountInString(id); n < 1 || n > 100 {
		ve.Add("legacy_id", "must be 1 to 100 characters")
		return
	}
	if first, ok := v.seen[id]; ok {
		ve.Add("legacy_id", fmt.Sprintf("repeats the legacy_id of row %d", first))
		return
	}
	v.seen[id] = line
}

// dates parses issued (from 1990 to today) and valid_through (not before issued).
func (v *importValidator) dates(ve *models.ValidationError, issuedRaw, throughRaw string) (issued, through time.Time) {
	issued, errI := time.Parse(time.DateOnly, issuedRaw)
	through, errT := time.Parse(time.DateOnly, throughRaw)
	if errI != nil {
		ve.Add("issued", "must be a date YYYY-MM-DD")
	}
	if errT != nil {
		ve.Add("valid_through", "must be a date YYYY-MM-DD")
	}
	y, m, d := v.today.Date()
	switch today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC); {
	case errI != nil:
	case issued.After(today):
		ve.Add("issued", "must not be in the future")
	case issued.Before(earliestLegacyIssue):
		ve.Add("issued", "must be on or after 1990-01-01")
	}
	if errI == nil && errT == nil && through.Before(issued) {
		ve.Add("valid_through", "must not be before issued")
	}
	return issued, through
}
