package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/models"
	"github.com/aalscert/aalscert/webhookhttp"
)

// WebhookDeliveryArgs delivers one event of an org's feed to one of its endpoints.
type WebhookDeliveryArgs struct {
	EventID   int64     `json:"event_id"`
	WebhookID uuid.UUID `json:"webhook_id"`
}

// Kind names the job.
func (WebhookDeliveryArgs) Kind() string { return "webhook_delivery" }

// webhookMaxAttempts with webhookRetryDelay spans about a day (24 h 15 min) of retries.
const webhookMaxAttempts = 15

// InsertOpts sets the attempts that span a day of retries.
func (WebhookDeliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: webhookMaxAttempts}
}

// webhookRetryDelay is the wait after the given failed attempt: 30 s doubling, at most 4 h.
func webhookRetryDelay(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < 4*time.Hour; i++ {
		d *= 2
	}
	return min(d, 4*time.Hour)
}

// EnqueueWebhookDeliveries enqueues the deliveries an emitted event asks for, in tx, the
// transaction that recorded the event.
func EnqueueWebhookDeliveries(ctx context.Context, ins Inserter, tx models.Tx, targets []models.WebhookTarget) error {
	for _, t := range targets {
		if _, err := ins.InsertTx(ctx, tx.Conn, WebhookDeliveryArgs{EventID: t.EventID, WebhookID: t.WebhookID}, nil); err != nil {
			return fmt.Errorf("enqueue delivery of event %d to webhook %s: %w", t.EventID, t.WebhookID, err)
		}
	}
	return nil
}

// WebhookDeliveryWorker sends an event to an endpoint, retrying with backoff for a day.
type WebhookDeliveryWorker struct {
	river.WorkerDefaults[WebhookDeliveryArgs]
	sender *WebhookSender
}

// NextRetry backs off exponentially (see webhookRetryDelay).
func (w *WebhookDeliveryWorker) NextRetry(job *river.Job[WebhookDeliveryArgs]) time.Time {
	return w.sender.deps.Now().Add(webhookRetryDelay(job.Attempt))
}

// Timeout leaves room for the HTTP attempt and recording it.
func (w *WebhookDeliveryWorker) Timeout(*river.Job[WebhookDeliveryArgs]) time.Duration {
	return webhookhttp.Timeout + 20*time.Second
}

// Work delivers the event once. An endpoint deleted or disabled meanwhile, or an event
// pruned from the feed, ends the job; a failure is retried.
func (w *WebhookDeliveryWorker) Work(ctx context.Context, job *river.Job[WebhookDeliveryArgs]) error {
	db := w.sender.deps.DB.Gorm
	hook, err := models.FindWebhookByID(ctx, db, job.Args.WebhookID)
	if models.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if hook.DisabledAt != nil {
		return nil
	}
	ev, err := models.FindOrgEvent(ctx, db, job.Args.EventID)
	if models.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	msg := WebhookMessage{ID: strconv.FormatInt(ev.ID, 10), Type: ev.Type, Timestamp: ev.CreatedAt, Data: ev.Data, EventID: &ev.ID}
	d, err := w.sender.Deliver(ctx, river.ClientFromContext[pgx.Tx](ctx), hook, msg, job.Attempt)
	if err != nil {
		return err
	}
	if d.Status == models.DeliveryFailed {
		return errors.New(deref(d.Error))
	}
	return nil
}

// WebhookMessage is what a delivery sends. ID is the webhook-id header: the event's ID, the
// same on every retry, so receivers can drop duplicates.
type WebhookMessage struct {
	ID        string
	Type      string
	Timestamp time.Time
	Data      json.RawMessage
	EventID   *int64 // nil for a test event
}

// WebhookSender signs and sends webhook messages and records each attempt. The worker and
// the API's "send test event" use it, so a test travels the same path as events.
type WebhookSender struct {
	deps   Deps
	client *http.Client
}

