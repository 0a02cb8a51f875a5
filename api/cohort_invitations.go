package api

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/aalscert/aalscert/linktoken"
	"github.com/aalscert/aalscert/models"
)

// cohortInvitationRoutes registers a cohort's invitations (org admins) and accepting one
// (the invitee, signed in).
func (s *Server) cohortInvitationRoutes(g *echo.Group) {
	base := strings.TrimPrefix(cohortInvitationsRoute, "/v1")
	// The body limit bounds what the idempotency check reads; the handler holds files to
	// maxCohortCSVBytes itself, so between the two a file is a 422, past both a 413.
	g.POST(base, s.inviteToCohort, middleware.BodyLimit(cohortInviteBodyLimit), s.idempotent)
	g.GET(base, s.listCohortInvitations)
	g.POST(base+"/:invitationID/resend", s.resendCohortInvitation)
	g.POST(base+"/:invitationID/revoke", s.revokeCohortInvitation)
	g.POST(base+"/:invitationID/approve", s.approveCohortInvitation)
	g.POST(base+"/:invitationID/reclaim-seat", s.reclaimCohortSeat)
	g.POST("/invitations/:token/accept", s.acceptCohortInvitation)
}

// cohortInvitationsRoute is where invitations are sent. It reads its own body within
// maxCohortCSVBytes (see hasOwnBodyLimit), so a file past it is a 422 like any unreadable file.
const (
	cohortInvitationsRoute = "/v1/orgs/:orgID/cohorts/:cohortID/invitations"
	cohortInviteBodyLimit  = "2M"
)

// Limits of one invitation request.
const (
	maxCohortInvites   = 2000
	maxCohortCSVBytes  = 1 << 20
	cohortInviteExpiry = "30 days"
)

// Outcomes of one invitation row.
const (
	rowInvited       = "invited"
	rowAlreadyMember = "already_member"
	rowError         = "error"
)

