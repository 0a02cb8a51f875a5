package api

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/exam"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// Exam attempts. Only the learner who owns an attempt (and its enrollment) sees it: anyone
// else gets not-found. Nothing here ever answers an item's key or rationale, and option IDs
// on a form are per-attempt labels ("A", "B", … in the shuffled order), not the bank's
// option IDs, so no field hints at the key however the bank's authors named their options.
// Grading is jobs.GradeAttempt, shared with the job that grades attempts left past their
// deadline.

// attemptRoutes registers the learner's exam attempts.
func (s *Server) attemptRoutes(g *echo.Group) {
	g.POST("/enrollments/:id/attempts", s.startAttempt, s.idempotent)
	g.GET("/enrollments/:id/attempts", s.listAttempts)
	g.GET("/attempts/:id", s.getAttempt)
	g.PUT("/attempts/:id/answers/:itemID", s.saveAnswer)
	g.POST("/attempts/:id/submit", s.submitAttempt)
}

// attemptOptionResponse is an answer choice as the learner sees it: a per-attempt label.
type attemptOptionResponse struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// vitalsResponse is the monitor panel of an item, with its text alternative.
type vitalsResponse struct {
	HR                 *int   `json:"hr,omitempty"`
	BP                 string `json:"bp,omitempty"`
	SpO2               *int   `json:"spo2,omitempty"`
	ETCO2              *int   `json:"etco2,omitempty"`
	Rhythm             string `json:"rhythm,omitempty"`
	PeakAirwayPressure *int   `json:"peak_airway_pressure,omitempty"`
	Text               string `json:"text"`
}

// attemptItemResponse is an item on a learner's form: never its key or rationale.
type attemptItemResponse struct {
	ID      string                  `json:"id"`
	Kind    string                  `json:"kind"`
	Stem    string                  `json:"stem"`
	Vitals  *vitalsResponse         `json:"vitals,omitempty"`
	Options []attemptOptionResponse `json:"options"`
}

// answerResponse is a saved answer, in the form's option labels.
type answerResponse struct {
	ItemID     string    `json:"item_id"`
	Choices    []string  `json:"choices"`
	AnsweredAt time.Time `json:"answered_at"`
}

// domainResultResponse is a result in one domain of the blueprint.
type domainResultResponse struct {
	Domain  string `json:"domain"`
	Correct int    `json:"correct"`
	Total   int    `json:"total"`
}

// attemptResultResponse is a graded attempt's result, as the learner sees it.
type attemptResultResponse struct {
	Score    float64                `json:"score"`
	Passed   bool                   `json:"passed"`
	PassMark int                    `json:"pass_mark"`
	Correct  int                    `json:"correct"`
	Total    int                    `json:"total"`
	Domains  []domainResultResponse `json:"domains"`
}

// attemptSummaryResponse is an attempt without its form.
type attemptSummaryResponse struct {
	ID               uuid.UUID              `json:"id"`
	EnrollmentID     uuid.UUID              `json:"enrollment_id"`
	Course           string                 `json:"course"`
	Number           int                    `json:"number"`
	Status           string                 `json:"status"`
	StartedAt        time.Time              `json:"started_at"`
	Deadline         time.Time              `json:"deadline"`
	TimeLimitMinutes float64                `json:"time_limit_minutes"`
	TimeLeftSeconds  int                    `json:"time_left_seconds"`
	SubmittedAt      *time.Time             `json:"submitted_at"`
	GradedAt         *time.Time             `json:"graded_at"`
	Result           *attemptResultResponse `json:"result"`
}

// attemptResponse is an attempt with its form, in the order drawn, and the saved answers.
type attemptResponse struct {
	attemptSummaryResponse
	Items   []attemptItemResponse `json:"items"`
	Answers []answerResponse      `json:"answers"`
}

func newAttemptSummary(a *models.Attempt, now time.Time) attemptSummaryResponse {
	r := attemptSummaryResponse{
		ID: a.ID, EnrollmentID: a.EnrollmentID, Course: a.CourseCode, Number: a.Number, Status: a.Status,
		StartedAt: a.StartedAt.UTC(), Deadline: a.Deadline.UTC(),
		TimeLimitMinutes: math.Round(a.Deadline.Sub(a.StartedAt).Minutes()*100) / 100,
		SubmittedAt:      utcPtr(a.SubmittedAt), GradedAt: utcPtr(a.GradedAt), Result: newAttemptResult(a),
	}
	if a.Status == models.AttemptInProgress && now.Before(a.Deadline) {
		r.TimeLeftSeconds = int(math.Ceil(a.Deadline.Sub(now).Seconds()))
	}
	return r
}

