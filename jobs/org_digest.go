package jobs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/models"
)

// OrgDigestArgs asks for this week's digests to org admins: their members' credentials that
// expire soon or expired recently.
type OrgDigestArgs struct{}

// Kind is the job kind.
func (OrgDigestArgs) Kind() string { return "org_digest" }

// orgDigestHour is the hour on Monday, on the issuer's calendar, from which the week's digest
// is sent.
const orgDigestHour = 8

// OrgDigestWorker sends each admin of each org one digest a week, on or after Monday 08:00 on
// the issuer's calendar. The job runs hourly; org_digests records each (org, admin, week) in
// the transaction that queues its email, so later runs of the week, a concurrent run or a
// retry send nothing twice, and a run after downtime catches the week up. An admin whose org
// has nothing to report is recorded too, without an email: the week is decided once, and a
// credential entering the window later in the week is in next week's digest.
type OrgDigestWorker struct {
	river.WorkerDefaults[OrgDigestArgs]
	deps Deps
}

// Work sends the digests of the current week that are due and not yet sent.
func (w *OrgDigestWorker) Work(ctx context.Context, job *river.Job[OrgDigestArgs]) error {
	now := w.deps.Now()
	weekOf, due := digestWeek(now, w.deps.Location)
	if !due {
		return nil
	}
	today := civilDay(now.In(w.deps.Location))
	ins := river.ClientFromContext[pgx.Tx](ctx)
	sent := 0
	err := w.deps.DB.InTx(ctx, func(tx models.Tx) error {
		recipients, err := models.ClaimOrgDigests(ctx, tx.DB, weekOf, now)
		if err != nil || len(recipients) == 0 {
			return err
		}
		entries, err := models.ListOrgDigestEntries(ctx, tx.DB, digestOrgs(recipients), today)
		if err != nil {
			return err
		}
		byOrg := map[uuid.UUID][]models.OrgDigestEntry{}
		for _, e := range entries {
			byOrg[e.OrgID] = append(byOrg[e.OrgID], e)
		}
		for _, r := range recipients {
			if len(byOrg[r.OrgID]) == 0 {
				continue
			}
			o := Outgoing{ID: uuid.New(), To: r.Email, UserID: &r.UserID, Template: "org_digest",
				Data: digestData(r, byOrg[r.OrgID], weekOf, today)}
			if err := QueueMail(ctx, ins, w.deps.Keyring, tx, o); err != nil {
				return fmt.Errorf("digest of org %s to %s: %w", r.OrgID, r.UserID, err)
			}
			if err := models.SetOrgDigestOutbox(ctx, tx.DB, r.OrgID, r.UserID, weekOf, o.ID); err != nil {
				return err
			}
			sent++
		}
		return nil
	})
	if err == nil && sent > 0 {
		w.deps.Log.InfoContext(ctx, "sent org digests", "week_of", weekOf.Format(time.DateOnly), "emails", sent)
	}
	return err
}

// digestWeek returns the Monday starting now's week on loc's calendar (as a date at UTC
// midnight), and whether that week's digest is due: from Monday 08:00 local time on.
func digestWeek(now time.Time, loc *time.Location) (time.Time, bool) {
	local := now.In(loc)
	sinceMonday := (int(local.Weekday()) + 6) % 7
	y, m, d := local.Date()
	sendFrom := time.Date(y, m, d-sinceMonday, orgDigestHour, 0, 0, 0, loc)
	return time.Date(y, m, d-sinceMonday, 0, 0, 0, 0, time.UTC), !local.Before(sendFrom)
}

// civilDay is t's calendar day as a date at UTC midnight, the form dates are read back in.
func civilDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func digestOrgs(rs []models.OrgDigestRecipient) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	for _, r := range rs {
		if !seen[r.OrgID] {
			seen[r.OrgID] = true
			out = append(out, r.OrgID)
		}
	}
	return out
}

// digestCourse is one course's section of a digest.
type digestCourse struct {
	Title   string
	Members []digestLine
}

// digestLine is one member's credential in a digest.
type digestLine struct {
	Name, Email, Code, ValidThrough, When string
	Expired                               bool
}

// digestData is the org_digest template's data. Entries come grouped by course, soonest
// expiry first (see models.ListOrgDigestEntries).
func digestData(r models.OrgDigestRecipient, entries []models.OrgDigestEntry, weekOf, today time.Time) map[string]any {
	var courses []digestCourse
	for _, e := range entries {
		if len(courses) == 0 || courses[len(courses)-1].Title != e.CourseTitle {
			courses = append(courses, digestCourse{Title: e.CourseTitle})
		}
		days := int(civilDay(e.ValidThrough).Sub(today).Hours() / 24)
		c := &courses[len(courses)-1]
		c.Members = append(c.Members, digestLine{Name: e.MemberName, Email: e.Email, Code: e.Code,
			ValidThrough: e.ValidThrough.Format("January 2, 2006"), When: relativeDays(days), Expired: days < 0})
	}
	return map[string]any{
		"Name": r.Name, "OrgName": r.OrgName, "WeekOf": weekOf.Format("January 2, 2006"),
		"Count": len(entries), "Courses": courses, "Ahead": models.OrgDigestAhead, "Behind": models.OrgDigestBehind,
	}
}

// relativeDays says how a credential valid through a day that is days from today stands.
func relativeDays(days int) string {
	switch {
	case days == 0:
		return "expires today"
	case days == 1:
		return "expires tomorrow"
	case days > 1:
		return "expires in " + strconv.Itoa(days) + " days"
	case days == -1:
		return "expired yesterday"
	}
	return "expired " + strconv.Itoa(-days) + " days ago"
}

// orgDigestJob runs the digest hourly (and at start, so frequent restarts never starve it);
// the week rule in OrgDigestWorker makes all but the first due run of a week no-ops.
func orgDigestJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return OrgDigestArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}
