package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// Bulk verification limits. A credentialing office checks a whole medical staff at once, so
// a request may hold up to maxVerificationItems items; lookups by NPI, which reach people
// without a code in hand, are capped per org and day on the issuer's calendar.
const (
	maxVerificationItems = 10000
	npiLookupsPerDay     = 20000
)

// ReceiptStatement is the issuer's statement every receipt carries.
const ReceiptStatement = "aalscert is the primary source for these credentials; the results were read from its records at the time stated."

// errNoReceiptKey answers when the server has no receipt key to sign with.
var errNoReceiptKey = errors.New("no receipt signing key configured")

// orgVerificationRoutes registers an org's verifications with signed receipts and the
// provider's view of who verified them.
func (s *Server) orgVerificationRoutes(g *echo.Group) {
	g.POST("/orgs/:orgID/verifications", s.createVerification, s.idempotent)
	g.GET("/orgs/:orgID/verifications", s.listVerifications)
	g.GET("/orgs/:orgID/verifications/:verificationID", s.getVerification)
	g.GET("/me/verifications", s.listMyVerifications)
}

// verificationItem is one item of a request: a code, or an NPI and a course. Its fields are
// in the order of their JSON names (see verificationResult).
type verificationItem struct {
	Code   *string `json:"code,omitempty"`
	Course *string `json:"course,omitempty"`
	NPI    *string `json:"npi,omitempty"`
}

// verificationInput is the body of POST /v1/orgs/{orgID}/verifications.
type verificationInput struct {
	Items []verificationItem `json:"items"`
}

// verificationResult answers one item. Its fields (and those of the query) are in the order
// of their JSON names and every value is a string, number or bool, so encoding/json without
// HTML escaping writes the canonical JSON the receipt's digest is over, in one pass.
type verificationResult struct {
	Code         string           `json:"code,omitempty"`
	Course       string           `json:"course,omitempty"`
	Found        bool             `json:"found"`
	HolderName   string           `json:"holder_name,omitempty"`
	Index        int              `json:"index"`
	Query        verificationItem `json:"query"`
	Status       string           `json:"status,omitempty"`
	ValidFrom    string           `json:"valid_from,omitempty"`
	ValidThrough string           `json:"valid_through,omitempty"`
}

