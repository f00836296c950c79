package graphql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// TestTriggerCaseIsTheMutationsEvent: a triggered case.updated that makes
// the change an updateCase mutation makes reports the same case and the
// same changes, and GraphQL then answers that case.
func TestTriggerCaseIsTheMutationsEvent(t *testing.T) {
	mutated := newHarness(t, Limits{})
	mutated.gql("acme-writer", `mutation { updateCase(id: "case_acme_1001", input: {status: IN_PROGRESS, tags: ["fraud", "finance", "urgent"]}) { id } }`, nil)
	events := mutated.events.all()
	if len(events) != 1 {
		t.Fatalf("the mutation published %d events", len(events))
	}

	triggered := newHarness(t, Limits{})
	got, err := triggered.svc.TriggerCase(context.Background(), "acme", "case.updated",
		js(t, `{"case":{"id":"case_acme_1001","status":"IN_PROGRESS","tags":["fraud","finance","urgent"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"case": events[0].Data["case"], "changes": events[0].Data["changes"]}
	diff(t, roundTrip(t, want), roundTrip(t, got))
	got["actor"] = map[string]any{"type": "sandbox"} // the webhooks engine adds it from the example
	checkEventShapes(t, []publishedEvent{{Tenant: "acme", Topic: "case.updated", Data: got}})
	delete(got, "actor")

	answer := triggered.gql("acme-reader", `{ case(id: "case_acme_1001") { status version updatedAt } }`, nil)
	diff(t, js(t, `{"data":{"case":{"status":"IN_PROGRESS","version":2,"updatedAt":"2026-03-01T10:00:00Z"}}}`), answer)
}

func roundTrip(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTriggerCase(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Limits{})

	t.Run("each trigger is one change", func(t *testing.T) {
		for want := 2; want <= 3; want++ {
			got, err := h.svc.TriggerCase(ctx, "acme", "case.updated", js(t, `{"case":{"id":"case_acme_1004"}}`))
			if err != nil {
				t.Fatal(err)
			}
			if v := got["case"].(map[string]any)["version"]; v != want {
				t.Errorf("version %v, want %d", v, want)
			}
		}
	})

	t.Run("assigned and closed report the previous state", func(t *testing.T) {
		got, err := h.svc.TriggerCase(ctx, "acme", "case.assigned", js(t, `{"case":{"id":"case_acme_1003","assignee":"usr_acme_bob"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if got["previous_assignee"] != nil || got["case"].(map[string]any)["assignee"] != "usr_acme_bob" {
			t.Errorf("case.assigned = %v", got)
		}
		got, err = h.svc.TriggerCase(ctx, "acme", "case.closed", js(t, `{"case":{"id":"case_acme_1003"},"resolution":"  Sender blocked. "}`))
		if err != nil {
			t.Fatal(err)
		}
		if got["resolution"] != "Sender blocked." || got["case"].(map[string]any)["status"] != "CLOSED" {
			t.Errorf("case.closed = %v", got)
		}
		c, _ := h.svc.store.Case(ctx, "acme", "case_acme_1003")
		if c.Status != "CLOSED" || c.Resolution != "Sender blocked." || c.Assignee != "usr_acme_bob" || c.Version != 3 {
			t.Errorf("stored case = %+v", c)
		}
	})

	t.Run("another tenant's case is not found", func(t *testing.T) {
		_, err := h.svc.TriggerCase(ctx, "acme", "case.updated", js(t, `{"case":{"id":"case_globex_2001","title":"x"}}`))
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
		if c, _ := h.svc.store.Case(ctx, "globex", "case_globex_2001"); c.Version != 1 {
			t.Errorf("globex's case changed: %+v", c)
		}
	})

	t.Run("without an id a case is created from the example", func(t *testing.T) {
		got, err := h.svc.TriggerCase(ctx, "globex", "case.assigned", js(t, `{"case":{"priority":"LOW"}}`))
		if err != nil {
			t.Fatal(err)
		}
		c := got["case"].(map[string]any)
		id, _ := c["id"].(string)
		// The example's assignee is an acme user: a globex case has none.
		if !strings.HasPrefix(c["number"].(string), "GLOBEX-") || c["version"] != 1 || c["priority"] != "LOW" ||
			c["assignee"] != nil || c["title"] != "Phishing email impersonating the finance director" {
			t.Errorf("created case = %v", c)
		}
		if _, err := h.svc.store.Case(ctx, "globex", id); err != nil {
			t.Errorf("created case %s is not stored: %v", id, err)
		}
		if _, err := h.svc.store.Case(ctx, "acme", id); !errors.Is(err, ErrNotFound) {
			t.Errorf("created case %s is acme's too: %v", id, err)
		}
	})

	t.Run("fields are checked as mutation input", func(t *testing.T) {
		tests := []struct {
			name, topic, data string
			want              []string
		}{
			{"blank title", "case.updated", `{"case":{"id":"case_acme_1001","title":"  "}}`, []string{"/case/title"}},
			{"closed by an update", "case.updated", `{"case":{"id":"case_acme_1001","status":"CLOSED"}}`, []string{"/case/status"}},
			{"reopened by a close", "case.closed", `{"case":{"id":"case_acme_1001","status":"OPEN"}}`, []string{"/case/status"}},
			{"bad tag", "case.updated", `{"case":{"id":"case_acme_1001","tags":["ok","Not OK"]}}`, []string{"/case/tags/1"}},
			{"stranger", "case.assigned", `{"case":{"id":"case_acme_1001","assignee":"usr_globex_dan"}}`, []string{"/case/assignee"}},
			{"kept fields and unknown ones", "case.created", `{"case":{"version":3,"number":"X","risk":1,"title":7}}`,
				[]string{"/case/number", "/case/risk", "/case/title", "/case/version"}},
			{"empty resolution", "case.closed", `{"case":{"id":"case_acme_1001"},"resolution":""}`, []string{"/resolution"}},
			{"case not an object", "case.updated", `{"case":"case_acme_1001"}`, []string{"/case"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before, _ := h.svc.store.Case(ctx, "acme", "case_acme_1001")
				_, err := h.svc.TriggerCase(ctx, "acme", tt.topic, js(t, tt.data))
				var te *TriggerError
				if !errors.As(err, &te) {
					t.Fatalf("err = %v, want a *TriggerError", err)
				}
				var fields []string
				for _, is := range te.DataIssues() {
					fields = append(fields, is.Field)
				}
				diff(t, tt.want, fields)
				if after, _ := h.svc.store.Case(ctx, "acme", "case_acme_1001"); after.Version != before.Version {
					t.Errorf("a refused trigger changed the case: version %d → %d", before.Version, after.Version)
				}
			})
		}
	})

	t.Run("a tenant holds at most MaxCasesPerTenant cases", func(t *testing.T) {
		cases, _ := h.svc.store.CountCases(ctx, "acme", nil)
		for i := cases; i < MaxCasesPerTenant; i++ {
			if _, err := h.svc.store.Create(ctx, Case{ID: fmt.Sprint("filler_", i), Tenant: "acme", Version: 1}, MaxCasesPerTenant); err != nil {
				t.Fatal(err)
			}
		}
		_, err := h.svc.TriggerCase(ctx, "acme", "case.created", nil)
		var le *core.LimitError
		if !errors.As(err, &le) || le.Max != MaxCasesPerTenant {
			t.Errorf("err = %v, want the cases-per-tenant limit", err)
		}
	})
}
