package conformance

import (
	"encoding/json"
	"testing"
)

// TestPadReachesTheSize: padded data encodes to at least the size asked
// for, and not much more; data already that large is left alone.
func TestPadReachesTheSize(t *testing.T) {
	for _, n := range []int{1, 100, 262144, 300000} {
		data := map[string]any{"case": map[string]any{"id": "case_1", "version": 2}}
		pad(data, n)
		raw, _ := json.Marshal(data)
		if len(raw) < n || len(raw) > n+2*len(padding)+64 {
			t.Errorf("pad to %d: %d bytes", n, len(raw))
		}
		if n == 1 && data["padding"] != nil {
			t.Errorf("pad to 1 added padding to data already that large")
		}
	}
}
