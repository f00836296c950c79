package racetest

import (
	"sync"
	"testing"
)

func TestRunCallsEachIndexOnce(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	Run(Writers, func(i int) {
		mu.Lock()
		seen[i]++
		mu.Unlock()
	})
	for i := range Writers {
		if seen[i] != 1 {
			t.Errorf("fn(%d) ran %d times, want once", i, seen[i])
		}
	}
	if len(seen) != Writers {
		t.Errorf("fn ran for %d indexes, want %d", len(seen), Writers)
	}
}
