package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
)

const wantCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func TestConsolePagesRequireSignIn(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	for _, path := range []string{"", "clock", "faults", "requests", "stream", "t/acme/apps", "t/acme/webhooks", "t/acme/events", "t/acme/webhooks/wh_x", "nope"} {
		p := b.get(path)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/_sandbox/console/signin" {
			t.Errorf("GET %s without a session: %d %q, want 303 to the sign-in page", path, p.status, p.header.Get("Location"))
		}
	}
	for _, path := range []string{"clock", "faults", "t/acme/events", "signout", "requests/clear", "t/acme/webhooks/wh_x/recover"} {
		if p := b.post(path, url.Values{"action": {"reset"}}); p.status != http.StatusForbidden {
			t.Errorf("POST %s without a session: %d, want 403", path, p.status)
		}
	}
}

func TestConsoleSignIn(t *testing.T) {
	e := newEnv(t, nil)
	t.Run("wrong token", func(t *testing.T) {
		b := e.browser()
		form := b.get("signin")
		if !strings.Contains(form.body, `type="password"`) {
			t.Fatalf("the sign-in page of a sandbox with an operator token asks for no token:\n%s", form.body)
		}
		p := b.post("signin", url.Values{"csrf": {csrf(t, form)}, "token": {"wrong"}})
		if p.status != http.StatusUnauthorized {
			t.Fatalf("wrong token: %d, want 401", p.status)
		}
		if got := b.get(""); got.status != http.StatusSeeOther {
			t.Fatalf("after a refused sign-in the overview answers %d, want a redirect to sign in", got.status)
		}
	})
	t.Run("no sign-in token", func(t *testing.T) {
		b := e.browser()
		// A form posted from elsewhere carries no sign-in cookie.
		p := b.post("signin", url.Values{"csrf": {"forged"}, "token": {operatorToken}})
		if p.status != http.StatusForbidden {
			t.Fatalf("sign-in without the form's token: %d, want 403", p.status)
		}
	})
	t.Run("cookie", func(t *testing.T) {
		b := e.browser()
		form := b.get("signin")
		p := b.post("signin", url.Values{"csrf": {csrf(t, form)}, "token": {operatorToken}})
		var sess *http.Cookie
		for _, c := range (&http.Response{Header: p.header}).Cookies() {
			if c.Name == "argus_console" && c.Value != "" {
				sess = c
			}
		}
		if sess == nil {
			t.Fatalf("no session cookie: %v", p.header["Set-Cookie"])
		}
		if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/_sandbox/console/" || sess.MaxAge <= 0 {
			t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/_sandbox/console/, expiring", sess)
		}
		if strings.Contains(p.header.Get("Location"), operatorToken) || strings.Contains(sess.Value, operatorToken) {
			t.Error("the operator token leaks into the redirect or the cookie")
		}
		if got := b.get(""); got.status != http.StatusOK {
			t.Fatalf("overview after sign-in: %d", got.status)
		}
		out := b.post("signout", url.Values{"csrf": {csrf(t, b.get(""))}})
		if out.status != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", out.status)
		}
		if got := b.get(""); got.status != http.StatusSeeOther {
			t.Fatalf("overview after sign-out: %d, want a redirect to sign in", got.status)
		}
	})
}

