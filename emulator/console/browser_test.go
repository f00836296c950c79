package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
)

// artifactsDir is where the browser tests keep their screenshots:
// $ARGUS_SANDBOX_ARTIFACTS/console, or test-artifacts/console at the root
// of the repository (git-ignored). CI keeps it as an artifact.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "test-artifacts", "console")
	if root := os.Getenv("ARGUS_SANDBOX_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, "console")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromium finds the browser: without it the browser tests skip, except
// in CI, where they fail.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install chromium); CI runs the browser tests")
	}
	t.Skip("chromium is not installed; the browser tests run in CI")
	return ""
}

// headless starts a headless Chromium at 1280 × 900 and returns its
// context, with every console message and page error collected.
func headless(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, chromedp.WindowSize(1280, 900), chromedp.Flag("disable-gpu", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	var mu sync.Mutex
	var problems []string
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				problems = append(problems, ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, ev.ExceptionDetails.Text)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), problems...) }
}

// shot saves a full-page PNG screenshot under name.
func shot(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

// TestConsoleInBrowser drives the console in headless Chromium: sign in,
// subscribe a local receiver, trigger an event, see the failed attempt in
// the timeline, advance the clock to run the retry, redeliver, and take a
// screenshot of each page, checking its elements through the DOM.
func TestConsoleInBrowser(t *testing.T) {
	ctx, problems := headless(t)
	dir := artifactsDir(t)
	e := newEnv(t, nil)
	rc := newReceiver(t, 500, 200)
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for i, a := range actions {
			if err := chromedp.Do(ctx, a); err != nil {
				var loc, html string
				// The page after a failed step, read when ctx may have expired.
				diag, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				derr := chromedp.Do(diag, read(&loc, chromedp.Location()), read(&html, chromedp.Evaluate[string](`document.body.innerText`)))
				t.Fatalf("%s (action %d): %v\nat %s (%v):\n%s", step, i+1, err, loc, derr, html)
			}
		}
	}

	var text string
	var n int

	run("sign in",
		chromedp.Navigate(e.url("")),
		chromedp.WaitVisible(`#token`),
		shot(dir, "signin"),
		chromedp.SendKeys(`#token`, operatorToken),
		chromedp.Submit(`#signin`),
		chromedp.WaitVisible(`#tenant-picker`),
		read(&n, chromedp.Evaluate[int](`document.querySelectorAll('#tenant-picker > li').length`)),
		shot(dir, "overview"),
	)
	if n != 3 {
		t.Fatalf("the tenant picker lists %d tenants, want the fixture tenants acme, globex and kaisha", n)
	}

	run("keyboard: the first Tab reaches the skip link",
		chromedp.KeyEvent("\t"),
		read(&text, chromedp.Evaluate[string](`document.activeElement.className`)),
	)
	if text != "skip" {
		t.Errorf("the first Tab focuses %q, want the skip link", text)
	}

	run("subscribe the receiver",
		chromedp.Navigate(e.url("t/acme/webhooks")),
		chromedp.WaitVisible(`#subscribe`),
		chromedp.SetValue(`#url`, rc.URL+"/hook"),
		chromedp.Click(`input[name=events][value="case.updated"]`),
		shot(dir, "webhooks"),
		chromedp.Submit(`#subscribe`),
		chromedp.WaitVisible(`#no-deliveries`),
	)
	var timeline string
	run("timeline address", read(&timeline, chromedp.Location()))
	timeline, _, _ = strings.Cut(timeline, "?")

	run("the events page loads a topic's example when the topic changes",
		chromedp.Navigate(e.url("t/acme/events")),
		chromedp.WaitVisible(`#trigger`),
		chromedp.SetValue(`#topic`, "case.closed"),
		read(new(bool), chromedp.Evaluate[bool](`document.getElementById('topic').dispatchEvent(new Event('change'))`)),
		read(&text, chromedp.Value(`#data`)),
	)
	if !strings.Contains(text, `"resolution"`) {
		t.Errorf("after choosing case.closed the editor holds %q, want its example", text)
	}
	run("trigger case.updated",
		chromedp.SetValue(`#topic`, "case.updated"),
		read(new(bool), chromedp.Evaluate[bool](`document.getElementById('topic').dispatchEvent(new Event('change'))`)),
		chromedp.Submit(`#trigger`),
		chromedp.WaitVisible(`#event-id`),
		read(&text, chromedp.Text(`#event-id`)),
		shot(dir, "events"),
	)
	if !strings.HasPrefix(text, "evt_") {
		t.Errorf("the events page names event %q", text)
	}
	e.waitIdle()

	run("the failed attempt appears in the timeline",
		chromedp.Navigate(timeline),
		chromedp.WaitVisible(`#timeline .attempt`),
		read(&text, chromedp.Text(`#timeline .attempt`)),
	)
	if !strings.Contains(text, "500 Internal Server Error") || !strings.Contains(text, "failed") {
		t.Errorf("first attempt reads %q, want a failed 500", text)
	}

	run("advance the clock",
		chromedp.Navigate(e.url("clock")),
		chromedp.WaitVisible(`#advance`),
		chromedp.SetValue(`#advance-by`, "1h"),
		chromedp.Submit(`#advance`),
		chromedp.WaitVisible(`.flash`),
		read(&text, chromedp.Text(`#clock-offset`)),
		shot(dir, "clock"),
	)
	if text != "1h0m0s" {
		t.Errorf("after advancing 1h the offset reads %q", text)
	}
	e.waitIdle()

	run("the retry succeeded; redeliver",
		chromedp.Navigate(timeline),
		chromedp.WaitVisible(`#timeline [data-status="succeeded"]`),
		chromedp.Click(`#timeline button.redeliver`),
		chromedp.WaitVisible(`.flash`),
	)
	e.waitIdle()
	run("the redelivery appears in the timeline",
		chromedp.Navigate(timeline),
		chromedp.WaitVisible(`#timeline .attempt`),
		read(&n, chromedp.Evaluate[int](`document.querySelectorAll('#timeline .attempt').length`)),
		read(&text, chromedp.Text(`#timeline .attempt`)),
		shot(dir, "timeline"),
	)
	if n != 3 || !strings.Contains(text, "redelivery") || !strings.Contains(text, "200 OK") {
		t.Errorf("the timeline shows %d attempts, the newest %q; want 3, the newest a successful redelivery", n, text)
	}

	run("add and list a fault rule",
		chromedp.Navigate(e.url("faults")),
		chromedp.WaitVisible(`#add-fault`),
		chromedp.Click(`input[name=template][value="webhook-delay"]`),
		chromedp.Submit(`#add-fault`),
		chromedp.WaitVisible(`#rules`),
		read(&text, chromedp.Text(`#rules`)),
		shot(dir, "faults"),
	)
	if !strings.Contains(text, "webhook-delay") {
		t.Errorf("the rules table reads %q", text)
	}
	run("apps", chromedp.Navigate(e.url("t/acme/apps")), chromedp.WaitVisible(`main h1`), shot(dir, "apps"))

	// The live stream in one tab; an event triggered from another tab
	// appears in it as a line.
	run("open the live stream",
		chromedp.Navigate(e.url("stream?tenant=acme")),
		chromedp.WaitVisible(`#stream-state`),
		read(new(bool), chromedp.Poll[bool](`document.getElementById('stream-state').textContent.indexOf('Connected') === 0`)),
	)
	other, closeOther := chromedp.NewContext(ctx)
	if err := doAll(other,
		chromedp.Navigate(e.url("t/acme/events")),
		chromedp.WaitVisible(`#trigger`),
		chromedp.Submit(`#trigger`),
		chromedp.WaitVisible(`#event-id`),
	); err != nil {
		t.Fatalf("trigger from a second tab: %v", err)
	}
	closeOther()
	run("the event appears in the live stream",
		chromedp.WaitVisible(`#stream li[data-type="event"]`),
		read(&text, chromedp.Text(`#stream li[data-type="event"]`)),
		shot(dir, "stream"),
	)
	// The form's default topic is the catalog's first.
	if !strings.Contains(text, " event case.") || !strings.Contains(text, " evt_") || !strings.Contains(text, "[acme]") {
		t.Errorf("the stream's event line reads %q", text)
	}
	run("the trigger's request is in the journal",
		chromedp.Navigate(e.url("requests")),
		chromedp.WaitVisible(`#requests`),
		read(&text, chromedp.Text(`#requests`)),
		shot(dir, "requests"),
	)
	if !strings.Contains(text, "/_sandbox/events") || !strings.Contains(text, "201 Created") {
		t.Errorf("the journal does not show the trigger's request:\n%s", text)
	}

	var overflow bool
	run("the timeline on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(timeline),
		chromedp.WaitVisible(`#timeline .attempt`),
		read(&overflow, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)),
		shot(dir, "timeline-phone"),
	)
	if overflow {
		t.Error("on a 390 px screen the timeline page scrolls sideways")
	}
	recoverInBrowser(t, ctx, dir)
	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported errors (a CSP violation among them?):\n%s", strings.Join(p, "\n"))
	}
	t.Logf("screenshots in %s", dir)
}

