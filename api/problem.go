package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// Problem is an RFC 9457 problem detail. Handlers may return one to choose the type, status
// and headers themselves; everything else is mapped by httpErrorHandler.
type Problem struct {
	Code    string              `json:"-"`
	Type    string              `json:"type"`
	Title   string              `json:"title"`
	Status  int                 `json:"status"`
	Detail  string              `json:"detail,omitempty"`
	Inst    string              `json:"instance,omitempty"`
	ReqID   string              `json:"request_id,omitempty"`
	Errors  []models.FieldError `json:"errors,omitempty"`
	Headers map[string]string   `json:"-"`
	// Extra members, e.g. retry_after.
	Extra map[string]any `json:"-"`
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// MarshalJSON writes the standard members and any extension members.
func (p *Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal((*plain)(p))
	if err != nil || len(p.Extra) == 0 {
		return b, err
	}
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	for k, v := range p.Extra {
		m[k] = v
	}
	return json.Marshal(m)
}

// problem builds a Problem with a stable code.
func problem(status int, code, detail string) *Problem {
	return &Problem{Code: code, Status: status, Title: titles[code], Detail: detail}
}

// Problem codes of the API layer. Domain codes come from models.Error.
var titles = map[string]string{
	"validation":                   "Request is invalid",
	"malformed-request":            "Request body could not be read",
	"unauthorized":                 "Authentication required",
	"forbidden":                    "Not allowed",
	"not-found":                    "Not found",
	"credential-not-found":         "No credential has this verification code",
	"not-yet-issued":               "Credential was not issued yet on that date",
	"credential-revoked":           "Credential is revoked",
	"credential-superseded":        "Credential was replaced by a reissue",
	"credential-already-suspended": "Credential is already suspended",
	"credential-not-suspended":     "Credential is not suspended",
	"method-not-allowed":           "Method not allowed",
	"conflict":                     "Conflict",
	"payload-too-large":            "Request body too large",
	"unsupported-media-type":       "Unsupported media type",
	"too-many-requests":            "Too many requests",
	"internal":                     "Internal error",
	"unavailable":                  "Service unavailable",
	"invalid":                      "Request cannot be carried out",
	"name-change-pending":          "A name-change request is already pending",
	"name-change-decided":          "Name-change request was already decided",
	"document-removed":             "Document was deleted after its retention period",
	"cross-origin-request":         "Request from another origin refused",
	"npi-lookup-limit":             "Daily lookups by NPI used up",

	// Cohort invitation links (cohort_invitations.go).
	"invitation-not-found":     "Invitation link is not valid",
	"invitation-expired":       "Invitation has expired",
	"invitation-revoked":       "Invitation was revoked",
	"invitation-link-replaced": "Invitation link was replaced by a newer one",
	// Refusals of the Stripe webhook.
	"invalid-signature":           "Stripe signature is invalid",
	"stripe-api-version-mismatch": "Stripe API version is not supported",
	"malformed-event":             "Stripe event is malformed",
	// Webhooks (webhooks.go).
	"too-many-webhooks": "Organization has too many webhooks",
}

// kindStatus maps a domain sentinel to a status and the code used when the error has none.
var kindStatus = []struct {
	kind   error
	status int
	code   string
}{
	{models.ErrNotFound, http.StatusNotFound, "not-found"},
	{models.ErrConflict, http.StatusConflict, "conflict"},
	{models.ErrForbidden, http.StatusForbidden, "forbidden"},
	{models.ErrUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{models.ErrInvalid, http.StatusUnprocessableEntity, "invalid"},
}

// toProblem converts any error a handler returns into a Problem.
func toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		p := problem(http.StatusUnprocessableEntity, "validation", "one or more fields are invalid")
		p.Errors = ve.Fields
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return fromHTTPError(he)
	}
	for _, k := range kindStatus {
		if errors.Is(err, k.kind) {
			code := k.code
			detail := err.Error()
			var de *models.Error
			if errors.As(err, &de) {
				code, detail = de.Code, de.Msg
			}
			p := problem(k.status, code, detail)
			if p.Title == "" {
				p.Title = titles[k.code]
			}
			return p
		}
	}
	return nil
}

func fromHTTPError(he *echo.HTTPError) *Problem {
	switch he.Code {
	case http.StatusNotFound:
		return problem(he.Code, "not-found", "no such resource")
	case http.StatusMethodNotAllowed:
		return problem(he.Code, "method-not-allowed", "this resource does not support the method")
	case http.StatusRequestEntityTooLarge:
		return problem(he.Code, "payload-too-large", "the request body is larger than allowed")
	case http.StatusUnsupportedMediaType:
		return problem(he.Code, "unsupported-media-type", "send application/json")
	case http.StatusBadRequest:
		return problem(he.Code, "malformed-request", fmt.Sprint(he.Message))
	case http.StatusUnauthorized:
		return problem(he.Code, "unauthorized", "a valid access token or API key is required")
	case http.StatusTooManyRequests:
		return problem(he.Code, "too-many-requests", "slow down")
	case http.StatusServiceUnavailable:
		return problem(he.Code, "unavailable", fmt.Sprint(he.Message))
	}
	return nil
}

// httpErrorHandler writes every error as application/problem+json. Unknown errors become a
// 500 that says only "internal error" and the request ID; the cause goes to the log.
func (s *Server) httpErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	p := toProblem(err)
	if p == nil || p.Status >= 500 && p.Code == "internal" {
		s.log.ErrorContext(c.Request().Context(), "internal error", "request_id", reqID, "err", err,
			"method", c.Request().Method, "path", c.Path())
		p = problem(http.StatusInternalServerError, "internal", "internal error (request "+reqID+")")
	}
	out := *p
	if out.Title == "" {
		out.Title = http.StatusText(out.Status)
	}
	out.Type = s.problemType(out.Code)
	out.Inst = c.Request().URL.Path
	out.ReqID = reqID
	for k, v := range out.Headers {
		c.Response().Header().Set(k, v)
	}
	if out.Status == http.StatusUnauthorized && c.Response().Header().Get("WWW-Authenticate") == "" {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="aalscert"`)
	}
	body, mErr := json.Marshal(&out)
	if mErr != nil {
		body = []byte(`{"type":"about:blank","title":"Internal error","status":500}`)
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	if c.Request().Method == http.MethodHead {
		c.Response().WriteHeader(out.Status)
		return
	}
	c.Response().WriteHeader(out.Status)
	_, _ = c.Response().Write(body)
}

// problemType returns the stable type URI of a problem code.
func (s *Server) problemType(code string) string {
	return s.cfg.PublicURL + "/problems/" + code
}

func retryAfter(seconds int) map[string]string {
	return map[string]string{"Retry-After": strconv.Itoa(max(seconds, 1))}
}
