package sandboxtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/client"
)

// RequestFilter selects requests of the sandbox's journal (operation,
// client, status or class such as "4xx", since, request id, tenant);
// Limit and Cursor are ignored by the helpers, which read every page.
type RequestFilter = client.RequestFilter

// RequestEntry is one journaled request, its body redacted.
type RequestEntry = client.RequestEntry

// Requests returns every journaled request matching f, newest first (the
// journal keeps the last 1000 per tenant). It fails t when the journal
// cannot be read.
func (s *Sandbox) Requests(t testing.TB, f RequestFilter) []RequestEntry {
	t.Helper()
	f.Limit, f.Cursor = 500, ""
	var out []RequestEntry
	for {
		page, err := s.api.Sandbox().Requests(context.Background(), f)
		if err != nil {
			t.Fatalf("sandboxtest: reading the request journal: %v", err)
			return nil
		}
		out = append(out, page.Requests...)
		if page.NextCursor == "" {
			return out
		}
		f.Cursor = page.NextCursor
	}
}

// CountRequests counts the journaled requests matching f.
func (s *Sandbox) CountRequests(t testing.TB, f RequestFilter) int {
	t.Helper()
	return len(s.Requests(t, f))
}

// AssertRequests checks that exactly n journaled requests match f, as
// WireMock's verify does, and otherwise fails t listing the matches.
func (s *Sandbox) AssertRequests(t testing.TB, f RequestFilter, n int) {
	t.Helper()
	got := s.Requests(t, f)
	if len(got) == n {
		return
	}
	var b strings.Builder
	for _, e := range got {
		fmt.Fprintf(&b, "\n  %s %s %s → %d (%s, request %s)", e.Time.Format("15:04:05.000"), e.Method, e.Path, e.Status, e.Operation, e.RequestID)
	}
	t.Errorf("sandboxtest: %d requests match %+v, want %d:%s", len(got), f, n, b.String())
}

// ClearRequests forgets the journaled requests of tenant (of every tenant
// when empty), so a test counts only what follows.
func (s *Sandbox) ClearRequests(ctx context.Context, tenant string) error {
	return s.api.Sandbox().ClearRequests(ctx, tenant)
}
