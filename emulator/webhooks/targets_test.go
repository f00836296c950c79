package webhooks

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCreateWebhookRefusesNeverDeliveredTargets drives the API with local
// targets allowed (the default): metadata, multicast and unspecified
// addresses are still refused.
func TestCreateWebhookRefusesNeverDeliveredTargets(t *testing.T) {
	s, _ := newTestService(t, nil)
	srv := apiServer(t, s)
	for _, url := range []string{
		"http://169.254.169.254/latest/meta-data",
		"https://169.254.169.254/latest/meta-data",
		"http://[fe80::1]:8080/hook",
		"http://0.0.0.0:9000/hook",
		"http://[::]:9000/hook",
		"http://224.0.0.251/hook",
	} {
		t.Run(url, func(t *testing.T) {
			var body struct {
				Code   string `json:"code"`
				Errors []struct {
					Field  string `json:"field"`
					Reason string `json:"reason"`
				} `json:"errors"`
			}
			var raw json.RawMessage
			status, _ := call(t, srv, "POST", "/v1/webhooks", "sandbox_admin_acme",
				map[string]any{"url": url, "events": []string{"case.updated"}}, &raw)
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatal(err)
			}
			if status != 400 || body.Code != "invalid_url" || len(body.Errors) != 1 || body.Errors[0].Field != "/url" ||
				!strings.Contains(body.Errors[0].Reason, "never delivered") {
				t.Errorf("got %d %s, want 400 invalid_url naming /url", status, raw)
			}
		})
	}
}
