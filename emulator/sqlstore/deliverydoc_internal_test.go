package sqlstore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// eventsParsed are the events parseEvent is checked on: plain, with
// escapes and non-ASCII text in each field, without data, with spaces.
var eventsParsed = []webhooks.Event{
	{ID: "evt_1", Type: "case.updated", Timestamp: time.Date(2026, 12, 7, 9, 30, 0, 123456789, time.UTC), Tenant: "acme",
		Data: json.RawMessage(`{"case":{"title":"A <b> & \"c\"","tags":["é","\u00fc"]},"n":[1,2.5,null,true]}`)},
	{ID: `evt_"quoted"`, Type: "case.créé", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600)), Tenant: "tenant\\x",
		Data: json.RawMessage(`"a string"`)},
	{ID: "evt_3", Type: "app.created", Tenant: "acme"},
	{ID: "evt_4", Type: "app.created", Timestamp: time.Unix(0, 1).UTC(), Tenant: "acme", Data: json.RawMessage(`{ "spaced" : [ 1 , 2 ] }`)},
	{ID: "", Type: "", Tenant: "", Data: json.RawMessage(`{"id":"not the id","data":{"x":"}"}}`)},
}

// TestParseEventReadsWhatUnmarshalDoes: parseEvent's reading of an
// event's encoding is json.Unmarshal's, on every form it meets.
func TestParseEventReadsWhatUnmarshalDoes(t *testing.T) {
	for _, ev := range eventsParsed {
		body, err := webhooks.EncodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		checkParseEvent(t, body)
	}
	checkParseEvent(t, []byte(`{"type":"x","id":"reordered"}`))
	if err := parseEvent([]byte(`{"id":"evt_1","type":`), new(webhooks.Event)); err == nil {
		t.Error("a cut body parsed without an error")
	}
}

func checkParseEvent(t *testing.T, body []byte) {
	t.Helper()
	var want, got webhooks.Event
	wantErr := json.Unmarshal(body, &want)
	err := parseEvent(body, &got)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%s: parseEvent error %v, json.Unmarshal's %v", body, err, wantErr)
	}
	if err != nil {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-json.Unmarshal +parseEvent):\n%s", body, diff)
	}
	if len(got.Data) > 0 {
		_ = append(got.Data, '!')
		if body[len(body)-1] != '}' {
			t.Errorf("an append to the data wrote over the body: %s", body)
		}
	}
}

// FuzzParseEvent checks parseEvent against json.Unmarshal on events
// encoded as deliveries send them, and on any body.
func FuzzParseEvent(f *testing.F) {
	for _, ev := range eventsParsed {
		f.Add(ev.ID, ev.Type, ev.Tenant, string(ev.Data), ev.Timestamp.UnixNano())
	}
	f.Fuzz(func(t *testing.T, id, typ, tenant, data string, at int64) {
		ev := webhooks.Event{ID: id, Type: typ, Tenant: tenant, Timestamp: time.Unix(0, at).UTC()}
		if json.Valid([]byte(data)) {
			ev.Data = json.RawMessage(data)
		}
		if body, err := webhooks.EncodeEvent(ev); err == nil {
			checkParseEvent(t, body)
		}
		checkParseEvent(t, []byte(data))
	})
}
