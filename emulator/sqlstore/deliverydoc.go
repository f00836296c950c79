package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
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
// dirties, logs and checkpoints fewer pages, and no write encodes the
// event or the base64 again (it checks the body against the event's
// encoding, payloadForm).
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
	// V marks the form (docForm), first in the document.
	V             int `json:"v"`
	ID            string
	WebhookID     string
	Tenant        string
	Status        webhooks.DeliveryStatus
	Attempts      []webhooks.Attempt `json:",omitempty"`
	AttemptCount  int                `json:",omitempty"`
	AutoAttempts  int                `json:",omitempty"`
	NextAttemptAt time.Time          `json:",omitzero"`
	HeldIn        int64              `json:",omitempty"`
	HoldSeq       int64              `json:",omitempty"`
	HeldBy        string             `json:",omitempty"`
	CreatedAt     time.Time          `json:",omitzero"`
	UpdatedAt     time.Time          `json:",omitzero"`
	Seq           uint64             `json:",omitempty"`
}

// docForm is the V of a document whose body is its payload: it begins
// with docPrefix, which no document of the whole form does (they begin
// with "ID"), so a read knows the form before decoding.
const docForm = 2

// docPrefix begins a document of docForm.
const docPrefix = `{"v":2,`

// payloadKey precedes the body spliced at the end of a document. In a
// document that begins with docPrefix, its first occurrence is the one
// before the body: the fields before it are json.Marshal's, whose strings
// hold no unescaped quote.
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
		V: docForm, ID: d.ID, WebhookID: d.WebhookID, Tenant: d.Tenant, Status: d.Status,
		Attempts: d.Attempts, AttemptCount: d.AttemptCount, AutoAttempts: d.AutoAttempts,
		NextAttemptAt: d.NextAttemptAt, HeldIn: d.HeldIn, HoldSeq: d.HoldSeq, HeldBy: d.HeldBy, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Seq: d.Seq,
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
	// Valid data makes the body valid JSON (EncodeEvent writes the rest),
	// and one whose event parses back: data such as 1,"id":"x" would
	// make a valid body of another event.
	return err == nil && bytes.Equal(want, d.Body) && utf8.Valid(d.Body) && (len(d.Event.Data) == 0 || json.Valid(d.Event.Data))
}

// docIn reads a document of the whole form, or one of docForm whose
// body was not split off (decodeDelivery).
type docIn struct {
	webhooks.Delivery
	Payload json.RawMessage
}

// decodeDelivery decodes a delivery's document into d (its lease is the
// columns', overlayLease). A document of docForm is split at its
// payloadKey: the fields before it are decoded, the body after it is the
// delivery's Body and, parsed (parseEvent), its Event; neither is scanned
// by the decoder of the fields.
func decodeDelivery(doc string, d *webhooks.Delivery) error {
	if strings.HasPrefix(doc, docPrefix) && strings.HasSuffix(doc, "}") {
		if i := strings.Index(doc, payloadKey); i > 0 {
			var f docDelivery
			if err := decode(doc[:i]+"}", &f); err != nil {
				return err
			}
			body := []byte(doc[i+len(payloadKey) : len(doc)-1])
			*d = webhooks.Delivery{ID: f.ID, WebhookID: f.WebhookID, Tenant: f.Tenant, Body: body, Status: f.Status,
				Attempts: f.Attempts, AttemptCount: f.AttemptCount, AutoAttempts: f.AutoAttempts,
				NextAttemptAt: f.NextAttemptAt, HeldIn: f.HeldIn, HoldSeq: f.HoldSeq, HeldBy: f.HeldBy, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, Seq: f.Seq}
			return parseEvent(body, &d.Event)
		}
	}
	var in docIn
	if err := decode(doc, &in); err != nil {
		return err
	}
	*d = in.Delivery
	if in.Payload != nil {
		d.Body = in.Payload
		return parseEvent(in.Payload, &d.Event)
	}
	return nil
}

// parseEvent parses body, an event's encoding (webhooks.EncodeEvent), into
// ev: its id, type, timestamp and tenant in that order, then its data to
// the end, read as they stand when no string holds an escape, as
// json.Unmarshal reads them otherwise.
func parseEvent(body []byte, ev *webhooks.Event) error {
	rest := body
	var id, typ, ts, tenant []byte
	ok := true
	for _, f := range []struct {
		key string
		v   *[]byte
	}{{`{"id":`, &id}, {`,"type":`, &typ}, {`,"timestamp":`, &ts}, {`,"tenant":`, &tenant}} {
		if !ok || !bytes.HasPrefix(rest, []byte(f.key)) {
			ok = false
			break
		}
		rest = rest[len(f.key):]
		*f.v, rest, ok = plainString(rest)
	}
	if ok && bytes.HasPrefix(rest, []byte(`,"data":`)) && len(rest) > len(`,"data":`)+1 && rest[len(rest)-1] == '}' {
		var at time.Time
		if err := at.UnmarshalJSON(ts); err == nil {
			*ev = webhooks.Event{ID: string(id[1 : len(id)-1]), Type: string(typ[1 : len(typ)-1]), Timestamp: at,
				Tenant: string(tenant[1 : len(tenant)-1]), Data: json.RawMessage(capped(bytes.TrimSpace(rest[len(`,"data":`) : len(rest)-1])))}
			return nil
		}
	}
	*ev = webhooks.Event{}
	if err := json.Unmarshal(body, ev); err != nil {
		return fmt.Errorf("a stored delivery's body does not decode: %w", err)
	}
	return nil
}

// plainString splits a JSON string without escapes (its quotes included)
// off the front of b; ok is false when b does not begin with one.
func plainString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 2 || b[0] != '"' {
		return nil, b, false
	}
	end := bytes.IndexByte(b[1:], '"') + 1
	if end < 1 || bytes.IndexByte(b[1:end], '\\') >= 0 || !utf8.Valid(b[1:end]) {
		return nil, b, false
	}
	return b[:end+1], b[end+1:], true
}

// capped is b with no room past its end: an append to it copies, never
// writing over the body it is part of.
func capped(b []byte) []byte { return b[:len(b):len(b)] }
