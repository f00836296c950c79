package graphql

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCachedDocumentsAnswerAlike sends each document twice: the first
// answer is prepared afresh, the second comes from the document cache, and
// they must be the same, refusals included. Limits that depend on variables
// are checked on every request, whatever the cache holds; those that do
// not are measured once with the document.
func TestCachedDocumentsAnswerAlike(t *testing.T) {
	h := newHarness(t, Limits{MaxCost: 60})
	tests := []struct {
		name     string
		query    string
		vars     map[string]any
		wantCode string // of the first error; "" when the answer has data and no errors
	}{
		{name: "valid", query: `query Q($id: ID!) { case(id: $id) { number notes(first: 2) { totalCount } } }`, vars: map[string]any{"id": "case_acme_1001"}},
		{name: "parse error", query: `{ case(id: "case_acme_1001") { number `, wantCode: CodeParseFailed},
		{name: "validation error", query: `{ case(id: "case_acme_1001") { numbr } }`, wantCode: CodeValidationFailed},
		{name: "introspection", query: `{ __schema { types { name } } }`, wantCode: CodeValidationFailed},
		{name: "cost within the limit", query: `query C($n: Int!) { cases(first: $n) { nodes { id } } }`, vars: map[string]any{"n": 5}},
		{name: "cost over the limit, same document", query: `query C($n: Int!) { cases(first: $n) { nodes { id } } }`, vars: map[string]any{"n": 100}, wantCode: CodeTooComplex},
		{name: "cost within the limit again", query: `query C($n: Int!) { cases(first: $n) { nodes { id } } }`, vars: map[string]any{"n": 5}},
		{name: "constant cost over the limit", query: `{ cases(first: 100) { nodes { id } } }`, wantCode: CodeTooComplex},
		{name: "constant cost within the limit", query: `{ cases(first: 5) { nodes { id } } }`},
		{name: "bad variable", query: `query Q($id: ID!) { case(id: $id) { number } }`, vars: map[string]any{"id": true}, wantCode: CodeBadUserInput},
		{name: "good variable, same document", query: `query Q($id: ID!) { case(id: $id) { number } }`, vars: map[string]any{"id": "case_acme_1001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := h.gql("acme-all", tt.query, tt.vars)
			second := h.gql("acme-all", tt.query, tt.vars)
			diff(t, first, second)
			errs, _ := first["errors"].([]any)
			switch {
			case tt.wantCode == "" && len(errs) > 0:
				t.Fatalf("errors %v, want none", errs)
			case tt.wantCode == "":
				if first["data"] == nil {
					t.Fatalf("no data: %v", first)
				}
			case len(errs) == 0:
				t.Fatalf("no errors, want %s: %v", tt.wantCode, first)
			default:
				code := errs[0].(map[string]any)["extensions"].(map[string]any)["code"]
				if code != tt.wantCode {
					t.Errorf("code %v, want %s: %v", code, tt.wantCode, errs)
				}
				if _, ok := first["data"]; ok {
					t.Errorf("a refused document answered data: %v", first)
				}
			}
		})
	}
}

// TestDocumentCacheKeepsRefusals checks that a document refused once is
// refused from the cache with the very same errors, and that the cached
// entry is the refusal, not a document.
func TestDocumentCacheKeepsRefusals(t *testing.T) {
	h := newHarness(t, Limits{})
	q := `{ case(id: "case_acme_1001") { numbr } }`
	want := h.svc.prepare(h.svc.public, q)
	got := h.svc.docs.get(q, func() *prepared { return h.svc.prepare(h.svc.public, q) })
	again := h.svc.docs.get(q, func() *prepared { t.Fatal("a cached document was prepared again"); return nil })
	if got != again {
		t.Error("the second lookup did not come from the cache")
	}
	if again.doc != nil || len(again.errors) == 0 {
		t.Fatalf("cached refusal has doc %v and errors %v", again.doc, again.errors)
	}
	diff(t, want.errors, again.errors)
}

