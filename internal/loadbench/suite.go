package loadbench

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// ConformanceSuite times the default conformance suite against the
// reference consumer, as an integrator runs it (`conformance run --exec
// consumer`, embedded sandbox), runs times, and returns the median. Every
// run must pass.
func ConformanceSuite(ctx context.Context, conformanceBin, consumerBin string, runs int) (Figure, error) {
	var took []time.Duration
	for range max(runs, 1) {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, conformanceBin, "run", "--exec", consumerBin)
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			return Figure{}, fmt.Errorf("conformance suite: %w\n%s", err, lastLines(out.String(), 10))
		}
		took = append(took, time.Since(t0))
	}
	return Figure{Target: "sandbox", Metric: "conformance-suite", Value: float64(median(took).Microseconds()) / 1000, Unit: "ms"}, nil
}

// ImageSize reports the size of a container image in MB (10^6 bytes, as
// `docker images` prints it).
func ImageSize(ctx context.Context, ref string) (Figure, error) {
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Size}}", ref).Output()
	if err != nil {
		return Figure{}, fmt.Errorf("docker image inspect %s: %w", ref, err)
	}
	var n int64
	if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &n); err != nil {
		return Figure{}, fmt.Errorf("image size of %s: %q", ref, out)
	}
	return Figure{Target: "sandbox", Metric: "image-size", Value: float64(n) / 1e6, Unit: "MB"}, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
