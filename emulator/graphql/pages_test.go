package graphql

import (
	"fmt"
	"slices"
	"testing"
)

// TestCasePagesWalkTheFilteredList: following endCursor one case at a
// time, with and without a filter, serves exactly the list one big page
// serves, in its order, each page with the filter's totalCount and
// hasNextPage false on the last.
func TestCasePagesWalkTheFilteredList(t *testing.T) {
	h := newHarness(t, Limits{})
	for i := range 5 {
		if _, err := h.svc.store.Create(t.Context(), Case{ID: fmt.Sprint("case_paged_", i), Tenant: "acme", Status: []string{"OPEN", "CLOSED"}[i%2],
			Version: 1}, MaxCasesPerTenant); err != nil {
			t.Fatal(err)
		}
	}
	for _, filter := range []string{"", `, filter: {status: [OPEN]}`} {
		conn := func(args string) map[string]any {
			t.Helper()
			got := h.gql("acme-all", `{ cases(`+args+filter+`) { totalCount nodes { id } pageInfo { hasNextPage endCursor } } }`, nil)
			data, _ := got["data"].(map[string]any)
			c, _ := data["cases"].(map[string]any)
			if c == nil {
				t.Fatalf("cases(%s%s): %v", args, filter, got)
			}
			return c
		}
		ids := func(c map[string]any) (out []string) {
			for _, n := range c["nodes"].([]any) {
				out = append(out, n.(map[string]any)["id"].(string))
			}
			return out
		}
		whole := conn("first: 100")
		want := ids(whole)
		if len(want) < 3 || whole["totalCount"] != float64(len(want)) {
			t.Fatalf("filter %q: one page = %v, totalCount %v", filter, want, whole["totalCount"])
		}
		var got []string
		for args := "first: 1"; ; {
			c := conn(args)
			got = append(got, ids(c)...)
			if c["totalCount"] != whole["totalCount"] {
				t.Errorf("filter %q: totalCount %v on a page, want %v", filter, c["totalCount"], whole["totalCount"])
			}
			info := c["pageInfo"].(map[string]any)
			if info["hasNextPage"] != true {
				break
			}
			args = fmt.Sprintf("first: 1, after: %q", info["endCursor"])
		}
		if !slices.Equal(got, want) {
			t.Errorf("filter %q: pages of one = %v, want %v", filter, got, want)
		}
	}
}
