package journal_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/journal"
)

// encodingJSON is e as encoding/json writes it with HTML escaping off.
func encodingJSON(t testing.TB, e *journal.Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// fullEntry has every field of Entry set, nested ones included: a field
// added to Entry and not to AppendJSON fails the comparison below.
func fullEntry(t *testing.T) journal.Entry {
	e := journal.Entry{Seq: 1 << 40, Time: time.Date(2026, 12, 7, 10, 11, 12, 13, time.FixedZone("x", 5400)),
		Tenant: "acme", RequestID: "req_1", Method: "POST", Path: "/v1/oauth/token?x=<&>", Operation: "token", API: "oauth",
		Auth:   journal.Auth{Method: journal.AuthClientSecretPost, Kind: "app", Subject: "app_1", ClientID: "cli_1"},
		Scopes: []string{"cases:read", "webhooks:write"}, Status: 400, LatencyMS: 0.0421, ErrorCode: "invalid_client",
		Body: `{"client_secret":"[redacted]"}`, BodyTruncated: true, Replayed: true}
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			if f.IsZero() {
				t.Fatalf("fullEntry leaves %s unset", name)
			}
			if f.Kind() == reflect.Struct && f.Type() != reflect.TypeFor[time.Time]() {
				walk(f, name+".")
			}
		}
	}
	walk(reflect.ValueOf(e), "")
	return e
}

func TestAppendJSONIsEncodingJSON(t *testing.T) {
	full := fullEntry(t)
	cases := map[string]journal.Entry{"every field": full, "zero": {}}
	odd := full
	odd.Body = "\x00\x01\b\f\n\r\t\x1f\"\\ <>& é \u2028\u2029 \xff\xfe end"
	odd.Tenant, odd.Scopes, odd.ErrorCode, odd.Replayed, odd.BodyTruncated = "\u00e9\U0001F600", []string{}, "", false, false
	cases["escapes, empty scopes, omitted members"] = odd
	for name, lat := range map[string]float64{"tiny": 1e-7, "huge": 3e21, "negative exponent": 1.5e-9, "integer": 12, "zero": 0} {
		e := full
		e.LatencyMS = lat
		cases["latency "+name] = e
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := e.AppendJSON([]byte("prefix"))
			if err != nil {
				t.Fatal(err)
			}
			if want := encodingJSON(t, &e); !bytes.Equal(got, append([]byte("prefix"), want...)) {
				t.Fatalf("AppendJSON:\n%s\nencoding/json:\n%s", got, want)
			}
		})
	}
}

// TestAppendJSONRefusesWhatJSONCannotSay: a time outside years 0–9999 or
// in a zone a day or more from UTC, and a latency that is not a number,
// fail as encoding/json fails.
func TestAppendJSONRefusesWhatJSONCannotSay(t *testing.T) {
	for name, e := range map[string]journal.Entry{
		"year 10000":        {Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"zone of 25 hours":  {Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 25*60*60))},
		"zone of -24 hours": {Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", -24*60*60))},
		"NaN":               {LatencyMS: math.NaN()},
		"infinity":          {LatencyMS: math.Inf(1)},
	} {
		if _, err := e.AppendJSON(nil); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := json.Marshal(&e); err == nil {
			t.Errorf("%s: encoding/json has no error either", name)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("acme", "/v1/apps", `{"a":"\u2028"}`, "x\xffy", 12.5, int64(1))
	f.Add("", "", "", "", 1e-7, int64(-1))
	f.Fuzz(func(t *testing.T, tenant, path, body, scope string, latency float64, nanos int64) {
		if math.IsNaN(latency) || math.IsInf(latency, 0) {
			return
		}
		e := journal.Entry{Tenant: tenant, Path: path, Body: body, Scopes: []string{scope}, LatencyMS: latency,
			Time: time.Unix(0, nanos).UTC(), Auth: journal.Auth{Subject: scope}}
		got, err := e.AppendJSON(nil)
		if err != nil {
			return
		}
		if want := encodingJSON(t, &e); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON:\n%s\nencoding/json:\n%s", got, want)
		}
	})
}
