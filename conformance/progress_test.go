package conformance_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

func TestProgress(t *testing.T) {
	tests := []struct {
		name string
		live bool
		want *regexp.Regexp
	}{
		{"log lines", false, regexp.MustCompile(`^\[1/2\] duplicate-sequential +pass \(\d+(ms|µs)\)\n\[2/2\] single-delivery +pass \(\d+(ms|µs)\)\n$`)},
		{"terminal", true, regexp.MustCompile(`^\[1/2\] duplicate-sequential +running…\r\x1b\[K\[1/2\] duplicate-sequential +pass \(\d+(ms|µs)\)\n` +
			`\[2/2\] single-delivery +running…\r\x1b\[K\[2/2\] single-delivery +pass \(\d+(ms|µs)\)\n$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			_, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone), StateDir: t.TempDir(),
				Run: "^(single-delivery|duplicate-sequential)$", Progress: &b, LiveProgress: tt.live})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want.MatchString(b.String()) {
				t.Errorf("progress = %q, want %s", b.String(), tt.want)
			}
		})
	}
}