// newAttemptResult returns the result of a graded attempt, or nil.
func newAttemptResult(a *models.Attempt) *attemptResultResponse {
	if a.Status != models.AttemptGraded || a.Score == nil || a.Passed == nil || a.PassMark == nil || a.Correct == nil || a.Total == nil {
		return nil
	}
	r := &attemptResultResponse{Score: *a.Score, Passed: *a.Passed, PassMark: *a.PassMark, Correct: *a.Correct,
		Total: *a.Total, Domains: make([]domainResultResponse, len(a.Domains))}
	for i, d := range a.Domains {
		r.Domains[i] = domainResultResponse(d)
	}
	return r
}

// newAttemptResponse shows the form of a with the items of bank, and the answers saved.
func newAttemptResponse(a *models.Attempt, bank map[string]models.Item, answers []models.AttemptAnswer, now time.Time) (attemptResponse, error) {
	r := attemptResponse{attemptSummaryResponse: newAttemptSummary(a, now),
		Items: make([]attemptItemResponse, 0, len(a.Form)), Answers: []answerResponse{}}
	saved := make(map[string]models.AttemptAnswer, len(answers))
	for _, ans := range answers {
		saved[ans.ItemID] = ans
	}
	for _, f := range a.Form {
		it, ok := bank[f.ItemID]
		if !ok {
			return r, fmt.Errorf("attempt %s: item %s of its form is missing", a.ID, f.ItemID)
		}
		r.Items = append(r.Items, newAttemptItem(&it, f))
		if ans, ok := saved[f.ItemID]; ok && len(ans.Choices) > 0 {
			r.Answers = append(r.Answers, answerResponse{ItemID: f.ItemID, Choices: optionLabels(f, ans.Choices), AnsweredAt: ans.AnsweredAt.UTC()})
		}
	}
	return r, nil
}

// newAttemptItem shows it with its options in the form's order, labelled by position.
func newAttemptItem(it *models.Item, f models.AttemptFormItem) attemptItemResponse {
	text := make(map[string]string, len(it.Options))
	for _, o := range it.Options {
		text[o.ID] = o.Text
	}
	r := attemptItemResponse{ID: it.ID, Kind: it.Kind, Stem: it.Stem, Options: make([]attemptOptionResponse, len(f.Options))}
	for i, id := range f.Options {
		r.Options[i] = attemptOptionResponse{ID: optionLabel(i), Text: text[id]}
	}
	if v := it.Vitals; v != nil {
		r.Vitals = &vitalsResponse{HR: v.HR, BP: v.BP, SpO2: v.SpO2, ETCO2: v.ETCO2, Rhythm: v.Rhythm,
			PeakAirwayPressure: v.PeakAirwayPressure, Text: v.Text}
	}
	return r
}

// optionLabel is the ID a learner sees for the option at position i of an item on their form.
func optionLabel(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return strconv.Itoa(i + 1)
}

// optionLabels turns bank option IDs into the form's labels.
func optionLabels(f models.AttemptFormItem, ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if i := slices.Index(f.Options, id); i >= 0 {
			out = append(out, optionLabel(i))
		}
	}
	return out
}

// startAttemptInput is the body of POST /v1/enrollments/{id}/attempts.
type startAttemptInput struct {
	Attestation *bool `json:"attestation"`
}

