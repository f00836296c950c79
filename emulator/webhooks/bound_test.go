package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTriggerBound: each event carries what bind reports, replacing the
// example's members whole (an example's changes are not merged into the
// real ones); overrides that break the schema are refused before bind
// runs; bind's error stops the events, returned with the ids already published.
func TestTriggerBound(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestService(t, nil)
	rc := newReceiver(t, nil)
	subscribe(t, s, "acme", rc.URL, "case.updated")
	version := 1
	bind := func(_ context.Context, overrides map[string]any) (map[string]any, error) {
		if overrides["fail"] != nil && version == 4 {
			return nil, errors.New("store unavailable")
		}
		version++
		return map[string]any{"case": map[string]any{"id": "c1", "number": "A-1", "title": "Stored", "status": "OPEN",
			"priority": "LOW", "assignee": nil, "tags": []string{}, "created_at": "2026-01-01T00:00:00Z",
			"updated_at": "2026-01-01T00:00:00Z", "version": version}, "changes": map[string]any{"title": "Old"}}, nil
	}
	ids, err := s.TriggerBound(ctx, "acme", "case.updated", map[string]any{"actor": map[string]any{"type": "sandbox"}}, 2, bind)
	if err != nil || len(ids) != 2 {
		t.Fatalf("ids %v, err %v", ids, err)
	}
	waitIdle(t, s)
	var got []string
	for _, r := range rc.requests() {
		var data map[string]any
		_ = json.Unmarshal(r.Event.Data, &data)
		c := data["case"].(map[string]any)
		got = append(got, fmt.Sprint(c["id"], " v", c["version"], " ", c["title"], " ", data["changes"], " ", data["actor"]))
	}
	// Deliveries to one endpoint run concurrently, so they arrive in any
	// order. Members bind does not report keep the example with the
	// overrides merged over it.
	slices.Sort(got)
	actor := "map[client_id:cli_example id:app_example type:sandbox]"
	want := []string{"c1 v2 Stored map[title:Old] " + actor, "c1 v3 Stored map[title:Old] " + actor}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	called := false
	_, err = s.TriggerBound(ctx, "acme", "case.updated", map[string]any{"case": map[string]any{"version": "two"}}, 1,
		func(context.Context, map[string]any) (map[string]any, error) { called = true; return nil, nil })
	var bad *InvalidDataError
	if !errors.As(err, &bad) || called {
		t.Errorf("schema-breaking overrides: err %v, bind called %v; want an *InvalidDataError before bind", err, called)
	}

	ids, err = s.TriggerBound(ctx, "acme", "case.updated", map[string]any{"fail": true}, 3, bind)
	if err == nil || err.Error() != "store unavailable" || len(ids) != 1 {
		t.Errorf("failing bind: ids %v, err %v", ids, err)
	}
}

// TestTriggerBoundAfterShutdown: once the engine is shutting down, a bound
// trigger is refused before bind changes the stored object.
func TestTriggerBoundAfterShutdown(t *testing.T) {
	s, _ := newTestService(t, nil)
	s.Shutdown(context.Background())
	called := false
	_, err := s.TriggerBound(context.Background(), "acme", "case.updated", nil, 1,
		func(context.Context, map[string]any) (map[string]any, error) { called = true; return nil, nil })
	if !errors.Is(err, ErrClosed) || called {
		t.Errorf("err %v, bind called %v; want ErrClosed before bind", err, called)
	}
}