// verifierRef names who verified: a member of the org or one of its API keys.
type verifierRef struct {
	Type string    `json:"type"` // user or api_key
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// orgRef names an org.
type orgRef struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// receiptClaims are the claims of a receipt JWT. The results are not copied in (10,000 of
// them would make a token of megabytes): results_sha256 is the SHA-256 of their canonical
// JSON (RFC 8785 style: keys sorted, no insignificant whitespace), which anyone can
// recompute from the results the receipt is served with.
type receiptClaims struct {
	Iss           string      `json:"iss"`
	Jti           string      `json:"jti"`
	Iat           int64       `json:"iat"`
	Type          string      `json:"type"`
	Org           orgRef      `json:"org"`
	Verifier      verifierRef `json:"verifier"`
	Statement     string      `json:"statement"`
	ItemCount     int         `json:"item_count"`
	NPICount      int         `json:"npi_count"`
	ResultsSHA256 string      `json:"results_sha256"`
}

// receiptType is the type claim of every receipt.
const receiptType = "aalscert-verification-receipt"

// orgVerificationResponse is a stored verification with its receipt.
type orgVerificationResponse struct {
	ID            uuid.UUID       `json:"id"`
	CreatedAt     time.Time       `json:"created_at"`
	Org           orgRef          `json:"org"`
	Verifier      verifierRef     `json:"verifier"`
	Statement     string          `json:"statement"`
	ItemCount     int             `json:"item_count"`
	NPICount      int             `json:"npi_count"`
	ResultsSHA256 string          `json:"results_sha256"`
	Results       json.RawMessage `json:"results"` // canonical JSON, as digested
	Receipt       string          `json:"receipt"`
}

// verificationSummaryResponse is a verification in the org's list, without its results.
type verificationSummaryResponse struct {
	ID        uuid.UUID   `json:"id"`
	CreatedAt time.Time   `json:"created_at"`
	Verifier  verifierRef `json:"verifier"`
	ItemCount int         `json:"item_count"`
	NPICount  int         `json:"npi_count"`
}

// validate checks the items and returns the number of NPI queries. courses is the catalog.
func (in verificationInput) validate(courses []string) (int, error) {
	if len(in.Items) == 0 || len(in.Items) > maxVerificationItems {
		return 0, models.Invalid("items", fmt.Sprintf("must hold 1 to %d items", maxVerificationItems))
	}
	ve := &models.ValidationError{}
	npis := 0
	for i, it := range in.Items {
		f := fmt.Sprintf("items[%d]", i)
		switch {
		case it.Code != nil && (it.NPI != nil || it.Course != nil):
			ve.Add(f, "must hold either code, or npi and course")
		case it.Code != nil:
			if strings.TrimSpace(*it.Code) == "" {
				ve.Add(f+".code", "must not be empty")
			}
		case it.NPI == nil:
			ve.Add(f, "must hold code, or npi and course")
		default:
			npis++
			if !models.ValidNPI(*it.NPI) {
				ve.Add(f+".npi", "must be a valid 10-digit NPI")
			}
			if it.Course == nil || !slices.Contains(courses, *it.Course) {
				ve.Add(f+".course", "must be one of "+strings.Join(courses, ", "))
			}
		}
		if len(ve.Fields) >= 20 { // enough to fix a file; the rest likely repeats
			break
		}
	}
	return npis, ve.Err()
}

// createVerification handles POST /v1/orgs/{orgID}/verifications: an approved org's verifier
// or API key checks up to 10,000 credentials by code or by NPI in a few set-based queries,
// and gets the results in input order with a signed receipt the service keeps.
func (s *Server) createVerification(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleVerifier)
	if err != nil {
		return err
	}
	if s.receiptKeys == nil || s.receiptKeys.Signer == nil {
		return errNoReceiptKey
	}
	var in verificationInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	catalog, err := models.ListCourses(ctx(c), s.db.Gorm)
	if err != nil {
		return err
	}
	courses := make([]string, len(catalog))
	for i, co := range catalog {
		courses[i] = co.Code
	}
	npiCount, err := in.validate(courses)
	if err != nil {
		return err
	}
	now := s.now().Truncate(time.Microsecond) // as stored, so GET answers the same
	results, subjects, err := s.answerItems(c, in.Items, now)
	if err != nil {
		return err
	}
	v := &models.Verification{ID: uuid.New(), OrgID: sc.Org.ID, ItemCount: len(in.Items), NPICount: npiCount, CreatedAt: now}
	var ref verifierRef
	if k := sc.Caller.APIKey; k != nil {
		v.APIKeyID, ref = &k.ID, verifierRef{Type: "api_key", ID: k.ID, Name: k.Name}
	} else {
		v.UserID, ref = &sc.user().ID, verifierRef{Type: "user", ID: sc.user().ID, Name: sc.user().Name}
	}
	if v.Results, err = canonicalResults(results); err != nil {
		return err
	}
	sum := sha256.Sum256(v.Results)
	digest := hex.EncodeToString(sum[:])
	claims := receiptClaims{
		Iss: s.cfg.PublicURL + "/issuer", Jti: v.ID.String(), Iat: now.Unix(), Type: receiptType,
		Org: orgRef{ID: sc.Org.ID, Name: sc.Org.Name}, Verifier: ref, Statement: ReceiptStatement,
		ItemCount: v.ItemCount, NPICount: npiCount, ResultsSHA256: digest,
	}
	if v.Receipt, err = s.receiptKeys.Signer.Sign(claims); err != nil {
		return err
	}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if err := models.AddNPILookups(ctx(c), tx.DB, sc.Org.ID, s.today(), npiCount, npiLookupsPerDay); err != nil {
			return err
		}
		return models.CreateVerification(ctx(c), tx.DB, v, subjects)
	})
	if errors.Is(err, models.ErrNPILookupLimit) {
		p := problem(http.StatusTooManyRequests, "npi-lookup-limit", fmt.Sprintf(
			"this request would pass the organization's %d lookups by NPI for today; nothing was looked up — verify by code, or try again tomorrow",
			npiLookupsPerDay))
		today := s.today()
		tomorrow := time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, s.cfg.Location)
		p.Headers = retryAfter(int(math.Ceil(tomorrow.Sub(s.now()).Seconds())))
		return p
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, orgVerificationResponse{
		ID: v.ID, CreatedAt: now.UTC(), Org: claims.Org, Verifier: ref, Statement: ReceiptStatement,
		ItemCount: v.ItemCount, NPICount: npiCount, ResultsSHA256: digest, Results: v.Results, Receipt: v.Receipt,
	})
}

