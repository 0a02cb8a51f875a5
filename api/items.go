package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/exam"
	"github.com/aalscert/aalscert/models"
)

// examAdminRoutes registers the platform admin's exam desk (item banks, item analysis,
// accommodations, attempts under review) and the skills check of courses that need one.
func (s *Server) examAdminRoutes(g *echo.Group) {
	g.GET("/admin/courses/:code/items", s.adminListItems)
	g.POST("/admin/courses/:code/items", s.importItems)
	g.POST("/admin/items/:id/retire", s.retireItem)
	g.POST("/admin/items/:id/restore", s.restoreItem)
	g.GET("/admin/courses/:code/item-analysis", s.itemAnalysis)
	g.GET("/admin/attempts", s.adminListAttempts)
	g.GET("/admin/users/:userID/accommodation", s.getAccommodation)
	g.PUT("/admin/users/:userID/accommodation", s.setAccommodation)
	g.DELETE("/admin/users/:userID/accommodation", s.deleteAccommodation)
	s.skillsCheckRoutes(g)
}

// itemResponse is a bank item as platform admins see it: with its key and rationale, which
// never reach a learner.
type itemResponse struct {
	ID        string               `json:"id"`
	Course    string               `json:"course"`
	Domain    string               `json:"domain"`
	Kind      string               `json:"kind"`
	Stem      string               `json:"stem"`
	Vitals    *bankVitalsResponse  `json:"vitals"`
	Options   []bankOptionResponse `json:"options"`
	Correct   []string             `json:"correct"`
	Rationale string               `json:"rationale"`
	RetiredAt *time.Time           `json:"retired_at"`
	CreatedAt time.Time            `json:"created_at"`
	UpdatedAt time.Time            `json:"updated_at"`
}

// bankOptionResponse is one answer choice of an item.
type bankOptionResponse struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// bankVitalsResponse is an item's monitor panel; absent readings are left out.
type bankVitalsResponse struct {
	HR                 *int   `json:"hr,omitempty"`
	BP                 string `json:"bp,omitempty"`
	SpO2               *int   `json:"spo2,omitempty"`
	ETCO2              *int   `json:"etco2,omitempty"`
	Rhythm             string `json:"rhythm,omitempty"`
	PeakAirwayPressure *int   `json:"peak_airway_pressure,omitempty"`
	Text               string `json:"text"`
}

func newItemResponse(it *models.Item) itemResponse {
	r := itemResponse{ID: it.ID, Course: it.CourseCode, Domain: it.Domain, Kind: it.Kind, Stem: it.Stem,
		Options: make([]bankOptionResponse, 0, len(it.Options)), Correct: append([]string{}, it.Correct...),
		Rationale: it.Rationale, RetiredAt: utcPtr(it.RetiredAt), CreatedAt: it.CreatedAt.UTC(), UpdatedAt: it.UpdatedAt.UTC()}
	for _, o := range it.Options {
		r.Options = append(r.Options, bankOptionResponse{ID: o.ID, Text: o.Text})
	}
	if v := it.Vitals; v != nil {
		r.Vitals = &bankVitalsResponse{HR: v.HR, BP: v.BP, SpO2: v.SpO2, ETCO2: v.ETCO2, Rhythm: v.Rhythm,
			PeakAirwayPressure: v.PeakAirwayPressure, Text: v.Text}
	}
	return r
}

// adminListItems handles GET /v1/admin/courses/{code}/items?domain=&retired=: the course's
// bank in ID order, with keys (platform admin).
func (s *Server) adminListItems(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	course, err := models.FindCourse(ctx(c), s.db.Gorm, pathCourseCode(c))
	if err != nil {
		return err
	}
	f := models.ItemFilter{CourseCode: course.Code, Domain: strings.TrimSpace(c.QueryParam("domain"))}
	ve := &models.ValidationError{}
	f.Retired = queryBool(c, ve, "retired")
	page, err := pageParams(c)
	var pe *models.ValidationError
	if errors.As(err, &pe) {
		ve.Fields = append(ve.Fields, pe.Fields...)
	}
	if err := ve.Err(); err != nil {
		return err
	}
	f.Page = page
	rows, next, err := models.ListItems(ctx(c), s.db.Gorm, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(it models.Item) itemResponse { return newItemResponse(&it) }))
}

// retireItem handles POST /v1/admin/items/{id}/retire: the item is never drawn again, and
// attempts that used it keep it. Audited.
func (s *Server) retireItem(c echo.Context) error {
	return s.changeItemRetirement(c, "item.retire", models.RetireItem)
}

// restoreItem handles POST /v1/admin/items/{id}/restore: a retired item may be drawn again.
// Audited.
func (s *Server) restoreItem(c echo.Context) error {
	return s.changeItemRetirement(c, "item.restore", models.RestoreItem)
}

// itemChange is RetireItem or RestoreItem.
type itemChange func(ctx context.Context, db *gorm.DB, id string, now time.Time) (before, after *models.Item, err error)

// changeItemRetirement applies change to the item {id} and audits it as action.
func (s *Server) changeItemRetirement(c echo.Context, action string, change itemChange) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	var after *models.Item
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		var before *models.Item
		if before, after, err = change(ctx(c), tx.DB, id, s.now()); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: admin, Action: action, ObjectType: "item", ObjectID: id,
			Before: newItemResponse(before), After: newItemResponse(after)})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newItemResponse(after))
}

