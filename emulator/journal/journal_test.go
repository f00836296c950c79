package journal

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

func record(j *Journal, tenant, body string) {
	r := httptest.NewRequest("POST", "/x", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	rec := core.RequestRecord{Method: "POST", Path: "/x", Status: 200, Body: []byte(body)}
	if tenant != "" {
		rec.Principal = &core.Principal{Kind: core.KindAdmin, Tenant: tenant}
	}
	j.Record(r, rec)
}

func TestJournalRingIsBoundedPerTenant(t *testing.T) {
	j := New(Config{Size: 3})
	for range 5 {
		record(j, "acme", `{}`)
	}
	record(j, "", `{}`)
	record(j, "globex", `{}`)
	for tenant, want := range map[string]int{"acme": 3, "globex": 1} {
		p, err := j.Requests(context.Background(), Filter{Tenant: tenant}, 0, "")
		if err != nil || len(p.Requests) != want {
			t.Errorf("%s: %d entries (%v), want %d", tenant, len(p.Requests), err, want)
		}
	}
	all, _ := j.Requests(context.Background(), Filter{}, 0, "")
	if len(all.Requests) != 5 || all.Requests[0].Tenant != "globex" || all.Requests[1].Tenant != "" {
		t.Errorf("all tenants: %+v", all.Requests)
	}
	_ = j.Clear(context.Background(), "acme")
	if p, _ := j.Requests(context.Background(), Filter{}, 0, ""); len(p.Requests) != 2 {
		t.Errorf("after clearing acme: %+v", p.Requests)
	}
}

func TestJournalRedactsNestedJSONAndCutsLongBodies(t *testing.T) {
	body, cut := RedactBody("application/json", []byte(`{"a":{"Password":"hunter2","list":[{"refresh_token":"rt"}]},"name":"ok"}`))
	if cut || strings.Contains(body, "hunter2") || strings.Contains(body, `"rt"`) || !strings.Contains(body, `"name":"ok"`) {
		t.Errorf("redacted JSON %s", body)
	}
	if body, _ := RedactBody("application/json", []byte(`{"secret":"s3cr3t"`)); strings.Contains(body, "s3cr3t") {
		t.Errorf("a malformed body is kept: %s", body)
	}
	long := `{"name":"` + strings.Repeat("é", MaxBody) + `"}`
	body, cut = RedactBody("application/json; charset=utf-8", []byte(long))
	if !cut || len(body) > MaxBody || !strings.HasPrefix(body, `{"name":"é`) || strings.ToValidUTF8(body, "?") != body {
		t.Errorf("long body: cut %v, %d bytes", cut, len(body))
	}
}

// TestStreamLaggedReaderNeverBlocks fills a subscriber past its buffer
// before it reads: publishing returns at once, and the reader is told how
// many frames it lost.
func TestStreamLaggedReaderNeverBlocks(t *testing.T) {
	j := New(Config{Buffer: 2})
	srv := httptest.NewServer(http.HandlerFunc(j.ServeStream))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard only
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"?types=event", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	// The headers arrived: the stream is subscribed. Hold the subscriber's
	// queue full by publishing before its writer can drain it.
	j.mu.Lock()
	var sub *subscriber
	for s := range j.subs {
		sub = s
	}
	j.mu.Unlock()
	sub.mu.Lock()
	sub.queue = []frame{{kind: TypeEvent}, {kind: TypeEvent}}
	sub.mu.Unlock()
	for range 5 {
		j.PublishEvent(Event{ID: "evt", Tenant: "acme"}) // never waits for the reader
	}
	// The first publish finds the queue full, so at least one frame is
	// dropped; the writer may wake after any later publish, so how the
	// rest split between delivered and dropped varies. Every frame is
	// accounted for either way: the two queued and the five published.
	sc := bufio.NewScanner(resp.Body)
	events, dropped, lagged := 0, 0, 0
	for events+dropped < 7 && sc.Scan() {
		switch sc.Text() {
		case "event: event":
			events++
		case "event: lagged":
			lagged++
			sc.Scan()
			var d struct{ Dropped int }
			if err := json.Unmarshal([]byte(strings.TrimPrefix(sc.Text(), "data: ")), &d); err != nil || d.Dropped < 1 {
				t.Fatalf("lagged frame data %q", sc.Text())
			}
			dropped += d.Dropped
		}
	}
	if lagged == 0 || events+dropped != 7 {
		t.Fatalf("%d lagged frames, %d events delivered and %d dropped, want at least one lagged frame and 7 in all (%v)", lagged, events, dropped, sc.Err())
	}
}