// answerItems answers every item with two queries (one for the codes, one for the NPIs) and
// returns the results in input order and the credentials that answered.
func (s *Server) answerItems(c echo.Context, items []verificationItem, now time.Time) ([]verificationResult, []models.VerificationSubject, error) {
	var codes []string
	var npiQs []models.NPIQuery
	seenCode := map[string]bool{}
	seenNPI := map[models.NPIQuery]bool{}
	normalized := make([]string, len(items))
	for i, it := range items {
		if it.Code != nil {
			code, ok := credential.NormalizeCode(*it.Code)
			if ok && !seenCode[code] {
				seenCode[code] = true
				codes = append(codes, code)
			}
			if ok {
				normalized[i] = code
			}
			continue
		}
		q := models.NPIQuery{NPI: *it.NPI, Course: *it.Course}
		if !seenNPI[q] {
			seenNPI[q] = true
			npiQs = append(npiQs, q)
		}
	}
	byCode, err := models.FindCredentialsByCodes(ctx(c), s.db.Gorm, codes)
	if err != nil {
		return nil, nil, err
	}
	codeMap := make(map[string]*models.VerifiedFacts, len(byCode))
	for i := range byCode {
		codeMap[byCode[i].Code] = &byCode[i]
	}
	byNPI, err := models.FindCurrentCredentialsByNPI(ctx(c), s.db.Gorm, npiQs, now)
	if err != nil {
		return nil, nil, err
	}
	npiMap := make(map[models.NPIQuery]*models.VerifiedFacts, len(byNPI))
	for i := range byNPI {
		npiMap[models.NPIQuery{NPI: byNPI[i].NPI, Course: byNPI[i].CourseCode}] = &byNPI[i]
	}
	results := make([]verificationResult, len(items))
	var subjects []models.VerificationSubject
	seenCred := map[uuid.UUID]bool{}
	for i, it := range items {
		var cr *models.VerifiedFacts
		if it.Code != nil {
			cr = codeMap[normalized[i]]
		} else {
			cr = npiMap[models.NPIQuery{NPI: *it.NPI, Course: *it.Course}]
		}
		results[i] = verificationResult{Index: i, Query: it}
		if cr == nil {
			continue
		}
		results[i].Found = true
		results[i].Status = cr.StatusAt(now)
		results[i].HolderName = cr.HolderName
		results[i].Course = cr.CourseCode
		results[i].Code = cr.Code
		results[i].ValidFrom = cr.ValidFrom.UTC().Format(time.RFC3339)
		results[i].ValidThrough = cr.ValidThrough.Format(time.DateOnly)
		if !seenCred[cr.ID] {
			seenCred[cr.ID] = true
			subjects = append(subjects, models.VerificationSubject{CredentialID: cr.ID, UserID: cr.UserID})
		}
	}
	return results, subjects, nil
}

// canonicalResults encodes results as canonical JSON: object keys sorted (the field order),
// no insignificant whitespace, no HTML escaping.
func canonicalResults(results []verificationResult) ([]byte, error) {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(results); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// listVerifications handles GET /v1/orgs/{orgID}/verifications: the org's verifications,
// newest first, without their results.
func (s *Server) listVerifications(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleVerifier)
	if err != nil {
		return err
	}
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListVerifications(ctx(c), s.db.Gorm, sc.Org.ID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(v models.VerificationSummary) verificationSummaryResponse {
		return verificationSummaryResponse{ID: v.ID, CreatedAt: v.CreatedAt.UTC(), Verifier: summaryVerifier(v),
			ItemCount: v.ItemCount, NPICount: v.NPICount}
	}))
}

