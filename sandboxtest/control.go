package sandboxtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/emulator/faults"
)

// FaultRule is one fault rule, the shape of an entry of the --faults file
// and of POST /_sandbox/faults (see specs/faults.schema.json).
type FaultRule = faults.Rule

// Error is an error answer of the sandbox: an RFC 9457 problem with the
// sandbox's stable code and, for invalid requests, the offending fields.
type Error struct {
	Status int          `json:"status"`
	Code   string       `json:"code"`
	Title  string       `json:"title"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors"`
}

// FieldError names one offending field of a refused request.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("sandbox: %d %s", e.Status, e.Code)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	for _, f := range e.Errors {
		msg += fmt.Sprintf("; %s: %s", f.Field, f.Reason)
	}
	return msg
}

// Health reports whether the sandbox answers GET /healthz.
func (s *Sandbox) Health(ctx context.Context) error {
	return s.call(ctx, http.MethodGet, "/healthz", nil, http.StatusOK, nil)
}

// Reset returns every surface to the fixture state (apps, tokens, webhooks,
// deliveries, cases; faults back to the WithFaults file; the clock back to
// real time). keepApps keeps registered apps and their credentials.
func (s *Sandbox) Reset(ctx context.Context, keepApps bool) error {
	return s.call(ctx, http.MethodPost, "/_sandbox/reset", map[string]bool{"keep_apps": keepApps}, http.StatusOK, nil)
}

// Now reads the sandbox's virtual clock.
func (s *Sandbox) Now(ctx context.Context) (time.Time, error) {
	var st struct {
		Now time.Time `json:"now"`
	}
	err := s.call(ctx, http.MethodGet, "/_sandbox/clock", nil, http.StatusOK, &st)
	return st.Now, err
}

// AdvanceClock moves the virtual clock forward by d and returns the new
// time. Everything that became due runs at once: webhook retries, token
// and code expiry, delayed deliveries.
func (s *Sandbox) AdvanceClock(ctx context.Context, d time.Duration) (time.Time, error) {
	if d < 0 {
		return time.Time{}, fmt.Errorf("sandboxtest: AdvanceClock(%s): the clock only moves forward", d)
	}
	var st struct {
		Now time.Time `json:"now"`
	}
	err := s.call(ctx, http.MethodPost, "/_sandbox/clock", map[string]string{"advance": d.String()}, http.StatusOK, &st)
	return st.Now, err
}

// TriggerEvent publishes a catalog event for a tenant as if it happened on
// the platform: the topic's example payload with data merged over it,
// delivered to every matching webhook. It returns the event's id.
func (s *Sandbox) TriggerEvent(ctx context.Context, tenant, topic string, data map[string]any) (string, error) {
	body := map[string]any{"tenant": tenant, "topic": topic}
	if data != nil {
		body["data"] = data
	}
	var out struct {
		EventID string `json:"event_id"`
	}
	err := s.call(ctx, http.MethodPost, "/_sandbox/events", body, http.StatusAccepted, &out)
	return out.EventID, err
}

// AddFault appends a fault rule; rules are evaluated in order.
func (s *Sandbox) AddFault(ctx context.Context, rule FaultRule) error {
	return s.call(ctx, http.MethodPost, "/_sandbox/faults", rule, http.StatusCreated, nil)
}

// ClearFaults removes every fault rule (the firing log is kept).
func (s *Sandbox) ClearFaults(ctx context.Context) error {
	return s.call(ctx, http.MethodDelete, "/_sandbox/faults", nil, http.StatusNoContent, nil)
}

// RemoveFault deletes the fault rule name; a rule that does not exist is an
// *Error with status 404.
func (s *Sandbox) RemoveFault(ctx context.Context, name string) error {
	return s.call(ctx, http.MethodDelete, "/_sandbox/faults/"+url.PathEscape(name), nil, http.StatusNoContent, nil)
}

// call sends one control-plane request with the operator token and decodes
// the answer into out, or the problem into an *Error.
func (s *Sandbox) call(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.baseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.operatorToken)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("sandboxtest: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("sandboxtest: %s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		e := &Error{Status: resp.StatusCode}
		if strings.Contains(resp.Header.Get("Content-Type"), "json") {
			_ = json.Unmarshal(data, e)
		}
		if e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		e.Status = resp.StatusCode
		return fmt.Errorf("%s %s: %w", method, path, e)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("sandboxtest: %s %s: decode: %w", method, path, err)
		}
	}
	return nil
}
