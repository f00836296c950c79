package sqlstore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// TestDeliveryDocumentHoldsTheBodyOnce: a delivery's document keeps the
// body sent and signed verbatim (its <, > and &, its escapes and its
// spacing unchanged), once, and no second copy of the event nor a base64
// one; a read gives the delivery back whole, its event parsed from the
// body. A delivery whose body is not its event's encoding, and a document
// in the form written before (the whole delivery, Body in base64), read
// back whole too.
func TestDeliveryDocumentHoldsTheBodyOnce(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 9, 30, 0, 123456789, time.UTC)
	ev := webhooks.Event{ID: "evt_1", Type: "case.updated", Timestamp: at, Tenant: "acme",
		Data: json.RawMessage(`{"title":"A <b> & \"c\" \u00e9 ü","n": [1, 2]}`)}
	body, err := webhooks.EncodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	code := 200
	sent := webhooks.Delivery{ID: "dlv_sent", WebhookID: "wh_1", Tenant: "acme", Event: ev, Body: body,
		Status: webhooks.StatusSucceeded, AttemptCount: 1, AutoAttempts: 1, CreatedAt: at, UpdatedAt: at.Add(time.Second),
		Attempts: []webhooks.Attempt{{Number: 1, Trigger: webhooks.TriggerInitial, StartedAt: at, ResponseStatus: &code,
			Outcome: "succeeded", RequestHeaders: map[string]string{"webhook-id": "evt_1"}}}}
	other := webhooks.Delivery{ID: "dlv_other", WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending,
		Event: webhooks.Event{ID: "evt_2", Type: "case.created", Data: json.RawMessage(`{"k":1}`)}, Body: []byte(`{"id":"evt_2"}`), NextAttemptAt: at}
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			st := webhookStore(t, db)
			for _, d := range []webhooks.Delivery{sent, other} {
				if _, err := st.CreateDelivery(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			var doc string
			if err := db.QueryRowRaw(ctx, "SELECT doc FROM records WHERE kind = 'delivery' AND id = 'dlv_sent'", &doc); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(doc, string(body)); n != 1 {
				t.Errorf("the body is in the document %d times, want once verbatim: %s", n, doc)
			}
			if strings.Contains(doc, base64.StdEncoding.EncodeToString(body)[:16]) || strings.Contains(doc, `"Event"`) {
				t.Errorf("the document holds the event again: %s", doc)
			}
			if max := len(body) + 600; len(doc) > max {
				t.Errorf("document of %d bytes for a body of %d, want at most %d", len(doc), len(body), max)
			}
			// A document as builds before this form wrote it.
			legacy := other
			legacy.ID, legacy.Seq = "dlv_legacy", 3
			old, err := json.Marshal(legacy)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.ExecRaw(ctx, "INSERT INTO records (kind, parent, id, tenant, seq, status, doc) VALUES ('delivery', 'wh_1', 'dlv_legacy', 'acme', 3, 'pending', ?)", string(old)); err != nil {
				t.Fatal(err)
			}
			for _, want := range []webhooks.Delivery{sent, other, legacy} {
				got, err := st.GetDelivery(ctx, "acme", "wh_1", want.ID)
				if err != nil {
					t.Fatal(err)
				}
				if string(got.Body) != string(want.Body) {
					t.Errorf("%s: body %s, want %s", want.ID, got.Body, want.Body)
				}
				want.Seq = got.Seq
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s read back (-want +got):\n%s", want.ID, diff)
				}
			}
			// A write keeps the form: an attempt recorded on it.
			got, err := st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_sent", func(d *webhooks.Delivery) error {
				d.AttemptCount++
				return nil
			})
			if err != nil || string(got.Body) != string(body) || got.Event.Data == nil || string(got.Event.Data) != string(ev.Data) {
				t.Errorf("after an update: %v, body %s, data %s", err, got.Body, got.Event.Data)
			}
		})
	}
}
