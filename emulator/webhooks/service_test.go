package webhooks

import (
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
)

// TestAttemptTimeoutBounds: zero takes the default of Argus, a timeout
// from MinAttemptTimeout to MaxAttemptTimeout is used as given, and one
// outside them is refused with the field named.
func TestAttemptTimeoutBounds(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		want    time.Duration
		wantErr bool
	}{
		{name: "zero is the default", want: DefaultAttemptTimeout},
		{name: "shortest", timeout: MinAttemptTimeout, want: MinAttemptTimeout},
		{name: "one second", timeout: time.Second, want: time.Second},
		{name: "longest", timeout: MaxAttemptTimeout, want: MaxAttemptTimeout},
		{name: "too short", timeout: MinAttemptTimeout - time.Millisecond, wantErr: true},
		{name: "too long", timeout: MaxAttemptTimeout + time.Second, wantErr: true},
		{name: "negative", timeout: -time.Second, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Clock: core.NewVirtualClock(nil), IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault(),
				AttemptTimeout: tt.timeout})
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "Config.AttemptTimeout") {
					t.Errorf("New = %v, want an error naming Config.AttemptTimeout", err)
				}
				if s != nil {
					_ = s.Close()
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.cfg.AttemptTimeout != tt.want {
				t.Errorf("attempt timeout = %s, want %s", s.cfg.AttemptTimeout, tt.want)
			}
		})
	}
}
