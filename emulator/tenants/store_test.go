package tenants_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/emulator/tenants/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) tenants.Store { return tenants.NewMemoryStore() })
}

// TestCursorRoundTrip: a cursor reads back as it was made, whatever the
// id (fixture tenants' ids follow no pattern), and what String never
// makes is ErrBadCursor.
func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []tenants.Cursor{{At: 1, ID: "acme"}, {At: -5_000_000, ID: "Acme Corp ünï"}, {At: 1 << 60, ID: strings.Repeat("x", 100)}} {
		if got, err := tenants.ParseCursor(c.String()); err != nil || got != c {
			t.Errorf("ParseCursor(%+v.String()) = %+v, %v", c, got, err)
		}
	}
	for _, bad := range []string{"!!", "AAAA", "AAAAAAAAAAA", "AAAAAAAAAAD_", "AAAAAAAAAAAA="} {
		if _, err := tenants.ParseCursor(bad); !errors.Is(err, tenants.ErrBadCursor) {
			t.Errorf("ParseCursor(%q) = %v, want ErrBadCursor", bad, err)
		}
	}
}