// cohortInvitationResponse is an invitation as the org admin sees it. It never carries the
// link's token.
type cohortInvitationResponse struct {
	ID           uuid.UUID  `json:"id"`
	CohortID     uuid.UUID  `json:"cohort_id"`
	OrgID        uuid.UUID  `json:"org_id"`
	Email        string     `json:"email"`
	Name         *string    `json:"name"`
	NPI          *string    `json:"npi"`
	Status       string     `json:"status"`
	ExpiresAt    time.Time  `json:"expires_at"`
	UserID       *uuid.UUID `json:"user_id"`
	EnrollmentID *uuid.UUID `json:"enrollment_id"`
	SeatUsed     bool       `json:"seat_used"`
	SelfPay      bool       `json:"self_pay"`
	LastSentAt   time.Time  `json:"last_sent_at"`
	AcceptedAt   *time.Time `json:"accepted_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
	CreatedAt    time.Time  `json:"created_at"`
}

func newCohortInvitationResponse(i *models.CohortInvitation, now time.Time) cohortInvitationResponse {
	return cohortInvitationResponse{ID: i.ID, CohortID: i.CohortID, OrgID: i.OrgID, Email: i.Email, Name: i.Name, NPI: i.NPI,
		Status: i.StatusAt(now), ExpiresAt: i.ExpiresAt.UTC(), UserID: i.UserID, EnrollmentID: i.EnrollmentID,
		SeatUsed: i.SeatUsed, SelfPay: i.SelfPay, LastSentAt: i.LastSentAt.UTC(), AcceptedAt: utcPtr(i.AcceptedAt),
		RevokedAt: utcPtr(i.RevokedAt), CreatedAt: i.CreatedAt.UTC()}
}

// inviteRow is one address to invite and, once tried, its outcome.
type inviteRow struct {
	Row    int     `json:"row"`
	Email  string  `json:"email"`
	Status string  `json:"status"`
	Error  *string `json:"error,omitempty"`
	name   *string
	npi    *string
}

func (r *inviteRow) fail(msg string) { r.Status, r.Error = rowError, &msg }

// inviteResponse is the outcome of each row of an invitation request, in input order.
type inviteResponse struct {
	Rows []inviteRow `json:"rows"`
}

// inviteInput is the JSON body of POST …/invitations.
type inviteInput struct {
	Emails []string `json:"emails"`
}

// inviteToCohort handles POST /v1/orgs/{orgID}/cohorts/{cohortID}/invitations: an org admin
// invites addresses, as JSON {"emails": [...]} or a CSV file (email, name, optional npi).
// Each row has its own outcome and good rows go in whatever the others; a file that cannot
// be read as a whole is one 422 with nothing changed.
func (s *Server) inviteToCohort(c echo.Context) error {
	sc, co, err := s.orgCohort(c)
	if err != nil {
		return err
	}
	rows, err := readInviteRows(c)
	if err != nil {
		return err
	}
	if co.Archived() {
		return models.ErrCohortArchived
	}
	now := s.now().Truncate(time.Microsecond)
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		for i := range rows {
			if err := s.inviteRow(c, tx, sc, co, &rows[i], now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inviteResponse{Rows: rows})
}

// inviteRow checks one row and, if it is good, invites the address and emails the link.
func (s *Server) inviteRow(c echo.Context, tx models.Tx, sc *orgScope, co *models.Cohort, r *inviteRow, now time.Time) error {
	if r.Status == rowError {
		return nil
	}
	r.Email = models.NormalizeEmail(r.Email)
	if msg := emailAddressProblem(r.Email); msg != "" {
		r.fail("email " + msg)
		return nil
	}
	if r.npi != nil && !models.ValidNPI(*r.npi) {
		r.fail("npi must be a valid 10-digit NPI")
		return nil
	}
	inv := &models.CohortInvitation{CohortID: co.ID, OrgID: sc.Org.ID, Email: r.Email, Name: r.name, NPI: r.npi,
		ExpiresAt: now.Add(models.CohortInvitationTTL), InvitedBy: sc.user().ID, LastSentAt: now, CreatedAt: now}
	created, err := models.InviteToCohort(ctx(c), tx.DB, inv)
	if err != nil {
		return err
	}
	if !created {
		r.Status = rowAlreadyMember
		return nil
	}
	r.Status = rowInvited
	if err := s.sendCohortInvitation(c, tx, sc.Org, co, inv); err != nil {
		return err
	}
	return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "cohort_invitation.create", ObjectType: "cohort_invitation",
		ObjectID: inv.ID.String(), After: newCohortInvitationResponse(inv, now)})
}

// readInviteRows reads the request body as JSON or CSV into rows, each numbered as the
// client will recognize it: its position in emails, or its line in the file.
func readInviteRows(c echo.Context) ([]inviteRow, error) {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt != "text/csv" {
		// A JSON body is held to the same size; past it the binder answers 413.
		c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, maxCohortCSVBytes)
		var in inviteInput
		if err := c.Bind(&in); err != nil {
			return nil, err
		}
		switch {
		case len(in.Emails) == 0:
			return nil, models.Invalid("emails", "must list at least one address")
		case len(in.Emails) > maxCohortInvites:
			return nil, models.Invalid("emails", fmt.Sprintf("lists %d addresses; at most %d per request", len(in.Emails), maxCohortInvites))
		}
		rows := make([]inviteRow, len(in.Emails))
		for i, e := range in.Emails {
			rows[i] = inviteRow{Row: i + 1, Email: e}
		}
		return rows, nil
	}
	data, err := io.ReadAll(io.LimitReader(c.Request().Body, maxCohortCSVBytes+1))
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, problem(http.StatusBadRequest, "malformed-request", "the body could not be read")
	}
	if len(data) > maxCohortCSVBytes {
		return nil, models.Invalid("file", "is larger than 1 MiB: split it")
	}
	return parseInviteCSV(data)
}

// parseInviteCSV reads a header row naming the columns email, name and optionally npi (any
// case, any order, other columns ignored), then up to maxCohortInvites rows.
func parseInviteCSV(data []byte) ([]inviteRow, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		return nil, models.Invalid("file", "is not UTF-8 text: save it as \"CSV UTF-8\"")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // a short row is that row's error, not the file's
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, models.Invalid("file", "is empty: its first row must name the columns email, name and optionally npi")
	}
	if err != nil {
		return nil, csvProblem(err)
	}
	col := map[string]int{}
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, dup := col[k]; !dup {
			col[k] = i
		}
	}
	emailAt, ok := col["email"]
	if !ok {
		return nil, models.Invalid("file", "has no email column: its first row must name the columns email, name and optionally npi")
	}
	cell := func(rec []string, name string) *string {
		i, ok := col[name]
		if !ok || i >= len(rec) || strings.TrimSpace(rec[i]) == "" {
			return nil
		}
		v := strings.TrimSpace(rec[i])
		return &v
	}
	var rows []inviteRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvProblem(err)
		}
		if len(rows) == maxCohortInvites {
			return nil, models.Invalid("file", fmt.Sprintf("has more than %d rows: split it", maxCohortInvites))
		}
		line, _ := r.FieldPos(0)
		row := inviteRow{Row: line, name: cell(rec, "name"), npi: cell(rec, "npi")}
		if emailAt < len(rec) {
			row.Email = strings.TrimSpace(rec[emailAt])
		}
		if row.Email == "" {
			row.fail("email is required")
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, models.Invalid("file", "has a header row but no rows")
	}
	return rows, nil
}

// sendCohortInvitation emails the invitation's current link, within the transaction that
// created or renewed it.
func (s *Server) sendCohortInvitation(c echo.Context, tx models.Tx, org *models.Org, co *models.Cohort, inv *models.CohortInvitation) error {
	token := s.cohortInvitationToken(inv)
	var to *uuid.UUID
	if u, err := models.FindUserByEmail(ctx(c), tx.DB, inv.Email); err == nil {
		to = &u.ID
	} else if !models.IsNotFound(err) {
		return err
	}
	return s.sendMail(ctx(c), tx, outgoing{
		To: inv.Email, UserID: to, Template: "cohort_invitation", Secrets: []string{token},
		Data: map[string]any{
			"OrgName": org.Name, "CohortName": co.Name, "Course": co.CourseCode, "Offering": co.Offering,
			"DueDate": co.DueDate.Format(dateLayout), "Link": s.cfg.AppURL + "/invitations/" + token, "ExpiresIn": cohortInviteExpiry,
		},
	})
}

// cohortInvitationToken signs the link of the invitation's current version: a resend or a
// revocation moves the version on, so older links stop working.
func (s *Server) cohortInvitationToken(inv *models.CohortInvitation) string {
	if s.links == nil {
		return ""
	}
	subject := inv.ID.String() + ":" + strconv.Itoa(inv.TokenVersion)
	return s.links.Sign(linktoken.PurposeCohortInvitation, subject, inv.ExpiresAt.Sub(s.now()))
}

// listCohortInvitations handles GET /v1/orgs/{orgID}/cohorts/{cohortID}/invitations: the
// cohort's invitations, newest first.
func (s *Server) listCohortInvitations(c echo.Context) error {
	_, co, err := s.orgCohort(c)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListCohortInvitations(ctx(c), s.db.Gorm, co.ID, page)
	if err != nil {
		return err
	}
	now := s.now()
	return c.JSON(http.StatusOK, newList(rows, next, func(i models.CohortInvitation) cohortInvitationResponse {
		return newCohortInvitationResponse(&i, now)
	}))
}

// cohortInvitationAction loads the org admin's cohort and the invitation of :invitationID in
// it, then runs act on the invitation locked in one transaction, audits it as action and
// returns it.
func (s *Server) cohortInvitationAction(c echo.Context, action string,
	act func(tx models.Tx, sc *orgScope, co *models.Cohort, inv *models.CohortInvitation, now time.Time) error) (cohortInvitationResponse, error) {
	var out cohortInvitationResponse
	sc, co, err := s.orgCohort(c)
	if err != nil {
		return out, err
	}
	id, err := pathID(c, "invitationID")
	if err != nil {
		return out, err
	}
	if _, err := models.FindCohortInvitation(ctx(c), s.db.Gorm, sc.Org.ID, co.ID, id); err != nil {
		if models.IsNotFound(err) {
			return out, problem(http.StatusNotFound, "not-found", "no such invitation in this cohort")
		}
		return out, err
	}
	now := s.now().Truncate(time.Microsecond)
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		inv, err := models.LockCohortInvitation(ctx(c), tx.DB, id)
		if err != nil {
			return err
		}
		before := newCohortInvitationResponse(inv, now)
		if err := act(tx, sc, co, inv, now); err != nil {
			return err
		}
		out = newCohortInvitationResponse(inv, now)
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: action, ObjectType: "cohort_invitation",
			ObjectID: id.String(), Before: before, After: out})
	})
	return out, err
}

// invitationAnswer answers an admin action on an invitation.
func invitationAnswer(c echo.Context) func(cohortInvitationResponse, error) error {
	return func(out cohortInvitationResponse, err error) error {
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, out)
	}
}

// resendCohortInvitation handles POST …/invitations/{invitationID}/resend: a new email with
// a new link and a new expiry; the links sent before stop working.
func (s *Server) resendCohortInvitation(c echo.Context) error {
	return invitationAnswer(c)(s.cohortInvitationAction(c, "cohort_invitation.resend",
		func(tx models.Tx, sc *orgScope, co *models.Cohort, inv *models.CohortInvitation, now time.Time) error {
			switch inv.Status {
			case models.CohortAccepted:
				return models.ErrInvitationUsed
			case models.CohortRevoked:
				return models.ErrInvitationRevoked
			}
			if co.Archived() {
				return models.ErrCohortArchived
			}
			err := models.UpdateCohortInvitation(ctx(c), tx.DB, inv, map[string]any{
				"token_version": inv.TokenVersion + 1, "expires_at": now.Add(models.CohortInvitationTTL), "last_sent_at": now})
			if err != nil {
				return err
			}
			return s.sendCohortInvitation(c, tx, sc.Org, co, inv)
		}))
}

// revokeCohortInvitation handles POST …/invitations/{invitationID}/revoke: its link stops
// working. An accepted invitation cannot be revoked (reclaim its seat instead); revoking
// twice changes nothing.
func (s *Server) revokeCohortInvitation(c echo.Context) error {
	return invitationAnswer(c)(s.cohortInvitationAction(c, "cohort_invitation.revoke",
		func(tx models.Tx, _ *orgScope, _ *models.Cohort, inv *models.CohortInvitation, now time.Time) error {
			switch inv.Status {
			case models.CohortAccepted:
				return models.ErrInvitationUsed
			case models.CohortRevoked:
				return nil
			}
			return models.UpdateCohortInvitation(ctx(c), tx.DB, inv, map[string]any{
				"status": models.CohortRevoked, "revoked_at": now, "token_version": inv.TokenVersion + 1})
		}))
}

// approveCohortInvitation handles POST …/invitations/{invitationID}/approve: the org admin
// lets in the user who accepted from an address other than the invited one (or one not
// verified), who then gets a seat, or enrolls to pay themselves, as accepting would.
func (s *Server) approveCohortInvitation(c echo.Context) error {
	var selfPay *models.Offering
	var member *models.User
	out, err := s.cohortInvitationAction(c, "cohort_invitation.approve",
		func(tx models.Tx, _ *orgScope, co *models.Cohort, inv *models.CohortInvitation, now time.Time) error {
			if inv.Status != models.CohortPendingApproval || inv.UserID == nil {
				return models.ErrNotPendingApproval
			}
			u, err := models.FindUser(ctx(c), tx.DB, *inv.UserID)
			if err != nil {
				return err
			}
			member = u
			selfPay, err = s.placeInvitee(c, tx, co, inv, u, now)
			return err
		})
	if err != nil || selfPay == nil {
		return invitationAnswer(c)(out, err)
	}
	// No seat, and the cohort allows self-pay: the member gets an enrollment to pay for.
	// The admin's answer is the invitation; the order is the member's.
	inv, err := s.enrollSelfPay(c, member, selfPay)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newCohortInvitationResponse(inv, s.now()))
}

// reclaimCohortSeat handles POST …/invitations/{invitationID}/reclaim-seat: the org admin
// takes back the seat of a member who has not started an exam, whose enrollment is cancelled.
func (s *Server) reclaimCohortSeat(c echo.Context) error {
	return invitationAnswer(c)(s.cohortInvitationAction(c, "cohort_invitation.reclaim_seat",
		func(tx models.Tx, _ *orgScope, _ *models.Cohort, inv *models.CohortInvitation, now time.Time) error {
			return models.ReclaimSeat(ctx(c), tx.DB, inv, now)
		}))
}

// cohortAcceptResponse is what accepting an invitation did.
type cohortAcceptResponse struct {
	Status     string              `json:"status"` // accepted, or pending_approval by the org admin
	CohortID   uuid.UUID           `json:"cohort_id"`
	OrgID      uuid.UUID           `json:"org_id"`
	Course     string              `json:"course"`
	SeatUsed   bool                `json:"seat_used"`
	SelfPay    bool                `json:"self_pay"`
	Enrollment *enrollmentResponse `json:"enrollment"`
}

// acceptCohortInvitation handles POST /v1/invitations/{token}/accept. A signed-in user whose
// verified address is the invited one gets a seat of the org's pool and an active enrollment
// at once (or, with no seat left, a self-pay enrollment if the cohort allows it); anyone else
// waits for the org admin's approval (202).
func (s *Server) acceptCohortInvitation(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	out, err := s.acceptCohort(c, u, c.Param("token"))
	if err != nil {
		return err
	}
	if out.Status == models.CohortPendingApproval {
		return c.JSON(http.StatusAccepted, out)
	}
	return c.JSON(http.StatusOK, out)
}

// acceptCohort accepts the invitation of the link token as u: the API route and the page of
// the email's link (cohort_invitation_page.go) both accept through it.
func (s *Server) acceptCohort(c echo.Context, u *models.User, token string) (cohortAcceptResponse, error) {
	var out cohortAcceptResponse
	id, version, err := s.cohortInvitationLink(token)
	if err != nil {
		return out, err
	}
	now := s.now().Truncate(time.Microsecond)
	var (
		inv     *models.CohortInvitation
		co      *models.Cohort
		selfPay *models.Offering
		pending bool
	)
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		var err error
		if inv, err = models.LockCohortInvitation(ctx(c), tx.DB, id); err != nil {
			if models.IsNotFound(err) {
				return invitationLinkInvalid()
			}
			return err
		}
		if err := checkInvitationOpen(inv, version, now); err != nil {
			return err
		}
		if co, err = models.FindCohort(ctx(c), tx.DB, inv.OrgID, inv.CohortID); err != nil {
			return err
		}
		if co.Archived() {
			return models.ErrCohortArchived
		}
		if !u.EmailVerified() || !strings.EqualFold(u.Email, inv.Email) {
			pending = true
			return models.UpdateCohortInvitation(ctx(c), tx.DB, inv, map[string]any{"status": models.CohortPendingApproval, "user_id": u.ID})
		}
		selfPay, err = s.placeInvitee(c, tx, co, inv, u, now)
		return err
	})
	if err != nil {
		return out, err
	}
	out = cohortAcceptResponse{Status: inv.Status, CohortID: co.ID, OrgID: co.OrgID, Course: co.CourseCode}
	if pending {
		return out, nil
	}
	if selfPay != nil {
		course, err := models.FindCourse(ctx(c), s.db.Gorm, co.CourseCode)
		if err != nil {
			return out, err
		}
		e, o, checkoutURL, err := s.enroll(c, u, course, selfPay)
		if err != nil {
			return out, err
		}
		if inv, err = s.markSelfPay(c, id, u, e, now); err != nil {
			return out, err
		}
		r := newEnrollmentResponse(e, o, checkoutURL)
		out.Status, out.SelfPay, out.Enrollment = inv.Status, true, &r
		return out, nil
	}
	e, err := models.FindEnrollment(ctx(c), s.db.Gorm, *inv.EnrollmentID)
	if err != nil {
		return out, err
	}
	r := newEnrollmentResponse(e, nil, "")
	out.SeatUsed, out.Enrollment = true, &r
	return out, nil
}

// cohortInvitationLink checks a link token and returns the invitation ID and version it is for.
func (s *Server) cohortInvitationLink(token string) (uuid.UUID, int, error) {
	if s.links == nil {
		return uuid.Nil, 0, invitationLinkInvalid()
	}
	sub, err := s.links.Verify(linktoken.PurposeCohortInvitation, token)
	if err != nil && !errors.Is(err, linktoken.ErrExpired) {
		return uuid.Nil, 0, invitationLinkInvalid()
	}
	rawID, rawVersion, ok := strings.Cut(sub, ":")
	id, idErr := uuid.Parse(rawID)
	version, vErr := strconv.Atoi(rawVersion)
	if !ok || idErr != nil || vErr != nil {
		return uuid.Nil, 0, invitationLinkInvalid()
	}
	if err != nil {
		return uuid.Nil, 0, invitationExpired()
	}
	return id, version, nil
}

func invitationLinkInvalid() error {
	return problem(http.StatusNotFound, "invitation-not-found", "this invitation link is not valid; ask the organization to send it again")
}

func invitationExpired() error {
	return problem(http.StatusGone, "invitation-expired", "this invitation has expired; ask the organization to send it again")
}

// checkInvitationOpen refuses a link that no longer works: a used, revoked, replaced or
// expired invitation.
func checkInvitationOpen(inv *models.CohortInvitation, version int, now time.Time) error {
	switch {
	case inv.Status == models.CohortAccepted:
		return models.ErrInvitationUsed
	case inv.Status == models.CohortRevoked:
		return problem(http.StatusGone, "invitation-revoked", "the organization revoked this invitation")
	case version != inv.TokenVersion:
		return problem(http.StatusGone, "invitation-link-replaced", "a newer invitation email replaced this link; open the link in the newest one")
	case !now.Before(inv.ExpiresAt):
		return invitationExpired()
	}
	return nil
}

// placeInvitee enrolls the user in the cohort's course, within tx where inv is locked. The
// offering is the one the member qualifies for, whatever the cohort's: a renewal when they are
// eligible to renew the course, else an initial. It takes one seat of the org's pool for that
// offering in one atomic statement and creates the active, org-paid enrollment, marking the
// invitation accepted. With no seat left it returns the offering to enroll in as self-pay if
// the cohort allows that (the caller enrolls outside tx, as POST /v1/enrollments does), else
// ErrNoSeatsLeft.
func (s *Server) placeInvitee(c echo.Context, tx models.Tx, co *models.Cohort, inv *models.CohortInvitation, u *models.User, now time.Time) (*models.Offering, error) {
	course, err := models.FindCourse(ctx(c), tx.DB, co.CourseCode)
	if err != nil {
		return nil, err
	}
	kind := models.OfferingInitial
	err = models.CheckRenewalEligibility(ctx(c), tx.DB, u.ID, course, s.today())
	var de *models.Error
	switch {
	case err == nil:
		kind = models.OfferingRenewal
	case !errors.As(err, &de):
		return nil, err
	}
	var off *models.Offering
	for i := range course.Offerings {
		if course.Offerings[i].Kind == kind {
			off = &course.Offerings[i]
		}
	}
	if off == nil {
		return nil, models.Invalid("offering", "this course has no "+kind+" offering")
	}
	took, err := models.TakeSeat(ctx(c), tx.DB, co.OrgID, course.Code, kind, now)
	if err != nil {
		return nil, err
	}
	if !took {
		if co.AllowSelfPay {
			return off, nil
		}
		return nil, models.ErrNoSeatsLeft
	}
	e, err := models.CreateSeatEnrollment(ctx(c), tx.DB, u.ID, co.OrgID, course, kind, now)
	if err != nil {
		return nil, err
	}
	return nil, models.UpdateCohortInvitation(ctx(c), tx.DB, inv, map[string]any{
		"status": models.CohortAccepted, "user_id": u.ID, "enrollment_id": e.ID, "seat_used": true, "accepted_at": now})
}

// enrollSelfPay enrolls the member in off to pay themselves and marks the invitation
// accepted as self-pay (the approval path; acceptance does the same inline).
func (s *Server) enrollSelfPay(c echo.Context, u *models.User, off *models.Offering) (*models.CohortInvitation, error) {
	id, err := pathID(c, "invitationID")
	if err != nil {
		return nil, err
	}
	course, err := models.FindCourse(ctx(c), s.db.Gorm, off.CourseCode)
	if err != nil {
		return nil, err
	}
	e, _, _, err := s.enroll(c, u, course, off)
	if err != nil {
		return nil, err
	}
	return s.markSelfPay(c, id, u, e, s.now().Truncate(time.Microsecond))
}

// markSelfPay records that the member enrolled to pay themselves. Should the invitation have
// been accepted or revoked meanwhile, the refusal is returned; the unpaid enrollment then
// expires with its checkout like any other.
func (s *Server) markSelfPay(c echo.Context, id uuid.UUID, u *models.User, e *models.Enrollment, now time.Time) (*models.CohortInvitation, error) {
	var inv *models.CohortInvitation
	err := s.db.InTx(ctx(c), func(tx models.Tx) error {
		var err error
		if inv, err = models.LockCohortInvitation(ctx(c), tx.DB, id); err != nil {
			return err
		}
		switch inv.Status {
		case models.CohortAccepted:
			return models.ErrInvitationUsed
		case models.CohortRevoked:
			return models.ErrInvitationRevoked
		}
		return models.UpdateCohortInvitation(ctx(c), tx.DB, inv, map[string]any{
			"status": models.CohortAccepted, "user_id": u.ID, "enrollment_id": e.ID, "self_pay": true, "accepted_at": now})
	})
	return inv, err
}
