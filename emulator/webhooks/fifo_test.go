package webhooks

import (
	"slices"
	"testing"
)

// TestFIFO interleaves pushes and pops across the compactions and checks
// the order, the length, what all reports, and that popped slots are
// zeroed (no popped item stays reachable through the array).
func TestFIFO(t *testing.T) {
	var f fifo[*int]
	var model []int
	next := 0
	for round := range 200 {
		for range round % 7 * 11 {
			v := next
			next++
			f.push(&v)
			model = append(model, v)
		}
		for range min(round%5*13, len(model)) {
			got := f.pop()
			if *got != model[0] {
				t.Fatalf("round %d: popped %d, want %d", round, *got, model[0])
			}
			model = model[1:]
		}
		if f.len() != len(model) {
			t.Fatalf("round %d: len %d, want %d", round, f.len(), len(model))
		}
		var all []int
		for _, p := range f.all() {
			all = append(all, *p)
		}
		if !slices.Equal(all, model) && len(model) > 0 {
			t.Fatalf("round %d: all = %v, want %v", round, all, model)
		}
		for i, p := range f.items[:f.head] {
			if p != nil {
				t.Fatalf("round %d: popped slot %d still holds %d", round, i, *p)
			}
		}
		for i, p := range f.items[len(f.items):cap(f.items)] {
			if p != nil {
				t.Fatalf("round %d: spare slot %d holds %d", round, i, *p)
			}
		}
	}
	f.reset()
	if f.len() != 0 || f.items != nil {
		t.Errorf("after reset: len %d, items %v", f.len(), f.items)
	}
}
