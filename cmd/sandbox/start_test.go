package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// started is a sandbox served by run in this process.
type started struct {
	base   string   // from the banner
	stdout []string // lines printed before the banner
	stderr *lockedBuffer
}

// startRun runs the command with args until the test ends and returns once
// it listens; the test fails if it does not then stop cleanly.
func startRun(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &started{stderr: &lockedBuffer{}}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, pw, s.stderr)
		pw.Close()
	}()
	br := bufio.NewReader(pr)
	for s.base == "" {
		line, err := br.ReadString('\n')
		if err != nil {
			cancel()
			t.Fatalf("no banner (%v); stderr: %s", err, s.stderr)
		}
		if rest, ok := strings.CutPrefix(line, "argus-sandbox listening on "); ok {
			s.base = strings.TrimSpace(rest)
		} else {
			s.stdout = append(s.stdout, line)
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("exit code after shutdown = %d; stderr: %s", code, s.stderr)
			}
		case <-time.After(10 * time.Second):
			t.Error("sandbox did not stop after cancellation")
		}
	})
	return s
}

// get sends GET path to the sandbox with the given Host header (the
// listener's address when empty) and returns the status and JSON body.
func (s *started) get(t *testing.T, path, host string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, resp.Header, body
}

// lockedBuffer is an io.Writer safe for the logger and the test together.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