// summaryVerifier names the verifier of a stored verification by its current name.
func summaryVerifier(v models.VerificationSummary) verifierRef {
	if v.APIKeyID != nil {
		return verifierRef{Type: "api_key", ID: *v.APIKeyID, Name: deref(v.APIKeyName)}
	}
	if v.UserID != nil {
		return verifierRef{Type: "user", ID: *v.UserID, Name: deref(v.UserName)}
	}
	return verifierRef{}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// getVerification handles GET /v1/orgs/{orgID}/verifications/{id}: the stored receipt as
// JSON, or as a PDF with Accept: application/pdf. Org, verifier and statement are read from
// the signed receipt, so they are what was signed even if names changed since.
func (s *Server) getVerification(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleVerifier)
	if err != nil {
		return err
	}
	id, err := pathID(c, "verificationID")
	if err != nil {
		return err
	}
	v, err := models.FindVerification(ctx(c), s.db.Gorm, sc.Org.ID, id)
	if models.IsNotFound(err) {
		return problem(http.StatusNotFound, "not-found", "no verification of this organization has this id")
	}
	if err != nil {
		return err
	}
	out, results, err := storedVerification(v)
	if err != nil {
		return err
	}
	if strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "application/pdf") {
		pdf, err := renderVerificationReceipt(out, results)
		if err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="verification-%s.pdf"`, v.ID))
		return c.Blob(http.StatusOK, "application/pdf", pdf)
	}
	return c.JSON(http.StatusOK, out)
}

// storedVerification rebuilds the response of a stored verification from its row and the
// claims of its receipt (the server signed it; it is read, not verified, here), and the
// results decoded.
func storedVerification(v *models.Verification) (orgVerificationResponse, []verificationResult, error) {
	var results []verificationResult
	if err := json.Unmarshal(v.Results, &results); err != nil {
		return orgVerificationResponse{}, nil, fmt.Errorf("verification %s results: %w", v.ID, err)
	}
	canonical, err := canonicalResults(results) // jsonb keeps its own key order
	if err != nil {
		return orgVerificationResponse{}, nil, err
	}
	var claims receiptClaims
	parts := strings.Split(v.Receipt, ".")
	if len(parts) != 3 {
		return orgVerificationResponse{}, nil, fmt.Errorf("verification %s: malformed receipt", v.ID)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return orgVerificationResponse{}, nil, fmt.Errorf("verification %s receipt: %w", v.ID, err)
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return orgVerificationResponse{}, nil, fmt.Errorf("verification %s receipt: %w", v.ID, err)
	}
	return orgVerificationResponse{
		ID: v.ID, CreatedAt: v.CreatedAt.UTC(), Org: claims.Org, Verifier: claims.Verifier, Statement: claims.Statement,
		ItemCount: v.ItemCount, NPICount: v.NPICount, ResultsSHA256: claims.ResultsSHA256, Results: canonical, Receipt: v.Receipt,
	}, results, nil
}

// myVerificationResponse is a verification of the caller's credentials, as the provider sees
// it: which org verified, when, whether a person or an automated system (an API key) did,
// and with which of their credentials. The verifying staff member's name is the org's
// business and is not shown.
type myVerificationResponse struct {
	ID          uuid.UUID                 `json:"id"`
	VerifiedAt  time.Time                 `json:"verified_at"`
	Org         orgRef                    `json:"org"`
	By          string                    `json:"by"` // user or api_key
	Credentials []myVerifiedCredentialRef `json:"credentials"`
}

// myVerifiedCredentialRef is one of the caller's credentials a verification answered with.
type myVerifiedCredentialRef struct {
	Code   string `json:"code"`
	Course string `json:"course"`
}

// listMyVerifications handles GET /v1/me/verifications: every verification that answered
// with one of the caller's credentials, newest first.
func (s *Server) listMyVerifications(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListVerificationsOfHolder(ctx(c), s.db.Gorm, u.ID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(v models.VerificationSummary) myVerificationResponse {
		out := myVerificationResponse{ID: v.ID, VerifiedAt: v.CreatedAt.UTC(), Org: orgRef{ID: v.OrgID, Name: v.OrgName},
			By: "user", Credentials: make([]myVerifiedCredentialRef, 0, len(v.Credentials))}
		if v.APIKeyID != nil {
			out.By = "api_key"
		}
		for _, cr := range v.Credentials {
			out.Credentials = append(out.Credentials, myVerifiedCredentialRef{Code: cr.Code, Course: cr.CourseCode})
		}
		return out
	}))
}
