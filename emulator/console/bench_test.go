package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/client"
)

// storedDeliveries is how many deliveries the timeline benchmark stores.
const storedDeliveries = 10_000

// BenchmarkConsoleTimeline renders a webhook's delivery timeline (its 20
// newest deliveries, each with every attempt) with 10,000 deliveries
// stored, through the whole stack: session, in-process API calls, template.
func BenchmarkConsoleTimeline(b *testing.B) {
	e := newEnv(b, nil)
	rc := newReceiver(b, 200)
	ctx := context.Background()
	hook, err := e.api.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: "acme", URL: rc.URL + "/hook",
		Events: []string{"case.updated"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		b.Fatal(err)
	}
	for range storedDeliveries / 1000 {
		if _, err := e.api.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: "acme", Topic: "case.updated", Count: 1000, Synthetic: true}); err != nil {
			b.Fatal(err)
		}
	}
	e.waitIdle()
	if got := rc.hits.Load(); got != storedDeliveries {
		b.Fatalf("%d deliveries made, want %d", got, storedDeliveries)
	}
	br := e.browser()
	br.signIn(operatorToken)
	path := "t/acme/webhooks/" + url.PathEscape(hook.ID)
	b.ResetTimer()
	for b.Loop() {
		p := br.get(path)
		if p.status != http.StatusOK || strings.Count(p.body, `class="attempt"`) != timelinePageSize {
			b.Fatalf("timeline: %d with %d attempts", p.status, strings.Count(p.body, `class="attempt"`))
		}
	}
}

// timelinePageSize is the console's page of deliveries.
const timelinePageSize = 20