// NewWebhookSender returns a sender; d.AllowLoopbackWebhooks lets it reach loopback
// addresses (local development only).
func NewWebhookSender(d Deps) *WebhookSender {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &WebhookSender{deps: d, client: webhookhttp.NewClient(d.AllowLoopbackWebhooks)}
}

// maxResponseRead bounds how much of an endpoint's answer is read.
const maxResponseRead = 64 << 10

// Deliver sends msg to hook, records the attempt and returns it. After a day of failures of
// real events, the endpoint is disabled and its org's admins are emailed, once. The error is
// for failures to record, not for the endpoint failing.
func (s *WebhookSender) Deliver(ctx context.Context, ins Inserter, hook *models.Webhook, msg WebhookMessage, attempt int) (*models.WebhookDelivery, error) {
	secret, err := s.deps.Keyring.Open(hook.SecretSealed, hook.ID[:])
	if err != nil {
		return nil, fmt.Errorf("open secret of webhook %s: %w", hook.ID, err)
	}
	body, err := json.Marshal(struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}{msg.Type, msg.Timestamp.UTC(), msg.Data})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	code, sendErr := s.send(ctx, hook.URL, secret, msg.ID, body)
	d := &models.WebhookDelivery{ID: uuid.New(), WebhookID: hook.ID, EventID: msg.EventID, EventType: msg.Type,
		Attempt: attempt, Status: models.DeliverySucceeded, DurationMS: int(time.Since(start).Milliseconds()),
		CreatedAt: s.deps.Now().Truncate(time.Microsecond)}
	if code != 0 {
		d.ResponseCode = &code
	}
	if sendErr != nil {
		e := truncateError(sendErr.Error())
		d.Status, d.Error = models.DeliveryFailed, &e
	}
	err = s.deps.DB.InTx(ctx, func(tx models.Tx) error {
		after, err := models.RecordWebhookDelivery(ctx, tx.DB, d)
		if err != nil {
			return err
		}
		if d.Status == models.DeliverySucceeded || after.FailingSince == nil || after.DisabledAt != nil ||
			d.CreatedAt.Sub(*after.FailingSince) < models.WebhookFailureLimit {
			return nil
		}
		return s.disable(ctx, ins, tx, after, *d.Error)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// send makes one signed request and returns the status code, and an error unless 2xx.
func (s *WebhookSender) send(ctx context.Context, url string, secret []byte, id string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, webhookhttp.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	webhookhttp.SetHeaders(req.Header, secret, id, s.deps.Now(), body)
	req.Header.Set("User-Agent", "aalscert-webhooks/1")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Errorf("%w (HTTP %d)", webhookhttp.ErrRedirect, resp.StatusCode)
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		return resp.StatusCode, fmt.Errorf("endpoint answered HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// disable turns off an endpoint that failed for a day and emails the org's admins, in tx;
// only the call that disabled it sends the emails.
func (s *WebhookSender) disable(ctx context.Context, ins Inserter, tx models.Tx, hook *models.Webhook, lastErr string) error {
	now := s.deps.Now()
	first, err := models.DisableWebhook(ctx, tx.DB, hook.ID, "failed every delivery for a day: "+lastErr, now)
	if err != nil || !first {
		return err
	}
	org, err := models.FindOrg(ctx, tx.DB, hook.OrgID)
	if err != nil {
		return err
	}
	admins, err := models.OrgAdminEmails(ctx, tx.DB, hook.OrgID)
	if err != nil {
		return err
	}
	for _, to := range admins {
		if err := QueueMail(ctx, ins, s.deps.Keyring, tx, Outgoing{To: to, Template: "webhook_disabled", Data: map[string]any{
			"OrgName": org.Name, "OrgID": org.ID.String(), "URL": hook.URL, "LastError": lastErr,
			"Since": hook.FailingSince.UTC().Format(time.RFC1123), "Date": now.UTC().Format(time.RFC1123),
		}}); err != nil {
			return err
		}
	}
	return nil
}

func truncateError(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