// A page whose Referrer-Policy is no-referrer posts its forms with
// "Origin: null" in Chromium; that is the console's own form.
func TestConsoleSignInAcceptsTheNullOriginOfItsOwnForm(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	form := b.get("signin")
	p := b.do(http.MethodPost, "signin", url.Values{"csrf": {csrf(t, form)}, "token": {operatorToken}}, http.Header{"Origin": {"null"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with Origin: null: %d\n%s", p.status, p.body)
	}
	if p := b.post("clock", url.Values{"action": {"freeze"}, "csrf": {csrf(t, b.get("clock"))}}); p.status != http.StatusSeeOther {
		t.Fatalf("a form with Origin: null: %d", p.status)
	}
}

func TestConsoleOpenSandboxSignsInWithOneButton(t *testing.T) {
	e := newEnv(t, func(c *emulator.Config) { c.OperatorToken, c.Loopback = "", true })
	b := e.browser()
	form := b.get("signin")
	if strings.Contains(form.body, `type="password"`) || !strings.Contains(form.body, "Sign in as operator") {
		t.Fatalf("an open sandbox's sign-in page should be one button:\n%s", form.body)
	}
	b.signIn("")
}

func TestConsoleRefusesFormsWithoutTheSessionsCSRFToken(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	token := b.signIn(operatorToken)
	before, err := e.api.Sandbox().Clock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		form url.Values
		hdr  http.Header
	}{
		"missing":      {form: url.Values{"action": {"freeze"}}},
		"wrong":        {form: url.Values{"action": {"freeze"}, "csrf": {"x" + token}}},
		"other origin": {form: url.Values{"action": {"freeze"}, "csrf": {token}}, hdr: http.Header{"Origin": {"http://evil.example"}}},
	} {
		p := b.do(http.MethodPost, "clock", tc.form, tc.hdr)
		if p.status != http.StatusForbidden {
			t.Errorf("%s CSRF token: %d, want 403", name, p.status)
		}
	}
	after, err := e.api.Sandbox().Clock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after.Frozen != before.Frozen {
		t.Fatal("a refused form froze the clock")
	}
	if p := b.post("clock", url.Values{"action": {"freeze"}, "csrf": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("with the token: %d\n%s", p.status, p.body)
	}
	if after, _ := e.api.Sandbox().Clock(context.Background()); !after.Frozen {
		t.Fatal("the accepted form did not freeze the clock")
	}
}

func TestConsoleSecurityHeaders(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.signIn(operatorToken)
	for _, path := range []string{"signin", "", "clock", "static/console.css", "nope"} {
		p := b.get(path)
		if got := p.header.Get("Content-Security-Policy"); got != wantCSP {
			t.Errorf("%s: CSP %q", path, got)
		}
		if p.header.Get("X-Content-Type-Options") != "nosniff" || p.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, p.header)
		}
	}
	// No inline script or style: the CSP would block it.
	inline := regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`)
	for _, path := range []string{"signin", "", "clock", "faults", "t/acme/apps", "t/acme/webhooks", "t/acme/events", "requests", "stream"} {
		if m := inline.FindString(b.get(path).body); m != "" {
			t.Errorf("%s has inline code %q", path, m)
		}
	}
}

func TestConsoleAnswersOnlyAllowedHosts(t *testing.T) {
	e := newEnv(t, func(c *emulator.Config) { c.AllowedHosts = []string{"127.0.0.1"} })
	req, _ := http.NewRequest(http.MethodGet, e.url("signin"), nil)
	req.Host = "rebound.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("console for a rebound host: %d, want 421", resp.StatusCode)
	}
	e.browser().signIn(operatorToken)
}

func TestConsolePagesRender(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.signIn(operatorToken)
	hook, err := e.api.Sandbox().CreateWebhook(context.Background(), client.SandboxWebhookRequest{Tenant: "acme",
		URL: "http://127.0.0.1:1/hook", Events: []string{"case.updated"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"", []string{`id="tenant-picker"`, "/_sandbox/console/t/acme/webhooks", "/_sandbox/console/t/globex/apps", `id="clock-now"`}},
		{"t/acme/apps", []string{`aria-current="page">Apps`, "Tenant <strong>acme</strong>"}},
		{"t/acme/webhooks", []string{`id="webhooks"`, hook.ID, `id="subscribe"`, `value="case.updated"`}},
		{"t/acme/webhooks/" + hook.ID, []string{"Delivery timeline", `id="no-deliveries"`, hook.URL}},
		{"t/acme/events", []string{`id="trigger"`, `<option value="case.updated"`, `class="example" data-topic="case.updated"`, "/_sandbox/console/static/events.js"}},
		{"clock", []string{`id="advance"`, `value="freeze"`, `id="clock-state">running`}},
		{"faults", []string{`id="no-rules"`, `value="token-outage"`, `id="add-fault"`}},
		{"requests", []string{`id="filters"`, `id="clear"`, `<option value="">every tenant</option>`}},
		{"stream", []string{`id="stream"`, `data-source="/_sandbox/console/stream"`, "/_sandbox/console/static/stream.js"}},
		{"t/acme/webhooks/" + hook.ID, []string{`id="recover"`, `type="datetime-local"`, "/recover"}},
	} {
		p := b.get(tc.path)
		if p.status != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", tc.path, p.status, p.body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(p.body, w) {
				t.Errorf("GET %s lacks %s", tc.path, w)
			}
		}
	}
	for path, want := range map[string]int{"t/initech/apps": 404, "t/acme/webhooks/wh_missing": 400, "nope": 404} {
		if p := b.get(path); p.status != want {
			t.Errorf("GET %s: %d, want %d", path, p.status, want)
		}
	}
}

func TestConsoleTriggerRedeliverAdvance(t *testing.T) {
	e := newEnv(t, nil)
	rc := newReceiver(t, 500, 200)
	b := e.browser()
	token := b.signIn(operatorToken)

	p := b.post("t/acme/webhooks", url.Values{"csrf": {token}, "url": {rc.URL + "/hook"}, "events": {"case.updated"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("subscribe: %d\n%s", p.status, p.body)
	}
	timeline := strings.TrimPrefix(p.header.Get("Location"), "/_sandbox/console/")
	timeline, _, _ = strings.Cut(timeline, "?")

	p = b.post("t/acme/events", url.Values{"csrf": {token}, "topic": {"case.updated"}, "data": {`{"status": "closed"}`}, "count": {"1"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("trigger: %d\n%s", p.status, p.body)
	}
	e.waitIdle()
	page := b.get(timeline)
	if !strings.Contains(page.body, "500 Internal Server Error") || !strings.Contains(page.body, `data-status="pending"`) {
		t.Fatalf("the timeline does not show the failed first attempt:\n%s", page.body)
	}

	// Advancing the clock runs the retry, which the receiver accepts.
	if p := b.post("clock", url.Values{"csrf": {token}, "action": {"advance"}, "advance": {"1h"}}); p.status != http.StatusSeeOther {
		t.Fatalf("advance: %d\n%s", p.status, p.body)
	}
	e.waitIdle()
	page = b.get(timeline)
	if !strings.Contains(page.body, `data-status="succeeded"`) || strings.Count(page.body, `class="attempt"`) != 2 {
		t.Fatalf("after the advance the timeline lacks the successful retry:\n%s", page.body)
	}

	redeliver := regexp.MustCompile(`action="/_sandbox/console/(t/acme/webhooks/[^"]+/redeliver)"`).FindStringSubmatch(page.body)
	if redeliver == nil {
		t.Fatal("no redeliver button")
	}
	if p := b.post(redeliver[1], url.Values{"csrf": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("redeliver: %d\n%s", p.status, p.body)
	}
	e.waitIdle()
	page = b.get(timeline)
	if n := strings.Count(page.body, `class="attempt"`); n != 3 || !strings.Contains(page.body, "redelivery") {
		t.Fatalf("after the redelivery the timeline has %d attempts, want 3 with a redelivery:\n%s", n, page.body)
	}
	if rc.hits.Load() != 3 {
		t.Fatalf("the receiver got %d requests, want 3", rc.hits.Load())
	}
}

