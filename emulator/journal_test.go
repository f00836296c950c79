package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// TestJournalRequestBodiesKeepNoSecret records a token request of each
// client authentication and a webhook created with a chosen secret: no
// secret reaches the journal, and the entries say how each authenticated.
func TestJournalRequestBodiesKeepNoSecret(t *testing.T) {
	env := newSandbox(t)
	ctx := context.Background()
	c := client.New(env.url, client.WithToken("sandbox_admin_acme"))
	app, err := c.Platform().CreateApp(ctx, client.AppCreate{Name: "Journal", GrantTypes: []string{"client_credentials"}, RequestedScopes: []string{"cases:read"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.OAuth().ClientCredentials(ctx, app.Credentials()) // HTTP Basic
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}
	resp, err := http.PostForm(env.url+"/v1/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token with client_secret_post: %d", resp.StatusCode)
	}
	const whSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	wh, err := c.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: "acme", URL: "http://127.0.0.1:1/hook",
		Events: []string{"case.created"}, Secret: whSecret})
	if err != nil {
		t.Fatal(err)
	}

	page, err := c.Sandbox().Requests(ctx, client.RequestFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(page)
	for _, secret := range []string{app.ClientSecret, whSecret, wh.Secret, tok.AccessToken} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the journal holds a secret %.12s…: %s", secret, raw)
		}
	}
	tokens, err := c.Sandbox().Requests(ctx, client.RequestFilter{Operation: "token", Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens.Requests) != 2 {
		t.Fatalf("token requests of acme: %+v", tokens.Requests)
	}
	post, basic := tokens.Requests[0], tokens.Requests[1] // newest first
	if post.Auth.Method != "client_secret_post" || basic.Auth.Method != "client_secret_basic" ||
		post.Auth.ClientID != app.ClientID || basic.Auth.ClientID != app.ClientID {
		t.Errorf("token auth: post %+v, basic %+v", post.Auth, basic.Auth)
	}
	if !strings.Contains(post.Body, "client_secret=[redacted]") || !strings.Contains(post.Body, "client_id="+url.QueryEscape(app.ClientID)) {
		t.Errorf("token body %q", post.Body)
	}
	created, err := c.Sandbox().Requests(ctx, client.RequestFilter{Operation: "createSandboxWebhook"})
	if err != nil || len(created.Requests) != 1 {
		t.Fatalf("webhook creation: %+v, %v", created, err)
	}
	if e := created.Requests[0]; !strings.Contains(e.Body, `"secret":"[redacted]"`) || e.Auth.Method != "none" || e.Status != 201 {
		t.Errorf("webhook creation entry %+v", e)
	}
	apps, err := c.Sandbox().Requests(ctx, client.RequestFilter{Operation: "createApp"})
	if err != nil || len(apps.Requests) != 1 {
		t.Fatalf("app creation: %+v, %v", apps, err)
	}
	if e := apps.Requests[0]; e.Tenant != "acme" || e.Auth.Method != "admin_token" {
		t.Errorf("app creation entry %+v", e)
	}
}

// TestJournalFiltersAndPages pages through refused requests by status
// class and follows the cursor to the end.
func TestJournalFiltersAndPages(t *testing.T) {
	env := newSandbox(t)
	ctx := context.Background()
	c := client.New(env.url)
	for range 5 {
		resp, err := http.Get(env.url + "/v1/platform/apps") // no token: 401
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var seen []client.RequestEntry
	f := client.RequestFilter{Status: "4xx", Limit: 2}
	for range 10 {
		page, err := c.Sandbox().Requests(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, page.Requests...)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if len(seen) != 5 {
		t.Fatalf("paged %d refused requests, want 5: %+v", len(seen), seen)
	}
	for i, e := range seen {
		if e.Status != 401 || e.ErrorCode != "unauthorized" || e.Tenant != "" || e.Operation != "listApps" {
			t.Errorf("entry %+v", e)
		}
		if i > 0 && e.Seq >= seen[i-1].Seq {
			t.Errorf("entries not newest first: %d after %d", e.Seq, seen[i-1].Seq)
		}
	}
	if _, err := c.Sandbox().Requests(ctx, client.RequestFilter{Cursor: "nope"}); err == nil {
		t.Error("a malformed cursor was accepted")
	}
}

// TestStreamCarriesEventsDeliveriesAndFaults opens the stream, then
// triggers an event whose delivery a fault rule fails, and reads the
// event, the fault firing and the delivery attempt.
func TestStreamCarriesEventsDeliveriesAndFaults(t *testing.T) {
	env := newSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard only
	defer cancel()
	c := client.New(env.url)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer receiver.Close()
	wh, err := c.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: "acme", URL: receiver.URL,
		Events: []string{"case.created"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sandbox().AddFault(ctx, client.FaultRule{Name: "lose-first", Match: client.FaultMatch{Endpoint: wh.ID},
		When: client.FaultWhen{First: 1}, Action: client.FaultAction{ResponseLost: &client.FaultNoOptions{}}}); err != nil {
		t.Fatal(err)
	}
	st, err := c.Sandbox().Stream(ctx, client.StreamFilter{Tenant: "acme", Types: []string{"event", "delivery", "fault"}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev, err := c.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: "acme", Topic: "case.created"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]json.RawMessage{}
	for len(got) < 3 {
		f, err := st.Next()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		if _, dup := got[f.Type]; !dup {
			got[f.Type] = f.Data
		}
	}
	var event struct{ ID, Type, Tenant string }
	var fault struct {
		Rule, Tenant, Action string
		WebhookID            string `json:"webhook_id"`
	}
	var delivery struct {
		EventID        string `json:"event_id"`
		WebhookID      string `json:"webhook_id"`
		Attempt        int
		Classification string
		NextRetryAt    *time.Time `json:"next_retry_at"`
	}
	_ = json.Unmarshal(got["event"], &event)
	_ = json.Unmarshal(got["fault"], &fault)
	_ = json.Unmarshal(got["delivery"], &delivery)
	if len(ev.EventIDs) == 0 || event.ID != ev.EventIDs[0] || event.Type != "case.created" || event.Tenant != "acme" {
		t.Errorf("event frame %s, triggered %+v", got["event"], ev)
	}
	if fault.Rule != "lose-first" || fault.Action != "response_lost" || fault.WebhookID != wh.ID {
		t.Errorf("fault frame %s", got["fault"])
	}
	if delivery.EventID != event.ID || delivery.WebhookID != wh.ID || delivery.Attempt != 1 ||
		delivery.Classification != "response_lost" || delivery.NextRetryAt == nil {
		t.Errorf("delivery frame %s", got["delivery"])
	}
}
