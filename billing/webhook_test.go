package billing_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/aalscert/aalscert/billing"
)

const secret = "whsec_aalscert"

// event returns a Stripe event body of API version v around object.
func event(id, typ, v, object string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":%q,"created":%d,"type":%q,"livemode":false,"pending_webhooks":1,"data":{"object":%s}}`,
		id, v, time.Now().Unix(), typ, object)
}

// sign returns the Stripe-Signature header for body, as Stripe would send it at t.
func sign(body []byte, key string, t time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: key, Timestamp: t}).Header
}

const session = `{"id":"cs_test_1","object":"checkout.session","payment_status":"paid","payment_intent":"pi_1","metadata":{"order_id":"00000000-0000-4000-8000-000000000001"}}`

func TestVerifyEvent(t *testing.T) {
	t.Parallel()
	c := newClient("http://127.0.0.1:1")
	now := time.Now()
	good := event("evt_1", "checkout.session.completed", billing.APIVersion, session)
	tampered := bytes.Replace(good, []byte("pi_1"), []byte("pi_9"), 1)
	other := event("evt_2", "checkout.session.completed", "2024-06-20", session)
	noVersion := []byte(`{"id":"evt_3","type":"charge.refunded","data":{"object":{}}}`)
	noID := event("", "charge.refunded", billing.APIVersion, `{}`)
	oddID := event("evt_1'; --", "charge.refunded", billing.APIVersion, `{}`)
	nulID := []byte(`{"id":"evt_\u0000","type":"charge.refunded","api_version":"` + billing.APIVersion + `","data":{"object":{}}}`)
	noObject := []byte(`{"id":"evt_4","type":"charge.refunded","api_version":"` + billing.APIVersion + `","data":{}}`)
	cases := []struct {
		name   string
		body   []byte
		header string
		want   error // nil: verifies
	}{
		{"Valid", good, sign(good, secret, now), nil},
		{"NoSignature", good, "", billing.ErrInvalidSignature},
		{"GarbledHeader", good, "v1", billing.ErrInvalidSignature},
		{"WrongSecret", good, sign(good, "whsec_other", now), billing.ErrInvalidSignature},
		{"TamperedBody", tampered, sign(good, secret, now), billing.ErrInvalidSignature},
		{"StaleTimestamp", good, sign(good, secret, now.Add(-301*time.Second)), billing.ErrInvalidSignature},
		{"WithinTolerance", good, sign(good, secret, now.Add(-240*time.Second)), nil},
		// The documented decision: events of another API version are refused.
		{"OtherAPIVersion", other, sign(other, secret, now), billing.ErrAPIVersionMismatch},
		{"NoAPIVersion", noVersion, sign(noVersion, secret, now), billing.ErrAPIVersionMismatch},
		{"SignedNotJSON", []byte("hello"), sign([]byte("hello"), secret, now), billing.ErrMalformedEvent},
		{"SignedWithoutID", noID, sign(noID, secret, now), billing.ErrMalformedEvent},
		{"SignedOddID", oddID, sign(oddID, secret, now), billing.ErrMalformedEvent},
		{"SignedNULInID", nulID, sign(nulID, secret, now), billing.ErrMalformedEvent},
		{"SignedWithoutObject", noObject, sign(noObject, secret, now), billing.ErrMalformedEvent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := c.VerifyEvent(tc.body, tc.header)
			if tc.want == nil {
				if err != nil || ev.ID != "evt_1" || ev.Data == nil {
					t.Fatalf("VerifyEvent = %+v, %v; want evt_1", ev, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyEvent error = %v, want %v", err, tc.want)
			}
		})
	}
}

// An empty webhook secret must not turn into a key anyone can sign with.
func TestVerifyEventWithoutSecretRefusesEverything(t *testing.T) {
	t.Parallel()
	c := billing.New(billing.Config{SecretKey: "sk_test_x"})
	body := event("evt_1", "checkout.session.completed", billing.APIVersion, session)
	if _, err := c.VerifyEvent(body, sign(body, "", time.Now())); !errors.Is(err, billing.ErrInvalidSignature) {
		t.Fatalf("VerifyEvent with an empty secret = %v, want ErrInvalidSignature", err)
	}
}

// FuzzVerifyEvent: arbitrary bodies and headers never panic, never verify without our
// secret's signature, and when signed either verify or fail with one of the documented
// errors.
func FuzzVerifyEvent(f *testing.F) {
	c := newClient("http://127.0.0.1:1")
	for _, b := range [][]byte{
		event("evt_1", "checkout.session.completed", billing.APIVersion, session),
		event("evt_2", "charge.refunded", billing.APIVersion, `{"id":"ch_1","object":"charge","payment_intent":"pi_1","amount_refunded":100}`),
		event("evt_3", "checkout.session.expired", "2022-11-15", session),
		[]byte(`{}`), []byte(`null`), []byte(`{"data":null}`), []byte(`{"id":1}`), nil,
	} {
		f.Add(b, sign(b, secret, time.Now()), false)
		f.Add(b, "t=1,v1=deadbeef", true)
	}
	f.Fuzz(func(t *testing.T, body []byte, header string, resign bool) {
		if resign {
			header = sign(body, secret, time.Now())
		}
		ev, err := c.VerifyEvent(body, header)
		if !resign && err == nil && webhook.ValidatePayload(body, header, secret) != nil {
			t.Fatalf("verified a body without a valid signature: %q", body)
		}
		if resign && err != nil && !errors.Is(err, billing.ErrMalformedEvent) && !errors.Is(err, billing.ErrAPIVersionMismatch) {
			t.Fatalf("signed body: error %v, want verified, malformed or version mismatch", err)
		}
		if err == nil {
			if ev.ID == "" || ev.Type == "" || ev.Data == nil || !json.Valid(ev.Data.Raw) {
				t.Fatalf("verified an incomplete event: %+v", ev)
			}
		}
	})
}
