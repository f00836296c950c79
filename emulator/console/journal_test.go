package console_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
)

func TestConsoleRequestsPage(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	token := b.signIn(operatorToken)
	// The apps page lists the apps with acme's admin token: a journaled request.
	if p := b.get("t/acme/apps"); p.status != http.StatusOK {
		t.Fatalf("apps: %d", p.status)
	}
	p := b.get("requests?tenant=acme")
	for _, want := range []string{`id="requests"`, `id="filters"`, `id="clear"`, "/v1/platform/apps", "<td>listApps</td>", "200 OK", `<option value="acme" selected>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the requests page lacks %s:\n%s", want, p.body)
		}
	}
	if p := b.get("requests?tenant=acme&status=4xx"); !strings.Contains(p.body, `id="no-requests"`) || strings.Contains(p.body, `class="request"`) {
		t.Errorf("a 4xx filter still shows the 200 listApps:\n%s", p.body)
	}
	if p := b.get("requests?tenant=acme&status=teapot"); p.status != http.StatusBadRequest || !strings.Contains(p.body, `role="alert"`) {
		t.Errorf("a bad status filter: %d, want 400 with the error shown", p.status)
	}
	if p := b.get("requests?tenant=initech"); p.status != http.StatusNotFound {
		t.Errorf("an unknown tenant: %d, want 404", p.status)
	}

	// Paging: 61 listApps requests are two pages of the console's 50.
	for range 60 {
		b.get("t/acme/apps")
	}
	first := b.get("requests?tenant=acme&operation=listApps")
	next := regexp.MustCompile(`href="/_sandbox/console/(requests\?[^"]+)" rel="next"`).FindStringSubmatch(first.body)
	if next == nil {
		t.Fatalf("61 requests and no next page link:\n%s", first.body)
	}
	older := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	if older.status != http.StatusOK || strings.Count(older.body, `class="request"`) != 11 || !strings.Contains(older.body, `value="listApps"`) {
		t.Fatalf("the second page: %d with %d rows, want 11 and the filter kept", older.status, strings.Count(older.body, `class="request"`))
	}

	if p := b.post("requests/clear", url.Values{"tenant": {"acme"}}); p.status != http.StatusForbidden {
		t.Fatalf("clear without the CSRF token: %d, want 403", p.status)
	}
	if page, _ := e.api.Sandbox().Requests(context.Background(), client.RequestFilter{Tenant: "acme", Operation: "listApps"}); len(page.Requests) == 0 {
		t.Fatal("a refused clear emptied the journal")
	}
	p = b.post("requests/clear", url.Values{"csrf": {token}, "tenant": {"acme"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/_sandbox/console/requests?done=cleared&tenant=acme" {
		t.Fatalf("clear: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if page, _ := e.api.Sandbox().Requests(context.Background(), client.RequestFilter{Tenant: "acme", Operation: "listApps"}); len(page.Requests) != 0 {
		t.Fatalf("after the clear the journal holds %d listApps requests", len(page.Requests))
	}
	if p := b.get("requests?done=cleared&tenant=acme"); !strings.Contains(p.body, "Request journal cleared.") {
		t.Error("no flash after the clear")
	}
}

// openRelay opens the console's stream relay as an EventSource would.
func openRelay(t *testing.T, ctx context.Context, b *browser, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.e.url(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	hc := *b.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// nextFrame reads the relay up to the next frame of type kind and
// returns its data line.
func nextFrame(t *testing.T, r *bufio.Reader, kind string) string {
	t.Helper()
	var event string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("the relay ended before a %s frame: %v", kind, err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == kind:
			return strings.TrimPrefix(line, "data: ")
		case line == "":
			event = ""
		}
	}
}

func TestConsoleStreamRelay(t *testing.T) {
	e := newEnv(t, nil)
	// The hang guard: a relay that never delivers fails the test here
	// instead of at the package timeout.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if resp := openRelay(t, ctx, e.browser(), "stream"); resp.StatusCode != http.StatusUnauthorized {
		resp.Body.Close()
		t.Fatalf("relay without a session: %d, want 401", resp.StatusCode)
	} else {
		resp.Body.Close()
	}

	b := e.browser()
	token := b.signIn(operatorToken)
	page := b.get("stream?tenant=acme")
	for _, want := range []string{`id="stream"`, `data-source="/_sandbox/console/stream?tenant=acme"`, "/_sandbox/console/static/stream.js", `href="/_sandbox/console/requests?tenant=acme"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the stream page lacks %s", want)
		}
	}
	if resp := openRelay(t, ctx, b, "stream?tenant=initech"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("relay for an unknown tenant: %d, want 404", resp.StatusCode)
		resp.Body.Close()
	}

	resp := openRelay(t, ctx, b, "stream?tenant=acme")
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("relay: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	// The opening comment: the relay is subscribed from here on.
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, ":") {
		t.Fatalf("relay opened with %q, %v", line, err)
	}
	if p := b.post("t/acme/events", url.Values{"csrf": {token}, "topic": {"case.updated"}}); p.status != http.StatusSeeOther {
		t.Fatalf("trigger: %d\n%s", p.status, p.body)
	}
	data := nextFrame(t, r, "event")
	if !strings.Contains(data, `"type":"case.updated"`) || !strings.Contains(data, `"tenant":"acme"`) {
		t.Fatalf("event frame %s", data)
	}

	// A second relay of the same session replaces the first, which ends.
	second := openRelay(t, ctx, b, "stream?tenant=acme")
	defer second.Body.Close()
	if second.StatusCode != http.StatusOK {
		t.Fatalf("second relay: %d", second.StatusCode)
	}
	for {
		if _, err := r.ReadString('\n'); err != nil {
			break
		}
	}
}

func TestConsoleStreamRelaysAreBounded(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var open []*http.Response
	defer func() {
		for _, r := range open {
			r.Body.Close()
		}
	}()
	for i := range 17 {
		b := e.browser()
		b.signIn(operatorToken)
		resp := openRelay(t, ctx, b, "stream")
		open = append(open, resp)
		want := http.StatusOK
		if i == 16 {
			want = http.StatusServiceUnavailable
		}
		if resp.StatusCode != want {
			t.Fatalf("relay %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}

func TestConsoleRecover(t *testing.T) {
	e := newEnv(t, func(c *emulator.Config) { c.WebhookSchedule = []time.Duration{} })
	rc := newReceiver(t, 500, 500, 200)
	b := e.browser()
	token := b.signIn(operatorToken)
	p := b.post("t/acme/webhooks", url.Values{"csrf": {token}, "url": {rc.URL + "/hook"}, "events": {"case.updated"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("subscribe: %d\n%s", p.status, p.body)
	}
	timeline, _, _ := strings.Cut(strings.TrimPrefix(p.header.Get("Location"), "/_sandbox/console/"), "?")
	hookID := timeline[strings.LastIndex(timeline, "/")+1:]
	for range 2 {
		if p := b.post("t/acme/events", url.Values{"csrf": {token}, "topic": {"case.updated"}}); p.status != http.StatusSeeOther {
			t.Fatalf("trigger: %d", p.status)
		}
	}
	e.waitIdle()

	page := b.get(timeline)
	since := regexp.MustCompile(`id="recover-since" name="since" type="datetime-local" required value="([^"]+)"`).FindStringSubmatch(page.body)
	if since == nil || !strings.Contains(page.body, `id="recover"`) {
		t.Fatalf("no recover form:\n%s", page.body)
	}
	clock, _ := e.api.Sandbox().Clock(context.Background())
	if want := clock.Now.Add(-24 * time.Hour).UTC().Format("2006-01-02T15:04"); since[1] != want {
		t.Errorf("since defaults to %s, want a day before the sandbox clock, %s", since[1], want)
	}
	if p := b.post(timeline+"/recover", url.Values{"since": {since[1]}}); p.status != http.StatusForbidden {
		t.Fatalf("recover without the CSRF token: %d, want 403", p.status)
	}
	if p := b.post(timeline+"/recover", url.Values{"csrf": {token}, "since": {"yesterday"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, `role="alert"`) {
		t.Fatalf("recover since yesterday: %d, want 400 with the error shown", p.status)
	}
	p = b.post(timeline+"/recover", url.Values{"csrf": {token}, "since": {since[1]}, "until": {""}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "done=recovered&n=2") {
		t.Fatalf("recover: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
	e.waitIdle()
	if page := b.get(strings.TrimPrefix(p.header.Get("Location"), "/_sandbox/console/")); !strings.Contains(page.body, "Recovery queued: 2 failed deliveries sent again.") {
		t.Fatalf("no count in the flash:\n%s", page.body)
	}
	if n := rc.hits.Load(); n != 4 {
		t.Fatalf("the receiver got %d requests, want 4 (2 failures, 2 recovered)", n)
	}

	admin := client.New(e.srv.URL, client.WithToken("sandbox_admin_acme"))
	if _, err := admin.Webhooks().Update(context.Background(), hookID, client.WebhookUpdate{Status: "disabled"}); err != nil {
		t.Fatal(err)
	}
	p = b.post(timeline+"/recover", url.Values{"csrf": {token}, "since": {since[1]}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "This webhook is disabled: enable it first") {
		t.Fatalf("recover a disabled webhook: %d, want 409 with the message\n%s", p.status, p.body)
	}
}
