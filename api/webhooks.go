package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/lib/pq"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
	"github.com/aalscert/aalscert/webhookhttp"
)

// Webhooks are for org admins only: an endpoint receives every event of the org's feed.

// webhookResponse is an endpoint as listed; the secret is never shown again.
type webhookResponse struct {
	ID             uuid.UUID  `json:"id"`
	URL            string     `json:"url"`
	EventTypes     []string   `json:"event_types"`
	FailingSince   *time.Time `json:"failing_since"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason *string    `json:"disabled_reason"`
	CreatedAt      time.Time  `json:"created_at"`
}

// createdWebhookResponse is the answer to the creation: the only time the secret is shown.
type createdWebhookResponse struct {
	webhookResponse
	Secret string `json:"secret"`
}

func newWebhookResponse(w *models.Webhook) webhookResponse {
	return webhookResponse{ID: w.ID, URL: w.URL, EventTypes: w.EventTypes, FailingSince: utcPtr(w.FailingSince),
		DisabledAt: utcPtr(w.DisabledAt), DisabledReason: w.DisabledReason, CreatedAt: w.CreatedAt.UTC()}
}

// webhookInput is the body of POST /v1/orgs/{orgID}/webhooks.
type webhookInput struct {
	URL        *string  `json:"url"`
	EventTypes []string `json:"event_types"`
}

func (in webhookInput) validate(allowLoopback bool) error {
	ve := &models.ValidationError{}
	if in.URL == nil {
		ve.Add("url", "is required")
	} else if err := webhookhttp.CheckURL(*in.URL, allowLoopback); err != nil {
		ve.Add("url", err.Error())
	}
	if len(in.EventTypes) == 0 {
		ve.Add("event_types", "name at least one event type")
	}
	for _, t := range in.EventTypes {
		if !slices.Contains(models.EventTypes, t) {
			ve.Add("event_types", "unknown event type "+t)
			break
		}
	}
	return ve.Err()
}

// createWebhook handles POST /v1/orgs/{orgID}/webhooks (admin): 201 with the signing secret,
// shown this once and stored sealed.
func (s *Server) createWebhook(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	var in webhookInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	if err := in.validate(s.loopbackWebhooks()); err != nil {
		return err
	}
	types := slices.Compact(slices.Sorted(slices.Values(in.EventTypes)))
	raw, shown := webhookhttp.NewSecret()
	w := &models.Webhook{ID: uuid.New(), OrgID: sc.Org.ID, URL: *in.URL, EventTypes: pq.StringArray(types),
		CreatedBy: sc.user().ID, CreatedAt: s.now().Truncate(time.Microsecond)}
	w.SecretSealed = s.keyring.Seal(raw, w.ID[:])
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if err := models.CreateWebhook(ctx(c), tx.DB, w); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "webhook.create", ObjectType: "webhook",
			ObjectID: w.ID.String(), After: newWebhookResponse(w)})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createdWebhookResponse{webhookResponse: newWebhookResponse(w), Secret: shown})
}

// listWebhooks handles GET /v1/orgs/{orgID}/webhooks (admin), oldest first, without secrets.
func (s *Server) listWebhooks(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	rows, err := models.ListWebhooks(ctx(c), s.db.Gorm, sc.Org.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, nil, func(w models.Webhook) webhookResponse { return newWebhookResponse(&w) }))
}

// orgWebhook loads :webhookID within the org (admin); another org's is not found.
func (s *Server) orgWebhook(c echo.Context) (*orgScope, *models.Webhook, error) {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return nil, nil, err
	}
	id, err := pathID(c, "webhookID")
	if err != nil {
		return nil, nil, err
	}
	w, err := models.FindWebhook(ctx(c), s.db.Gorm, sc.Org.ID, id)
	if err != nil {
		return nil, nil, err
	}
	return sc, w, nil
}

// deleteWebhook handles DELETE /v1/orgs/{orgID}/webhooks/{webhookID} (admin); pending
// deliveries to it end without sending.
func (s *Server) deleteWebhook(c echo.Context) error {
	sc, w, err := s.orgWebhook(c)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if err := models.DeleteWebhook(ctx(c), tx.DB, sc.Org.ID, w.ID); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "webhook.delete", ObjectType: "webhook",
			ObjectID: w.ID.String(), Before: newWebhookResponse(w)})
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// webhookDeliveryResponse is one attempt in an endpoint's delivery log.
type webhookDeliveryResponse struct {
	ID           uuid.UUID `json:"id"`
	EventID      *string   `json:"event_id"`
	EventType    string    `json:"event_type"`
	Attempt      int       `json:"attempt"`
	Status       string    `json:"status"`
	ResponseCode *int      `json:"response_code"`
	Error        *string   `json:"error"`
	DurationMS   int       `json:"duration_ms"`
	CreatedAt    time.Time `json:"created_at"`
}

func newWebhookDeliveryResponse(d *models.WebhookDelivery) webhookDeliveryResponse {
	out := webhookDeliveryResponse{ID: d.ID, EventType: d.EventType, Attempt: d.Attempt, Status: d.Status,
		ResponseCode: d.ResponseCode, Error: d.Error, DurationMS: d.DurationMS, CreatedAt: d.CreatedAt.UTC()}
	if d.EventID != nil {
		id := strconv.FormatInt(*d.EventID, 10)
		out.EventID = &id
	}
	return out
}

// testWebhook handles POST /v1/orgs/{orgID}/webhooks/{webhookID}/test (admin): a
// webhook.test event is signed and sent now, through the same sender as events, and the
// attempt is returned (and logged). A test does not count toward disabling the endpoint.
func (s *Server) testWebhook(c echo.Context) error {
	_, w, err := s.orgWebhook(c)
	if err != nil {
		return err
	}
	data, _ := json.Marshal(map[string]string{"webhook_id": w.ID.String()})
	msg := jobs.WebhookMessage{ID: "test_" + uuid.NewString(), Type: "webhook.test", Timestamp: s.now(), Data: data}
	d, err := s.webhookSender().Deliver(ctx(c), s.jobs, w, msg, 1)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newWebhookDeliveryResponse(d))
}

// loopbackWebhooks reports whether webhooks may reach loopback: only when configured, and
// never in production, whatever the configuration says.
func (s *Server) loopbackWebhooks() bool {
	return s.cfg.AllowLoopbackWebhooks && s.cfg.Env != "production"
}

// webhookSender is the sender the job workers use, with this server's settings.
func (s *Server) webhookSender() *jobs.WebhookSender {
	return jobs.NewWebhookSender(jobs.Deps{DB: s.db, Log: s.log, Keyring: s.keyring, Now: s.now,
		AppURL: s.cfg.AppURL, PublicURL: s.cfg.PublicURL, AllowLoopbackWebhooks: s.loopbackWebhooks()})
}

// listWebhookDeliveries handles GET /v1/orgs/{orgID}/webhooks/{webhookID}/deliveries
// (admin): the endpoint's attempts, newest first, kept 30 days.
func (s *Server) listWebhookDeliveries(c echo.Context) error {
	_, w, err := s.orgWebhook(c)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListWebhookDeliveries(ctx(c), s.db.Gorm, w.ID, page)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(d models.WebhookDelivery) webhookDeliveryResponse {
		return newWebhookDeliveryResponse(&d)
	}))
}
