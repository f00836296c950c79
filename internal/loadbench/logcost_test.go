package loadbench

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestSandboxServerPassesTheLogLevel(t *testing.T) {
	for _, tt := range []struct{ level, want string }{{"", "error"}, {"info", "info"}, {"warn", "warn"}} {
		args := SandboxServer("/bin/sandbox", tt.level).Command(8080).Args
		i := slices.Index(args, "--log-level")
		if i < 0 || i+1 >= len(args) || args[i+1] != tt.want {
			t.Errorf("level %q: args %q, want --log-level %s", tt.level, args, tt.want)
		}
	}
}

func TestLogPairCostAndMedian(t *testing.T) {
	rate := func(n int) Result { return Result{Requests: n, Elapsed: time.Second} }
	pairs := []LogPair{
		{Info: rate(90), Warn: rate(100)},  // 10 %
		{Info: rate(120), Warn: rate(100)}, // -20 %: noise, the median ignores it
		{Info: rate(95), Warn: rate(100)},  // 5 %
		{Info: rate(50), Warn: rate(100)},  // 50 %
	}
	if got := pairs[0].Cost(); math.Abs(got-0.10) > 1e-9 {
		t.Errorf("cost = %v, want 0.10", got)
	}
	if got := MedianCost(pairs, LogPair.Cost); math.Abs(got-0.075) > 1e-9 {
		t.Errorf("median of an even count = %v, want 0.075", got)
	}
	if got := MedianCost(pairs[:3], LogPair.Cost); math.Abs(got-0.05) > 1e-9 {
		t.Errorf("median of three = %v, want 0.05", got)
	}
	if got := (LogPair{Info: rate(10)}).Cost(); got != 0 {
		t.Errorf("cost with no warn requests = %v, want 0", got)
	}
	if got := (LogPair{InfoCPU: 11 * time.Microsecond, WarnCPU: 10 * time.Microsecond}).CPUCost(); math.Abs(got-0.10) > 1e-9 {
		t.Errorf("CPU cost = %v, want 0.10", got)
	}
	if MedianCost(nil, LogPair.Cost) != 0 {
		t.Error("median of no pairs is not 0")
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis; utime 150, stime 50.
	stat := "4242 (sand box)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 50 0 0 20 0 9 0 100 0 0"
	got, err := parseStatCPU(stat)
	if err != nil || got != 2*time.Second {
		t.Errorf("parseStatCPU = %v, %v; want 2s", got, err)
	}
	if _, err := parseStatCPU("4242 (x) S 1"); err == nil {
		t.Error("a short stat line parsed")
	}
}
