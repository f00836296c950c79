package control

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// fakeCases records the case triggers it is given, as fakeEvents does,
// and fails them with err.
type fakeCases struct {
	fakeEvents
	// published are the ids published before err stopped the trigger.
	published []string
}

func (f *fakeCases) TriggerCaseN(ctx context.Context, tenant, topic string, overrides map[string]any, n int) ([]string, error) {
	if f.err != nil {
		f.calls = append(f.calls, "refused")
		return f.published, f.err
	}
	return f.TriggerN(ctx, tenant, topic, overrides, n)
}

// TestTriggerEventBindsCaseTopics: case.* topics go to the case store
// unless the request is synthetic or no case store is wired; other topics
// are always synthetic.
func TestTriggerEventBindsCaseTopics(t *testing.T) {
	tests := []struct {
		name, body string
		noCases    bool
		wantCase   []string
		wantEvent  []string
	}{
		{name: "case topic", body: `{"tenant":"acme","topic":"case.updated","data":{"case":{"id":"case_acme_1001"}}}`,
			wantCase: []string{"acme case.updated map[case:map[id:case_acme_1001]]"}},
		{name: "case topic with count", body: `{"tenant":"acme","topic":"case.closed","count":2}`,
			wantCase: []string{"acme case.closed map[] x2"}},
		{name: "synthetic case topic", body: `{"tenant":"acme","topic":"case.updated","synthetic":true,"data":{"case":{"id":"c1"}}}`,
			wantEvent: []string{"acme case.updated map[case:map[id:c1]]"}},
		{name: "other topic", body: `{"tenant":"acme","topic":"app.created"}`, wantEvent: []string{"acme app.created map[]"}},
		{name: "synthetic other topic", body: `{"tenant":"acme","topic":"note.created","synthetic":true}`,
			wantEvent: []string{"acme note.created map[]"}},
		{name: "no case store", body: `{"tenant":"acme","topic":"case.updated"}`, noCases: true,
			wantEvent: []string{"acme case.updated map[]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cases := &fakeCases{}
			e := newEnv(t, func(c *Config) {
				if !tt.noCases {
					c.Cases = cases
				}
			})
			if status, _, body := e.do(http.MethodPost, "/_sandbox/events", "", tt.body); status != http.StatusAccepted {
				t.Fatalf("status %d %v", status, body)
			}
			if diff := cmp.Diff(tt.wantCase, cases.calls); diff != "" {
				t.Errorf("case triggers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEvent, e.events.calls); diff != "" {
				t.Errorf("synthetic triggers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTriggerEventCaseRefusals: the case store's refusals keep the
// control plane's error model: 404 naming the id, 409 limit_reached, 422
// naming fields under /data.
func TestTriggerEventCaseRefusals(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantFields []string
		wantDetail string
		published  []string
	}{
		{name: "unknown case", err: fmt.Errorf("case: %w", ErrNotFound), wantStatus: 404, wantCode: "not_found",
			wantFields: []string{"/data/case/id"}, wantDetail: "tenant acme has no case case_acme_9999"},
		{name: "tenant full", err: fmt.Errorf("create: %w", &core.LimitError{Limit: "cases per tenant", Max: 10000}),
			wantStatus: 409, wantCode: "limit_reached", wantDetail: "10000 cases per tenant"},
		{name: "tenant full after some events", err: fmt.Errorf("create: %w", &core.LimitError{Limit: "cases per tenant", Max: 10000}),
			published: []string{"evt_1", "evt_2"}, wantStatus: 409, wantCode: "limit_reached",
			wantDetail: "events were published, the first evt_1"},
		{name: "refused fields", err: dataIssuesError{{Field: "/case/title", Reason: "must have 1 to 200 characters"}},
			wantStatus: 422, wantCode: "unprocessable", wantFields: []string{"/data/case/title"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cases := &fakeCases{published: tt.published}
			cases.err = tt.err
			e := newEnv(t, func(c *Config) { c.Cases = cases })
			status, h, body := e.do(http.MethodPost, "/_sandbox/events", "",
				`{"tenant":"acme","topic":"case.updated","data":{"case":{"id":"case_acme_9999","title":""}}}`)
			if status != tt.wantStatus || body["code"] != tt.wantCode || h.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s %v, want %d %s", status, h.Get("Content-Type"), body, tt.wantStatus, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantFields, fields(body)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if detail, _ := body["detail"].(string); !strings.Contains(detail, tt.wantDetail) {
				t.Errorf("detail %q does not say %q", detail, tt.wantDetail)
			}
		})
	}
}