// startAttempt handles POST /v1/enrollments/{id}/attempts: the learner attests that they are
// the account holder and work alone, and gets a fresh form with a server-side deadline. Of
// two starts racing, one wins and the other is 409 attempt-in-progress (the unique index on
// the open attempt decides); the loser resumes the winner's attempt with GET.
func (s *Server) startAttempt(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in startAttemptInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	if in.Attestation == nil || !*in.Attestation {
		return models.Invalid("attestation", "must be true: you attest that you are the account holder and work alone")
	}
	enr, course, number, err := s.attemptableEnrollment(c, u, id)
	if err != nil {
		return err
	}
	form, bank, err := s.drawForm(c, u, course)
	if err != nil {
		return err
	}
	a, err := s.createAttempt(c, enr, course, number, form)
	if err != nil {
		return err
	}
	out, err := newAttemptResponse(a, bank, nil, s.now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

// enrollmentForAttempts returns the caller's enrollment; anyone else's is not found.
func (s *Server) enrollmentForAttempts(c echo.Context, u *models.User, id uuid.UUID) (*models.Enrollment, error) {
	enr, err := models.FindEnrollment(ctx(c), s.db.Gorm, id)
	if err != nil {
		return nil, err
	}
	if enr.UserID != u.ID {
		return nil, models.ErrNotFound
	}
	return enr, nil
}

// attemptableEnrollment returns the caller's enrollment with its course and the number of
// the next attempt, if one may start: the enrollment is active, no attempt is in progress,
// the exam is not passed yet, and the course's attempts are not used up.
func (s *Server) attemptableEnrollment(c echo.Context, u *models.User, id uuid.UUID) (*models.Enrollment, *models.Course, int, error) {
	enr, err := s.enrollmentForAttempts(c, u, id)
	if err != nil {
		return nil, nil, 0, err
	}
	if enr.Status != models.EnrollmentActive {
		return nil, nil, 0, models.ErrEnrollmentNotActive
	}
	tally, err := models.TallyAttempts(ctx(c), s.db.Gorm, enr.ID)
	if err != nil {
		return nil, nil, 0, err
	}
	if tally.InProgress {
		return nil, nil, 0, models.ErrAttemptInProgress
	}
	if tally.Passed {
		return nil, nil, 0, models.ErrExamPassed
	}
	course, err := models.FindCourse(ctx(c), s.db.Gorm, enr.CourseCode)
	if err != nil {
		return nil, nil, 0, err
	}
	if tally.Count >= course.Exam.Attempts {
		return nil, nil, 0, models.ErrNoAttemptsLeft
	}
	return enr, course, tally.Count + 1, nil
}

// drawForm assembles a fresh form from the course's live bank by its blueprint, avoiding the
// items the learner saw in earlier attempts where the bank allows. It returns the form and
// the bank by item ID.
func (s *Server) drawForm(c echo.Context, u *models.User, course *models.Course) ([]models.AttemptFormItem, map[string]models.Item, error) {
	live, err := models.ListLiveItems(ctx(c), s.db.Gorm, course.Code)
	if err != nil {
		return nil, nil, err
	}
	seenIDs, err := models.ListSeenItemIDs(ctx(c), s.db.Gorm, u.ID, course.Code)
	if err != nil {
		return nil, nil, err
	}
	seen := make(map[string]bool, len(seenIDs))
	for _, id := range seenIDs {
		seen[id] = true
	}
	bank, pool := make(map[string]models.Item, len(live)), make([]exam.Item, len(live))
	for i, it := range live {
		bank[it.ID], pool[i] = it, jobs.ExamItem(it)
	}
	form, err := exam.Assemble(pool, exam.Blueprint(course.Exam.Blueprint), course.Exam.Questions, seen, newExamRand())
	if errors.Is(err, exam.ErrBankTooSmall) {
		s.log.ErrorContext(ctx(c), "question bank too small for the blueprint", "course", course.Code, "live_items", len(live))
		p := problem(http.StatusServiceUnavailable, "exam-unavailable", "the exam of this course cannot be delivered right now; the program has been told")
		p.Title = "Exam unavailable"
		return nil, nil, p
	}
	if err != nil {
		return nil, nil, err
	}
	out := make([]models.AttemptFormItem, len(form))
	for i, f := range form {
		out[i] = models.AttemptFormItem(f)
	}
	return out, bank, nil
}

// newExamRand returns a generator seeded from the operating system's secure source, so a
// learner cannot predict a form or the order of its options.
func newExamRand() *rand.Rand {
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails: crypto/rand crashes the program instead
	return rand.New(rand.NewChaCha8(seed))
}

// createAttempt stores the attempt, with its deadline stretched by the learner's
// accommodation and the client's address and user agent.
func (s *Server) createAttempt(c echo.Context, enr *models.Enrollment, course *models.Course, number int, form []models.AttemptFormItem) (*models.Attempt, error) {
	mult, err := models.TimeMultiplier(ctx(c), s.db.Gorm, enr.UserID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond) // as stored, so GET answers the same
	limit := time.Duration(course.Exam.TimeLimitMinutes) * time.Minute
	a := &models.Attempt{
		EnrollmentID: enr.ID, UserID: enr.UserID, CourseCode: course.Code, Number: number, Form: form,
		TimeMultiplier: mult, StartedAt: now, Deadline: exam.Deadline(now, limit, mult), AttestedAt: now,
		ClientIP: c.RealIP(), UserAgent: c.Request().UserAgent(),
	}
	return a, models.CreateAttempt(ctx(c), s.db.Gorm, a)
}

// ownAttempt returns the caller's attempt; anyone else's is not found.
func (s *Server) ownAttempt(c echo.Context, u *models.User) (*models.Attempt, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	a, err := models.FindAttempt(ctx(c), s.db.Gorm, id)
	if err != nil {
		return nil, err
	}
	if a.UserID != u.ID {
		return nil, models.ErrNotFound
	}
	return a, nil
}

// getAttempt handles GET /v1/attempts/{id}: resume an attempt with the same form in the same
// order, the saved answers and the time left; a graded one also shows its result.
func (s *Server) getAttempt(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	a, err := s.ownAttempt(c, u)
	if err != nil {
		return err
	}
	bank, err := models.FindItems(ctx(c), s.db.Gorm, a.ItemIDs())
	if err != nil {
		return err
	}
	answers, err := models.ListAnswers(ctx(c), s.db.Gorm, a.ID)
	if err != nil {
		return err
	}
	out, err := newAttemptResponse(a, bank, answers, s.now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// answerInput is the body of PUT /v1/attempts/{id}/answers/{itemID}.
type answerInput struct {
	Choices []string `json:"choices"`
}

// saveAnswer handles PUT /v1/attempts/{id}/answers/{itemID}: autosave of one answer, in the
// form's option labels. An empty list clears it. The save is one upsert, refused once the
// deadline has passed or the attempt is graded (409 attempt-closed).
func (s *Server) saveAnswer(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	var in answerInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	if in.Choices == nil {
		return models.Invalid("choices", "is required; an empty list clears the answer")
	}
	a, err := s.ownAttempt(c, u)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	if !a.Open(now) {
		return models.ErrAttemptClosed
	}
	ans, err := s.answerFor(c, a, c.Param("itemID"), in.Choices)
	if err != nil {
		return err
	}
	ans.AnsweredAt, ans.ClientIP = now, c.RealIP()
	if err := models.SaveAnswer(ctx(c), s.db.Gorm, ans, now); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// answerFor checks that the item is on the attempt's form and that the labels name distinct
// options of it (one at most for a single-answer item), and returns the answer in the
// bank's option IDs.
func (s *Server) answerFor(c echo.Context, a *models.Attempt, itemID string, labels []string) (*models.AttemptAnswer, error) {
	f := a.FormItem(itemID)
	if f == nil {
		return nil, models.Invalid("item_id", "is not on this attempt's form")
	}
	items, err := models.FindItems(ctx(c), s.db.Gorm, []string{itemID})
	if err != nil {
		return nil, err
	}
	if items[itemID].Kind == models.ItemSingle && len(labels) > 1 {
		return nil, models.Invalid("choices", "a single-answer item takes one choice")
	}
	ve := &models.ValidationError{}
	chosen := make([]string, 0, len(labels))
	for i, l := range labels {
		id, ok := optionOf(*f, l)
		switch {
		case !ok:
			ve.Add(fmt.Sprintf("choices[%d]", i), "is not an option of this item")
		case slices.Contains(chosen, id):
			ve.Add(fmt.Sprintf("choices[%d]", i), "is chosen twice")
		default:
			chosen = append(chosen, id)
		}
	}
	if err := ve.Err(); err != nil {
		return nil, err
	}
	return &models.AttemptAnswer{AttemptID: a.ID, ItemID: itemID, Choices: chosen}, nil
}

// optionOf returns the bank option ID behind a label on the form.
func optionOf(f models.AttemptFormItem, label string) (string, bool) {
	for i, id := range f.Options {
		if optionLabel(i) == label {
			return id, true
		}
	}
	return "", false
}

// submitAttempt handles POST /v1/attempts/{id}/submit: grade the attempt with the answers
// saved. Grading happens once: a second or concurrent submit (or the expiry job) waits for
// the first and answers the same stored result. A submit after the deadline grades what was
// saved by then, as the job would.
func (s *Server) submitAttempt(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	a, err := s.ownAttempt(c, u)
	if err != nil {
		return err
	}
	graded, err := jobs.GradeAttempt(ctx(c), s.db, s.issuance(), a.ID, s.now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newAttemptResult(graded))
}

// listAttempts handles GET /v1/enrollments/{id}/attempts: the caller's attempts of their
// enrollment by number, with results, without forms.
func (s *Server) listAttempts(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	enr, err := s.enrollmentForAttempts(c, u, id)
	if err != nil {
		return err
	}
	rows, err := models.ListAttempts(ctx(c), s.db.Gorm, enr.ID)
	if err != nil {
		return err
	}
	now := s.now()
	return c.JSON(http.StatusOK, newList(rows, nil, func(a models.Attempt) attemptSummaryResponse { return newAttemptSummary(&a, now) }))
}