// itemImportResponse is what an import changed, and where the bank is now too thin.
type itemImportResponse struct {
	Created    int                 `json:"created"`
	Updated    int                 `json:"updated"`
	Unchanged  int                 `json:"unchanged"`
	Total      int                 `json:"total"`
	Shortfalls []coverageShortfall `json:"shortfalls"`
}

// coverageShortfall is a domain with fewer live items than the course's forms need.
type coverageShortfall struct {
	Domain string `json:"domain"`
	Live   int    `json:"live"`
	Needed int    `json:"needed"`
}

// itemImportRecord is an import for the audit log.
type itemImportRecord struct {
	Course  string   `json:"course"`
	Created int      `json:"created"`
	Updated int      `json:"updated"`
	ItemIDs []string `json:"item_ids"`
}

// importItems handles POST /v1/admin/courses/{code}/items: a platform admin imports a bank
// file (YAML, or JSON of the same shape) into the course's bank. The file is validated row by
// row with every problem reported at once; a bad file changes nothing, a good one is upserted
// in one transaction. Audited.
func (s *Server) importItems(c echo.Context) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	course, err := models.FindCourse(ctx(c), s.db.Gorm, pathCourseCode(c))
	if err != nil {
		return err
	}
	data, err := readBankBody(c)
	if err != nil {
		return err
	}
	bank, err := content.ParseBank("body", data)
	if err != nil {
		return notABankFile(err)
	}
	if err := validateImport(bank, course); err != nil {
		return err
	}
	out, err := s.storeImport(c, admin, course, bank.ModelItems())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// storeImport upserts the items into the course's bank and audits the import, in one
// transaction.
func (s *Server) storeImport(c echo.Context, admin *models.User, course *models.Course, items []models.Item) (itemImportResponse, error) {
	var out itemImportResponse
	err := s.db.InTx(ctx(c), func(tx models.Tx) error {
		res, err := models.ImportItems(ctx(c), tx.DB, course.Code, items)
		if err != nil {
			return err
		}
		live, err := models.CountLiveItems(ctx(c), tx.DB, course.Code)
		if err != nil {
			return err
		}
		out = itemImportResponse{Created: res.Created, Updated: res.Updated, Unchanged: res.Unchanged, Total: len(items),
			Shortfalls: shortfalls(course, live)}
		rec := itemImportRecord{Course: course.Code, Created: res.Created, Updated: res.Updated, ItemIDs: make([]string, len(items))}
		for i, it := range items {
			rec.ItemIDs[i] = it.ID
		}
		return s.audit(c, tx, auditEvent{Actor: admin, Action: "item.import", ObjectType: "course", ObjectID: course.Code, After: rec})
	})
	return out, err
}

// notABankFile is the answer to a body that ParseBank could not read as a bank at all.
func notABankFile(err error) error {
	detail := "the body is not a bank file (YAML or JSON with course, review_status and items)"
	var be *content.BankError
	if errors.As(err, &be) && len(be.Problems) > 0 {
		detail += ": " + be.Problems[0].String()
	}
	return problem(http.StatusBadRequest, "malformed-request", detail)
}

// bankMediaTypes are the content types a bank file may be sent as.
var bankMediaTypes = []string{"application/yaml", "application/x-yaml", "text/yaml", echo.MIMEApplicationJSON}

// readBankBody returns the request body if it is a bank file's media type and not empty.
func readBankBody(c echo.Context) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if !slices.Contains(bankMediaTypes, mt) {
		return nil, problem(http.StatusUnsupportedMediaType, "unsupported-media-type", "send the bank file as application/yaml or application/json")
	}
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, problem(http.StatusBadRequest, "malformed-request", "request body is empty")
	}
	return data, nil
}

// validateImport checks the file against the course, item by item, as the shipped banks
// are checked, except that an import need not be a whole bank: it may add or change a few
// items, so the coverage of each domain is not required of the file (the answer reports the
// bank's shortfalls after the import instead).
func validateImport(b *content.Bank, course *models.Course) error {
	err := b.Validate(course)
	var be *content.BankError
	if !errors.As(err, &be) || len(b.Items) == 0 {
		return err
	}
	var kept []content.BankProblem
	for _, p := range be.Problems {
		if p.Row < 0 && p.Field == "items" { // coverage of the file's domains
			continue
		}
		kept = append(kept, p)
	}
	if len(kept) == 0 {
		return nil
	}
	return &content.BankError{File: be.File, Problems: kept}
}

// bankCoverage is how many live items a bank holds in a domain for each item a form draws
// from it, so that a learner who retakes or renews can be given items not seen before.
const bankCoverage = 3

// shortfalls returns the domains of the course whose live items fall short of what its
// forms need, by domain.
func shortfalls(course *models.Course, live map[string]int) []coverageShortfall {
	out := []coverageShortfall{}
	alloc, err := exam.Allocate(exam.Blueprint(course.Exam.Blueprint), course.Exam.Questions)
	if err != nil {
		return out
	}
	for _, d := range slices.Sorted(maps.Keys(alloc)) {
		if need := bankCoverage * alloc[d]; live[d] < need {
			out = append(out, coverageShortfall{Domain: d, Live: live[d], Needed: need})
		}
	}
	return out
}