func TestConsoleFaultsFromTemplates(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	token := b.signIn(operatorToken)
	// Every template is a rule the sandbox accepts.
	for _, key := range []string{"token-outage", "api-rate-limit", "api-latency", "webhook-duplicate", "webhook-delay", "webhook-bad-signature", "webhook-response-lost"} {
		if p := b.post("faults", url.Values{"csrf": {token}, "template": {key}, "tenant": {"acme"}}); p.status != http.StatusSeeOther {
			t.Errorf("template %s: %d\n%s", key, p.status, p.body)
		}
	}
	rules, err := e.api.Sandbox().Faults(context.Background())
	if err != nil || len(rules) != 7 || rules[0].Match.Tenant != "acme" {
		t.Fatalf("rules %+v, %v", rules, err)
	}
	if p := b.post("faults", url.Values{"csrf": {token}, "template": {"token-outage"}}); p.status != http.StatusConflict {
		t.Errorf("a second rule of the same name: %d, want 409", p.status)
	}
	if p := b.post("faults", url.Values{"csrf": {token}, "template": {"nope"}}); p.status != http.StatusBadRequest {
		t.Errorf("an unknown template: %d, want 400", p.status)
	}
	if p := b.post("faults/token-outage/delete", url.Values{"csrf": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", p.status)
	}
	if rules, _ := e.api.Sandbox().Faults(context.Background()); len(rules) != 6 {
		t.Fatalf("after removing one, %d rules", len(rules))
	}
}

func TestConsoleRefusesBadInput(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	token := b.signIn(operatorToken)
	for _, tc := range []struct {
		path string
		form url.Values
		want int
	}{
		{"t/acme/events", url.Values{"topic": {"case.updated"}, "data": {"[1"}}, 400},
		{"t/acme/events", url.Values{"topic": {"case.updated"}, "count": {"1001"}}, 400},
		{"t/acme/events", url.Values{"topic": {"no.such.topic"}}, 422},
		{"t/acme/events", url.Values{"topic": {"case.updated"}, "data": {`{"case": 7}`}}, 422},
		{"t/initech/events", url.Values{"topic": {"case.updated"}}, 404},
		{"clock", url.Values{"action": {"advance"}, "advance": {"-1h"}}, 400},
		{"clock", url.Values{"action": {"launch"}}, 400},
		{"t/acme/webhooks", url.Values{"url": {"not a url"}, "events": {"case.updated"}}, 400},
	} {
		tc.form.Set("csrf", token)
		p := b.post(tc.path, tc.form)
		if p.status != tc.want || !strings.Contains(p.body, `role="alert"`) {
			t.Errorf("POST %s %v: %d, want %d with the error shown\n%s", tc.path, tc.form, p.status, tc.want, p.body)
		}
	}
	big := url.Values{"csrf": {token}, "topic": {"case.updated"}, "data": {strings.Repeat(" ", 70<<10)}}
	if p := b.post("t/acme/events", big); p.status != http.StatusBadRequest {
		t.Errorf("a 70 KiB form: %d, want 400", p.status)
	}
}
