package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestWebhookLimitHoldsUnderConcurrentCreates sends 70 more creates than
// the limit at once: exactly the limit is stored, every other create is
// refused with 409 limit_reached naming the limit, and another tenant is
// not affected.
func TestWebhookLimitHoldsUnderConcurrentCreates(t *testing.T) {
	s, _ := newTestService(t, nil)
	srv := apiServer(t, s)
	const limit, creates = DefaultMaxWebhooksPerTenant, DefaultMaxWebhooksPerTenant + 70
	body := []byte(`{"url":"https://integrator.example/webhooks/argus","events":["case.updated"]}`)
	type answer struct {
		status int
		code   string
		detail string
	}
	answers := make([]answer, creates)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range creates {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", srv.URL+"/v1/webhooks", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer sandbox_admin_acme")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var p problemBody
			_ = json.NewDecoder(resp.Body).Decode(&p)
			answers[i] = answer{resp.StatusCode, p.Code, p.Detail}
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for _, a := range answers {
		switch {
		case a.status == http.StatusCreated:
			created++
		case a.status != http.StatusConflict || a.code != "limit_reached" || !strings.Contains(a.detail, "50 webhooks per tenant"):
			t.Errorf("refusal = %d %s %q, want 409 limit_reached naming 50 webhooks per tenant", a.status, a.code, a.detail)
		}
	}
	stored, _ := s.Webhooks(context.Background(), "acme")
	if created != limit || len(stored) != limit {
		t.Errorf("%d creates succeeded and %d webhooks are stored, want %d and %d", created, len(stored), limit, limit)
	}
	if _, err := s.Subscribe(context.Background(), "globex", Subscription{URL: "https://globex.example/h", Events: []string{"case.updated"}}); err != nil {
		t.Errorf("another tenant is refused: %v", err)
	}
	// Deleting one makes room for exactly one more.
	if err := s.store.DeleteWebhook(context.Background(), "acme", stored[0].ID); err != nil {
		t.Fatal(err)
	}
	sub := Subscription{URL: "https://integrator.example/h", Events: []string{"case.updated"}}
	if _, err := s.Subscribe(context.Background(), "acme", sub); err != nil {
		t.Errorf("create after a delete: %v", err)
	}
	if _, err := s.Subscribe(context.Background(), "acme", sub); err == nil {
		t.Error("a create past the limit after a delete succeeded")
	}
}
