package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RequestAuth says how a journaled request authenticated.
type RequestAuth struct {
	// Method is admin_token, access_token, operator_token,
	// client_secret_basic, client_secret_post or none.
	Method   string `json:"method"`
	Kind     string `json:"kind"`
	Subject  string `json:"subject"`
	ClientID string `json:"client_id"`
}

// RequestEntry is one request of the journal (GET /_sandbox/requests).
type RequestEntry struct {
	Seq       int64       `json:"seq"`
	Time      time.Time   `json:"time"`
	Tenant    string      `json:"tenant"`
	RequestID string      `json:"request_id"`
	Method    string      `json:"method"`
	Path      string      `json:"path"`
	Operation string      `json:"operation"`
	API       string      `json:"api"`
	Auth      RequestAuth `json:"auth"`
	Scopes    []string    `json:"scopes"`
	Status    int         `json:"status"`
	LatencyMS float64     `json:"latency_ms"`
	ErrorCode string      `json:"error_code,omitempty"`
	// Body is the request body with secrets replaced by "[redacted]", at
	// most 4096 bytes; BodyTruncated says it was cut.
	Body          string `json:"body"`
	BodyTruncated bool   `json:"body_truncated"`
	// Replayed says the answer was replayed for a repeated
	// Idempotency-Key: the request changed nothing.
	Replayed bool `json:"idempotent_replay,omitempty"`
}

// RequestFilter selects journaled requests; zero fields select all.
type RequestFilter struct {
	Tenant    string
	Operation string
	ClientID  string
	// Status is an exact status ("404") or a class ("4xx").
	Status    string
	Since     time.Time
	RequestID string
	// Limit is the page size (1..500; the server's 100 when 0) and Cursor
	// a previous page's NextCursor.
	Limit  int
	Cursor string
}

func (f RequestFilter) values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("tenant", f.Tenant)
	set("operation", f.Operation)
	set("client_id", f.ClientID)
	set("status", f.Status)
	set("request_id", f.RequestID)
	set("cursor", f.Cursor)
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// RequestPage is one page of the journal, newest first. NextCursor, as
// RequestFilter.Cursor, gets the next page; it is empty on the last one.
type RequestPage struct {
	Requests   []RequestEntry `json:"requests"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// Requests reads a page of the request journal.
func (s SandboxAPI) Requests(ctx context.Context, f RequestFilter) (RequestPage, error) {
	var out RequestPage
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/_sandbox/requests", query: f.values(),
		bearer: s.c.operator, want: http.StatusOK, out: &out})
	return out, err
}

// ClearRequests forgets the journaled requests of tenant, or of every
// tenant when tenant is empty.
func (s SandboxAPI) ClearRequests(ctx context.Context, tenant string) error {
	q := url.Values{}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	return s.c.do(ctx, call{method: http.MethodDelete, path: "/_sandbox/requests", query: q,
		bearer: s.c.operator, want: http.StatusNoContent})
}

// StreamFilter selects the frames of GET /_sandbox/stream.
type StreamFilter struct {
	Tenant string
	// Types are request, event, delivery, fault (all when empty).
	Types     []string
	Operation string
	ClientID  string
	Status    string
	RequestID string
}

// StreamEvent is one frame of the stream. Type is request, event,
// delivery, fault or lagged; Data is the frame's JSON, which decodes as
// RequestEntry, EventFrame, DeliveryFrame, FaultFrame or LaggedFrame
// respectively.
type StreamEvent struct {
	ID   string
	Type string
	Data json.RawMessage
}

// Frame types of the stream (StreamEvent.Type).
const (
	FrameRequest  = "request"
	FrameEvent    = "event"
	FrameDelivery = "delivery"
	FrameFault    = "fault"
	FrameLagged   = "lagged"
)

// EventFrame is the data of an event frame: a webhook event the sandbox
// published.
type EventFrame struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Tenant    string    `json:"tenant"`
	Timestamp time.Time `json:"timestamp"`
}

// DeliveryFrame is the data of a delivery frame: one attempt to deliver
// an event to a webhook.
type DeliveryFrame struct {
	DeliveryID string `json:"delivery_id"`
	EventID    string `json:"event_id"`
	WebhookID  string `json:"webhook_id"`
	Tenant     string `json:"tenant"`
	Attempt    int    `json:"attempt"`
	// Status is the receiver's HTTP status, 0 when it sent none.
	Status    int     `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	// Classification is "succeeded" or the class of the failure (timeout,
	// non_2xx, connection_refused...).
	Classification string `json:"classification"`
	// NextRetryAt is when the next attempt is due; nil when none is.
	NextRetryAt *time.Time `json:"next_retry_at"`
}

// FaultFrame is the data of a fault frame: a fault rule fired, on a
// request (Operation) or a delivery (WebhookID).
type FaultFrame struct {
	Rule      string `json:"rule"`
	Tenant    string `json:"tenant"`
	Operation string `json:"operation,omitempty"`
	WebhookID string `json:"webhook_id,omitempty"`
	Action    string `json:"action"`
}

// LaggedFrame is the data of a lagged frame: the sandbox dropped Dropped
// frames because the reader fell behind.
type LaggedFrame struct {
	Dropped int `json:"dropped"`
}

// Stream is an open GET /_sandbox/stream. Close it when done.
type Stream struct {
	body io.ReadCloser
	r    *bufio.Reader
}

// maxFrame bounds one line of the stream.
const maxFrame = 1 << 20

// Stream opens the live stream. It returns once the sandbox has
// subscribed it, so whatever happens afterwards is streamed. Its HTTP
// client's timeout does not apply: the stream lasts until ctx ends or
// Close.
func (s SandboxAPI) Stream(ctx context.Context, f StreamFilter) (*Stream, error) {
	q := url.Values{}
	for k, v := range map[string]string{"tenant": f.Tenant, "operation": f.Operation, "client_id": f.ClientID,
		"status": f.Status, "request_id": f.RequestID, "types": strings.Join(f.Types, ",")} {
		if v != "" {
			q.Set(k, v)
		}
	}
	target := s.c.base + "/_sandbox/stream"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("client: GET /_sandbox/stream: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if s.c.operator != "" {
		req.Header.Set("Authorization", "Bearer "+s.c.operator)
	}
	hc := *s.c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: GET /_sandbox/stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		return nil, newError(http.MethodGet, "/_sandbox/stream", resp, data)
	}
	return &Stream{body: resp.Body, r: bufio.NewReaderSize(resp.Body, 64<<10)}, nil
}

// Next reads the next frame, skipping comments (keepalives). It blocks
// until one comes, the stream ends (io.EOF) or its context ends.
func (st *Stream) Next() (StreamEvent, error) {
	var ev StreamEvent
	var data []byte
	for {
		line, err := st.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxFrame {
			return ev, errors.New("client: stream: a line exceeds the frame bound")
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ev, io.EOF
			}
			return ev, fmt.Errorf("client: stream: %w", err)
		}
		l := strings.TrimRight(string(line), "\r\n")
		switch {
		case l == "":
			if ev.Type != "" || data != nil {
				ev.Data = data
				return ev, nil
			}
		case strings.HasPrefix(l, ":"):
		default:
			k, v, _ := strings.Cut(l, ":")
			v = strings.TrimPrefix(v, " ")
			switch k {
			case "id":
				ev.ID = v
			case "event":
				ev.Type = v
			case "data":
				if data != nil {
					data = append(data, '\n')
				}
				data = append(data, v...)
			}
		}
	}
}

// Close ends the stream.
func (st *Stream) Close() error { return st.body.Close() }
