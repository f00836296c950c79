package main

// The wire of the request journal (GET/DELETE /_sandbox/requests) and of the
// live stream (GET /_sandbox/stream, server-sent events), kept here until
// package client has methods for them; then the commands call those and
// this file goes.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// journalEntry is one request of the journal, as GET /_sandbox/requests
// lists it and a "request" frame of the stream carries it.
type journalEntry struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Tenant    string    `json:"tenant"`
	RequestID string    `json:"request_id"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Operation string    `json:"operation"`
	API       string    `json:"api"`
	Auth      struct {
		Method   string `json:"method"`
		Kind     string `json:"kind"`
		Subject  string `json:"subject"`
		ClientID string `json:"client_id"`
	} `json:"auth"`
	Scopes        []string        `json:"scopes"`
	Status        int             `json:"status"`
	LatencyMS     float64         `json:"latency_ms"`
	ErrorCode     string          `json:"error_code"`
	Body          json.RawMessage `json:"body"`
	BodyTruncated bool            `json:"body_truncated"`
}

// journalPage is one page of the journal.
type journalPage struct {
	Requests   []journalEntry `json:"requests"`
	NextCursor *string        `json:"next_cursor"`
}

// wire calls the journal and stream endpoints with the operator token.
// Its HTTP client has no overall timeout: a stream stays open until the
// command ends.
type wire struct {
	base, token string
	http        *http.Client
}

func (cl *cli) wire() *wire { return &wire{base: cl.url, token: cl.token, http: &http.Client{}} }

// maxJournalPage bounds a page of the journal read: bodies are truncated
// server-side, so a page of the largest limit stays far below it.
const maxJournalPage = 32 << 20

// requests reads one page of the journal: the answer as sent (for --json)
// and decoded.
func (w *wire) requests(ctx context.Context, q url.Values) ([]byte, journalPage, error) {
	resp, err := w.send(ctx, http.MethodGet, "/_sandbox/requests", q, "application/json")
	if err != nil {
		return nil, journalPage{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJournalPage))
	if err != nil {
		return nil, journalPage{}, fmt.Errorf("GET /_sandbox/requests: reading the answer: %w", err)
	}
	var page journalPage
	if err := json.Unmarshal(data, &page); err != nil {
		return nil, journalPage{}, fmt.Errorf("GET /_sandbox/requests: malformed answer: %w", err)
	}
	return data, page, nil
}

// clearRequests empties the journal (of one tenant when given).
func (w *wire) clearRequests(ctx context.Context, tenant string) error {
	q := url.Values{}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	resp, err := w.send(ctx, http.MethodDelete, "/_sandbox/requests", q, "application/json")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// sseFrame is one server-sent event (WHATWG HTML §9.2.6).
type sseFrame struct {
	ID    string
	Event string
	Data  string
}

// stream opens the live stream and calls each for every frame until the
// server ends it (an error), ctx ends (nil), or each returns errStop (nil).
func (w *wire) stream(ctx context.Context, q url.Values, each func(sseFrame) error) error {
	resp, err := w.send(ctx, http.MethodGet, "/_sandbox/stream", q, "text/event-stream")
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer resp.Body.Close()
	err = readSSE(resp.Body, each)
	switch {
	case errors.Is(err, errStop), ctx.Err() != nil:
		return nil
	case err == nil:
		return errors.New("the sandbox ended the stream")
	}
	return err
}

// errStop ends a stream without an error.
var errStop = errors.New("stop")

// maxSSELine bounds one line of the stream: a request frame carries a
// truncated body, far below it.
const maxSSELine = 4 << 20

// readSSE parses an event stream: "field: value" lines, a blank line ends
// a frame, lines starting with ":" are comments (keepalives); data lines
// join with "\n". Frames without data are not dispatched (§9.2.6).
func readSSE(r io.Reader, each func(sseFrame) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxSSELine)
	var f sseFrame
	var data []string
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			if data != nil {
				f.Data = strings.Join(data, "\n")
				if err := each(f); err != nil {
					return err
				}
			}
			f, data = sseFrame{ID: f.ID}, nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			f.ID = value
		case "event":
			f.Event = value
		case "data":
			data = append(data, value)
		}
	}
	return sc.Err()
}

// send makes a request and turns an answer other than 200 or 204 into a
// *client.Error carrying the problem the sandbox sent.
func (w *wire) send(ctx context.Context, method, path string, q url.Values, accept string) (*http.Response, error) {
	target := w.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", accept)
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &client.Error{Method: method, Path: path, Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	var p struct {
		Code   string              `json:"code"`
		Title  string              `json:"title"`
		Detail string              `json:"detail"`
		Errors []client.FieldError `json:"errors"`
	}
	if json.Unmarshal(data, &p) == nil && (p.Code != "" || p.Title != "" || p.Detail != "") {
		e.Code, e.Title, e.Detail, e.Errors = p.Code, p.Title, p.Detail, p.Errors
	} else {
		e.Body = strings.TrimSpace(strings.ToValidUTF8(string(data[:min(len(data), 512)]), ""))
	}
	return nil, e
}

// compact is data as one line of JSON, or as sent when it is not JSON.
func compact(data string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(data)) != nil {
		return strings.ReplaceAll(data, "\n", " ")
	}
	return b.String()
}
