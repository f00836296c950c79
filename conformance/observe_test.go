package conformance

import (
	"fmt"
	"strings"
	"testing"
)

func TestDiffCounts(t *testing.T) {
	burst := func(wrong ...int) (map[string]int, map[string]int) {
		want, got := map[string]int{}, map[string]int{}
		for i := range 200 {
			k := fmt.Sprintf("burst[%d] evt_%d", i, i)
			want[k], got[k] = 1, 1
		}
		for _, i := range wrong {
			got[fmt.Sprintf("burst[%d] evt_%d", i, i)] = 2
		}
		return want, got
	}
	many := make([]int, 30)
	for i := range many {
		many[i] = 100 + i
	}
	tests := []struct {
		name     string
		wrong    []int
		want     Status
		contains []string
		excludes []string
	}{
		{name: "all applied once", want: StatusPass},
		{name: "a few twice", wrong: []int{7, 150}, want: StatusFail,
			contains: []string{"2 of 200 events were not applied as expected", "2 applied 2 times", "burst[7] evt_7", "burst[150] evt_150"},
			excludes: []string{"burst[8] ", "more"}},
		{name: "many twice: the first ten in publish order", wrong: many, want: StatusFail,
			contains: []string{"30 of 200 events", "30 applied 2 times", "burst[100] ", "burst[109] ", "… and 20 more"},
			excludes: []string{"burst[110] ", "burst[129] "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, got := burst(tt.wrong...)
			st, detail := diffCounts(want, got)
			if st != tt.want {
				t.Errorf("status = %s, want %s", st, tt.want)
			}
			for _, s := range tt.contains {
				if !strings.Contains(detail, s) {
					t.Errorf("detail lacks %q:\n%s", s, detail)
				}
			}
			for _, s := range tt.excludes {
				if strings.Contains(detail, s) {
					t.Errorf("detail has %q:\n%s", s, detail)
				}
			}
		})
	}
}
