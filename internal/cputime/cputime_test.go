package cputime

import (
	"runtime"
	"testing"
)

// TestProcessGrowsWithWork: spinning adds CPU time.
func TestProcessGrowsWithWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("not measured on this platform")
	}
	before, ok := Process()
	if !ok {
		t.Fatal("the CPU time could not be read")
	}
	x := 0
	for after, _ := Process(); after-before < 20e6; after, _ = Process() {
		for i := range 1_000_000 {
			x += i
		}
	}
	if x == 0 {
		t.Fatal("no work done")
	}
}
