package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// streamTypes are the frame types the stream can be narrowed to.
var streamTypes = []string{"request", "event", "delivery", "fault"}

func tailGroup() group {
	return group{name: "tail", summary: "follow requests, events, deliveries and fault firings live", def: &leaf{
		use: "sandbox tail [--types request,event,delivery,fault] [--tenant T] [--count N] [--json]",
		summary: "Follows the sandbox's live stream (GET /_sandbox/stream), one line a frame, until interrupted\n" +
			"(exit 0 on SIGINT or SIGTERM) or until --count frames; exit 1 when the sandbox ends the stream.",
		long: `Lines read:
  12:00:01.234 request 201 POST /v1/webhooks createWebhook acme cli_acme_1 3.1ms
  12:00:01.240 event case.updated evt_… acme
  12:00:01.260 delivery evt_… → wh_… attempt 1 200 12.0ms delivered
  12:00:02.000 fault token-outage error answered 503
--json prints each frame as one JSON object a line: {"id","event","data"}.

Examples:
  sandbox tail --types request,fault
  docker exec CONTAINER /sandbox tail --json
`,
		setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
			fs.StringVar(&cl.tenant, "tenant", "", "only this tenant's frames (all when empty)")
			types := fs.StringSlice("types", nil, "only these frame types, comma-separated: "+strings.Join(streamTypes, ", "))
			count := fs.Int("count", 0, "stop after N frames (0: until interrupted)")
			cl.jsonFlag(fs)
			return func(ctx context.Context, _ []string) error {
				for _, t := range *types {
					if !slices.Contains(streamTypes, t) {
						return usagef("--types: %q is not one of %s", t, strings.Join(streamTypes, ", "))
					}
				}
				if *count < 0 {
					return usagef("--count %d: must not be negative", *count)
				}
				q := url.Values{}
				if cl.tenant != "" {
					q.Set("tenant", cl.tenant)
				}
				if len(*types) > 0 {
					q.Set("types", strings.Join(*types, ","))
				}
				seen := 0
				return cl.wire().stream(ctx, q, func(f sseFrame) error {
					if err := printFrame(cl, f); err != nil {
						return err
					}
					if seen++; *count > 0 && seen >= *count {
						return errStop
					}
					return nil
				})
			}
		},
	}}
}

// printFrame writes one frame as a readable line, or as a JSON object.
func printFrame(cl *cli, f sseFrame) error {
	if cl.json {
		data := json.RawMessage(f.Data)
		if !json.Valid(data) {
			data, _ = json.Marshal(f.Data)
		}
		line, err := json.Marshal(struct {
			ID    string          `json:"id,omitempty"`
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
		}{f.ID, f.Event, data})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cl.stdout, "%s\n", line)
		return err
	}
	_, err := fmt.Fprintln(cl.stdout, frameLine(f))
	return err
}

// frameLine is the readable form of a frame; a frame of an unknown type or
// shape shows its data as one line of JSON.
func frameLine(f sseFrame) string {
	event := f.Event
	if event == "" {
		event = "message"
	}
	if f.Event == "request" {
		var r journalEntry
		if json.Unmarshal([]byte(f.Data), &r) == nil {
			return join(clockText(r.Time), "request", fmt.Sprint(r.Status), r.Method, r.Path, r.Operation, r.Tenant,
				r.caller(), latency(r.LatencyMS), r.ErrorCode)
		}
	}
	var m map[string]any
	if json.Unmarshal([]byte(f.Data), &m) != nil {
		return join(event, compact(f.Data))
	}
	at := clockText(timeOf(m, "time", "at"))
	switch f.Event {
	case "event":
		return join(at, "event", str(m, "type", "topic"), str(m, "id", "event_id"), str(m, "tenant"))
	case "delivery":
		line := join(at, "delivery", str(m, "event_id"), "→", str(m, "webhook_id", "endpoint_id", "endpoint"))
		if a := str(m, "attempt"); a != "" {
			line = join(line, "attempt", a)
		}
		lat := ""
		if v, ok := m["latency_ms"].(float64); ok {
			lat = latency(v)
		}
		return join(line, str(m, "status", "status_code"), lat, str(m, "outcome", "result", "state"), str(m, "error"))
	case "fault":
		return join(at, "fault", str(m, "rule"), str(m, "action"), str(m, "detail"), str(m, "request_id", "delivery_id"))
	case "lagged":
		return join(at, "lagged: the sandbox dropped frames this reader was too slow for", compact(f.Data))
	}
	return join(at, event, compact(f.Data))
}

// str is the first of keys present in m, as text.
func str(m map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case nil:
		case string:
			if v != "" {
				return v
			}
		case float64:
			return fmt.Sprint(v)
		default:
			b, _ := json.Marshal(v)
			return string(b)
		}
	}
	return ""
}

func timeOf(m map[string]any, keys ...string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, str(m, keys...))
	return t
}

// clockText is a frame's time of day with milliseconds ("" when unknown).
func clockText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("15:04:05.000")
}

// join joins the non-empty parts with spaces.
func join(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " ")
}
