package webhooks

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTriggerChecksDataAgainstTheCatalogSchema: every catalog example
// publishes as is; overrides that break the topic's schema are refused
// with the offending fields, and nothing is delivered.
func TestTriggerChecksDataAgainstTheCatalogSchema(t *testing.T) {
	s, _ := newTestService(t, nil)
	rc := newReceiver(t, nil)
	subscribe(t, s, "acme", rc.URL, "case.updated")
	for _, et := range s.catalog.types {
		if _, err := s.Trigger(context.Background(), "acme", et.Type, nil); err != nil {
			t.Errorf("the catalog example of %s does not publish: %v", et.Type, err)
		}
	}
	waitIdle(t, s)
	before := len(rc.requests())

	tests := []struct {
		name      string
		overrides map[string]any
		want      []string
	}{
		{"wrong type", map[string]any{"case": map[string]any{"status": 42}}, []string{"/case/status"}},
		{"two fields", map[string]any{"case": map[string]any{"version": "two", "tags": "urgent"}}, []string{"/case/tags", "/case/version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.TriggerN(context.Background(), "acme", "case.updated", tt.overrides, 3)
			var ide *InvalidDataError
			if !errors.As(err, &ide) {
				t.Fatalf("err = %v, want an *InvalidDataError", err)
			}
			var fields []string
			for _, is := range ide.DataIssues() {
				fields = append(fields, is.Field)
				if is.Reason == "" {
					t.Errorf("issue %s has no reason", is.Field)
				}
			}
			if diff := cmp.Diff(tt.want, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
	waitIdle(t, s)
	if got := len(rc.requests()); got != before {
		t.Errorf("%d deliveries after refused triggers, want none", got-before)
	}
}