func TestDocumentCacheBounds(t *testing.T) {
	p := &prepared{}
	miss := func(builds *int) func() *prepared {
		return func() *prepared { *builds++; return p }
	}
	t.Run("entries", func(t *testing.T) {
		c := newDocumentCache(3, 1<<10)
		builds := 0
		for i := range 10 {
			c.get(fmt.Sprint("q", i), miss(&builds))
			if n := c.size(); n > 3 {
				t.Fatalf("holds %d documents, want at most 3", n)
			}
		}
		if builds != 10 {
			t.Errorf("%d builds, want 10", builds)
		}
		builds = 0
		c.get("q9", miss(&builds)) // the last one stored is still there
		if builds != 0 {
			t.Error("the newest document was evicted")
		}
	})
	t.Run("bytes", func(t *testing.T) {
		c := newDocumentCache(100, 10)
		builds := 0
		for _, q := range []string{"aaaa", "bbbb", "cccc", "dddd"} {
			c.get(q, miss(&builds))
			if c.bytes > 10 || c.size() > 2 {
				t.Fatalf("holds %d documents of %d bytes, want at most 10 bytes", c.size(), c.bytes)
			}
		}
		long := strings.Repeat("x", 11)
		builds = 0
		c.get(long, miss(&builds))
		c.get(long, miss(&builds))
		if builds != 2 || c.size() != 2 {
			t.Errorf("a query longer than the budget: %d builds and %d documents, want 2 and it never cached", builds, c.size())
		}
	})
	t.Run("documents in use survive a flood", func(t *testing.T) {
		c := newDocumentCache(8, 1<<10)
		builds := 0
		c.get("hot", miss(&builds))
		for i := range 100 {
			c.get("hot", miss(&builds))
			c.get(fmt.Sprint("once", i), miss(&builds))
		}
		if builds != 101 {
			t.Errorf("%d builds, want 101: the document in use was evicted", builds)
		}
	})
}

// TestDocumentCacheConcurrent exercises hits, misses and evictions from
// many goroutines (run with -race).
func TestDocumentCacheConcurrent(t *testing.T) {
	c := newDocumentCache(4, 1<<10)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				q := fmt.Sprint("q", (g+i)%7)
				p := c.get(q, func() *prepared { return &prepared{errors: []*gqlError{newError(CodeParseFailed, q)}} })
				if p.errors[0].Message != q {
					t.Errorf("query %s answered with the document of %s", q, p.errors[0].Message)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := c.size(); n > 4 {
		t.Errorf("holds %d documents, want at most 4", n)
	}
}

// TestCachedDocumentsDependOnNoCaller sends each document with callers of
// other tenants and scopes, one after the other: whoever had it prepared
// and cached, each caller gets the answer a service that never saw the
// document gives that caller.
func TestCachedDocumentsDependOnNoCaller(t *testing.T) {
	queries := []string{
		`{ viewer { clientId scopes } }`,
		`{ case(id: "case_acme_1001") { number assignee { id } notes(first: 1) { nodes { author { id } } } } }`,
		`{ cases(first: 2) { nodes { id } } users(first: 1) { nodes { id } } }`,
		`{ approvedBundles { id } }`,
		`{ user(id: "usr_acme_alice") { id } }`,
	}
	tokens := []string{"acme-all", "acme-reader", "globex-all", "acme-none", "acme-partner", "acme-all"}
	cached := newHarness(t, Limits{})
	fresh := map[string]*harness{}
	for _, tok := range tokens {
		if fresh[tok] == nil {
			fresh[tok] = newHarness(t, Limits{})
		}
	}
	for _, q := range queries {
		seen := map[string]bool{}
		answers := map[string]bool{}
		for _, tok := range tokens {
			got := cached.gql(tok, q, nil)
			answers[fmt.Sprint(got)] = true
			if seen[tok] {
				continue // a fresh service would answer from its cache too
			}
			seen[tok] = true
			want := fresh[tok].gql(tok, q, nil)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s as %s after other callers (-fresh +cached):\n%s", q, tok, d)
			}
		}
		if len(answers) < 2 {
			t.Errorf("%s: every caller got the same answer; the document does not tell callers apart", q)
		}
	}
}