// read runs an action that returns a value as a step, storing the value.
func read[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := a(ctx, t)
		*dst = v
		return err
	})
}

// recoverInBrowser presses Recover on the timeline of a webhook whose
// deliveries failed (a sandbox without retries, so they fail at once) and
// reads the count in the flash.
func recoverInBrowser(t *testing.T, ctx context.Context, dir string) {
	t.Helper()
	e := newEnv(t, func(c *emulator.Config) { c.WebhookSchedule = []time.Duration{} })
	rc := newReceiver(t, 500, 500, 200)
	bg := context.Background()
	hook, err := e.api.Sandbox().CreateWebhook(bg, client.SandboxWebhookRequest{Tenant: "acme",
		URL: rc.URL + "/hook", Events: []string{"case.updated"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.Sandbox().TriggerEvent(bg, client.EventTrigger{Tenant: "acme", Topic: "case.updated", Count: 2}); err != nil {
		t.Fatal(err)
	}
	e.waitIdle()
	var text string
	err = doAll(ctx,
		chromedp.Navigate(e.url("")),
		chromedp.WaitVisible(`#token`),
		chromedp.SendKeys(`#token`, operatorToken),
		chromedp.Submit(`#signin`),
		chromedp.WaitVisible(`#tenant-picker`),
		chromedp.Navigate(e.url("t/acme/webhooks/"+hook.ID)),
		chromedp.WaitVisible(`#recover`),
		chromedp.Click(`#recover button`),
		chromedp.WaitVisible(`.flash`),
		read(&text, chromedp.Text(`.flash`)),
	)
	if err != nil {
		t.Fatalf("recover in the browser: %v", err)
	}
	if !strings.Contains(text, "2 failed deliveries sent again") {
		t.Errorf("after Recover the flash reads %q", text)
	}
	e.waitIdle()
	if err := doAll(ctx, chromedp.Navigate(e.url("t/acme/webhooks/"+hook.ID)), chromedp.WaitVisible(`#recover`), shot(dir, "recover")); err != nil {
		t.Fatal(err)
	}
}

// doAll runs actions in order, stopping at the first error.
func doAll(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	for _, a := range actions {
		if err := chromedp.Do(ctx, a); err != nil {
			return err
		}
	}
	return nil
}
