package core

import "testing"

func TestPage(t *testing.T) {
	start, end, next, p := Page(5, 2, "")
	if p != nil || start != 0 || end != 2 || next == "" {
		t.Fatalf("first page = %d %d %q %v", start, end, next, p)
	}
	seen := end - start
	for next != "" {
		start, end, next, p = Page(5, 2, next)
		if p != nil {
			t.Fatal(p)
		}
		seen += end - start
	}
	if seen != 5 {
		t.Errorf("pages covered %d items, want 5", seen)
	}
	for _, bad := range []string{"!!", "LTE", "YWJj"} { // not base64, "-1", "abc"
		if _, _, _, p := Page(5, 2, bad); p == nil || p.Status != 400 || p.Errors[0].Field != "query.cursor" {
			t.Errorf("cursor %q: problem = %+v, want 400 naming query.cursor", bad, p)
		}
	}
	if start, end, next, _ := Page(3, 10, encodeOffset(7)); start != 3 || end != 3 || next != "" {
		t.Errorf("cursor past the end = %d %d %q", start, end, next)
	}
}

func encodeOffset(n int) string {
	_, _, next, _ := Page(n+1, n, "")
	return next
}
