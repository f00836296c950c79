package journal

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/knogin/argus-sandbox/internal/jsonwrite"
)

// AppendJSON appends e as encoding/json writes it with HTML escaping off
// (the same members, order and bytes), without reflection: a store that
// writes every entry (sqlstore's shared journal) spends most of its
// writer's time encoding them. TestAppendJSONIsEncodingJSON holds the two
// equal, for every field of Entry.
func (e *Entry) AppendJSON(b []byte) ([]byte, error) {
	if y := e.Time.Year(); y < 0 || y > 9999 {
		return b, errors.New("journal: entry time: year outside of range [0,9999]")
	}
	if _, off := e.Time.Zone(); off <= -24*60*60 || off >= 24*60*60 {
		return b, errors.New("journal: entry time: timezone hour outside of range [0,23]")
	}
	if math.IsNaN(e.LatencyMS) || math.IsInf(e.LatencyMS, 0) {
		return b, errors.New("journal: entry latency is not a number")
	}
	b = strconv.AppendUint(append(b, `{"seq":`...), e.Seq, 10)
	b = append(e.Time.AppendFormat(append(b, `,"time":"`...), time.RFC3339Nano), '"')
	b = jsonString(append(b, `,"tenant":`...), e.Tenant)
	b = jsonString(append(b, `,"request_id":`...), e.RequestID)
	b = jsonString(append(b, `,"method":`...), e.Method)
	b = jsonString(append(b, `,"path":`...), e.Path)
	b = jsonString(append(b, `,"operation":`...), e.Operation)
	b = jsonString(append(b, `,"api":`...), e.API)
	b = jsonString(append(b, `,"auth":{"method":`...), e.Auth.Method)
	b = jsonString(append(b, `,"kind":`...), e.Auth.Kind)
	b = jsonString(append(b, `,"subject":`...), e.Auth.Subject)
	b = jsonString(append(b, `,"client_id":`...), e.Auth.ClientID)
	b = append(b, `},"scopes":`...)
	if e.Scopes == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range e.Scopes {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonString(b, s)
		}
		b = append(b, ']')
	}
	b = strconv.AppendInt(append(b, `,"status":`...), int64(e.Status), 10)
	b = appendFloat(append(b, `,"latency_ms":`...), e.LatencyMS)
	if e.ErrorCode != "" {
		b = jsonString(append(b, `,"error_code":`...), e.ErrorCode)
	}
	b = jsonString(append(b, `,"body":`...), e.Body)
	b = strconv.AppendBool(append(b, `,"body_truncated":`...), e.BodyTruncated)
	if e.Replayed {
		b = append(b, `,"idempotent_replay":true`...)
	}
	return append(b, '}'), nil
}

// appendFloat writes f as encoding/json writes a float64: the shortest
// decimal that reads back as f, in exponent form below 1e-6 and from
// 1e21, with a one-digit negative exponent written without its zero.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b
}

// jsonString writes s as encoding/json does with HTML escaping off.
func jsonString(b []byte, s string) []byte { return jsonwrite.AppendString(b, s, false) }
