package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/knogin/argus-sandbox/client"
)

// streamTypes are the frame types the stream can be narrowed to.
var streamTypes = []string{client.FrameRequest, client.FrameEvent, client.FrameDelivery, client.FrameFault}

func tailGroup() group {
	return group{name: "tail", summary: "follow requests, events, deliveries and fault firings live", def: &leaf{
		use: "sandbox tail [--types request,event,delivery,fault] [--tenant T] [--count N] [--json]",
		summary: "Follows the sandbox's live stream (GET /_sandbox/stream), one line a frame, until interrupted\n" +
			"(exit 0 on SIGINT or SIGTERM) or until --count frames; exit 1 when the sandbox ends the stream.",
		long: `Lines read (times are the sandbox clock's; delivery and fault frames carry none):
  12:00:01.234 request 201 POST /v1/webhooks createWebhook acme cli_acme_1 3.1ms
  12:00:01.240 event case.updated evt_… acme
  delivery dlv_… evt_… → wh_… acme attempt 1 200 12.0ms succeeded
  delivery dlv_… evt_… → wh_… acme attempt 2 503 4.2ms non_2xx next 12:00:31.000
  fault token-outage error acme operation=token
  lagged: the sandbox dropped 7 frames this reader was too slow for
--json prints each frame as one JSON object a line: {"id","event","data"}.

Examples:
  sandbox tail --types request,fault
  docker exec CONTAINER /sandbox tail --json
`,
		setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
			fs.StringVar(&cl.tenant, "tenant", "", "only this tenant's frames (all when empty; a control token follows its own tenant's alone)")
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
				return tail(ctx, cl, client.StreamFilter{Tenant: cl.tenant, Types: *types}, *count)
			}
		},
	}}
}

// tail prints the stream's frames until count of them (0: no bound), the
// end of ctx (nil: an interrupt is how tail is meant to stop) or the end
// of the stream (an error).
func tail(ctx context.Context, cl *cli, f client.StreamFilter, count int) error {
	st, err := cl.client().Sandbox().Stream(ctx, f)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer st.Close()
	for seen := 0; count == 0 || seen < count; seen++ {
		ev, err := st.Next()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, io.EOF):
			return errors.New("the sandbox ended the stream")
		case err != nil:
			return err
		}
		if err := printFrame(cl, ev); err != nil {
			return err
		}
	}
	return nil
}

// printFrame writes one frame as a readable line, or as a JSON object.
func printFrame(cl *cli, ev client.StreamEvent) error {
	if cl.json {
		data := json.RawMessage(ev.Data)
		if !json.Valid(data) {
			data, _ = json.Marshal(string(ev.Data))
		}
		line, err := json.Marshal(struct {
			ID    string          `json:"id,omitempty"`
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
		}{ev.ID, ev.Type, data})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cl.stdout, "%s\n", line)
		return err
	}
	_, err := fmt.Fprintln(cl.stdout, frameLine(ev))
	return err
}

// frameLine is the readable form of a frame, from the fields the sandbox
// streams for its type (client.RequestEntry, EventFrame, DeliveryFrame,
// FaultFrame, LaggedFrame); a frame of an unknown type or shape shows its
// data as one line of JSON.
func frameLine(ev client.StreamEvent) string {
	switch ev.Type {
	case client.FrameRequest:
		var r client.RequestEntry
		if json.Unmarshal(ev.Data, &r) == nil {
			return join(clockText(r.Time), "request", strconv.Itoa(r.Status), r.Method, r.Path, r.Operation, r.Tenant,
				caller(r), latency(r.LatencyMS), r.ErrorCode)
		}
	case client.FrameEvent:
		var e client.EventFrame
		if json.Unmarshal(ev.Data, &e) == nil {
			return join(clockText(e.Timestamp), "event", e.Type, e.ID, e.Tenant)
		}
	case client.FrameDelivery:
		var d client.DeliveryFrame
		if json.Unmarshal(ev.Data, &d) == nil {
			status := ""
			if d.Status != 0 {
				status = strconv.Itoa(d.Status)
			}
			next := ""
			if d.NextRetryAt != nil {
				next = "next " + clockText(*d.NextRetryAt)
			}
			return join("delivery", d.DeliveryID, d.EventID, "→", d.WebhookID, d.Tenant, "attempt", strconv.Itoa(d.Attempt),
				status, latency(d.LatencyMS), d.Classification, next)
		}
	case client.FrameFault:
		var f client.FaultFrame
		if json.Unmarshal(ev.Data, &f) == nil {
			on := ""
			switch {
			case f.Operation != "":
				on = "operation=" + f.Operation
			case f.WebhookID != "":
				on = "webhook=" + f.WebhookID
			}
			return join("fault", f.Rule, f.Action, f.Tenant, on)
		}
	case client.FrameLagged:
		var l client.LaggedFrame
		if json.Unmarshal(ev.Data, &l) == nil {
			return fmt.Sprintf("lagged: the sandbox dropped %d frames this reader was too slow for", l.Dropped)
		}
	}
	event := ev.Type
	if event == "" {
		event = "message"
	}
	return join(event, compact(ev.Data))
}

// clockText is a frame's time of day with milliseconds ("" when unknown).
func clockText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("15:04:05.000")
}

// join joins the non-empty parts with spaces.
func join(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " ")
}

// compact is data as one line of JSON, or as sent when it is not JSON.
func compact(data []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, data) != nil {
		return strings.ReplaceAll(string(data), "\n", " ")
	}
	return b.String()
}
