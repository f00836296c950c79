package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// TestClockStore: positions are kept by tenant, the version grows with
// every change and a deleted tenant's clock is gone; the fault rules'
// snapshot is replaced as a whole.
func TestClockStore(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			s := db.Clocks()
			if v, err := db.SharedVersion(ctx); err != nil || v != 0 {
				t.Fatalf("SharedVersion of a new database = %d, %v; want 0", v, err)
			}
			at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
			v1, err := s.SaveClock(ctx, "", core.ClockPos{Offset: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			v2, err := s.SaveClock(ctx, "acme", core.ClockPos{Frozen: true, FrozenAt: at})
			if err != nil || v2 <= v1 {
				t.Fatalf("SaveClock = %d, %v; want a version above %d", v2, err, v1)
			}
			if _, err := s.SaveClock(ctx, "", core.ClockPos{Offset: 2 * time.Hour}); err != nil {
				t.Fatal(err)
			}
			got, v, err := s.LoadClocks(ctx)
			if err != nil || v <= v2 || len(got) != 2 || got[""].Offset != 2*time.Hour || !got["acme"].Frozen || !got["acme"].FrozenAt.Equal(at) {
				t.Fatalf("LoadClocks = %+v, %d, %v", got, v, err)
			}
			if err := s.DeleteClock(ctx, "acme"); err != nil {
				t.Fatal(err)
			}
			got, v3, err := s.LoadClocks(ctx)
			if _, ok := got["acme"]; ok || err != nil || v3 <= v {
				t.Errorf("after DeleteClock: %+v, version %d (was %d), %v", got, v3, v, err)
			}

			f := db.Faults()
			if b, err := f.LoadRules(ctx); b != nil || err != nil {
				t.Fatalf("LoadRules of a new database = %q, %v", b, err)
			}
			for _, snap := range []string{`{"rules":[1]}`, `{"rules":[2]}`} {
				if err := f.SaveRules(ctx, []byte(snap)); err != nil {
					t.Fatal(err)
				}
			}
			if b, err := f.LoadRules(ctx); string(b) != `{"rules":[2]}` || err != nil {
				t.Errorf("LoadRules = %q, %v; want the last snapshot", b, err)
			}
		})
	}
}

// TestSavingKeysOrRulesMovesTheSharedVersion: on PostgreSQL a save of the
// signing keys or the fault rules moves the shared version and tells the
// OnSharedSave hook the new one; on SQLite, one process's alone, it only
// writes the snapshot.
func TestSavingKeysOrRulesMovesTheSharedVersion(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			var told []int64
			db.OnSharedSave(func(v int64) { told = append(told, v) })
			before, err := db.SharedVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Keys().SaveKeys(ctx, []byte(`{"keys":1}`)); err != nil {
				t.Fatal(err)
			}
			if err := db.Faults().SaveRules(ctx, []byte(`{"rules":[]}`)); err != nil {
				t.Fatal(err)
			}
			after, err := db.SharedVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			keys, _ := db.Keys().LoadKeys(ctx)
			rules, _ := db.Faults().LoadRules(ctx)
			if string(keys) != `{"keys":1}` || string(rules) != `{"rules":[]}` {
				t.Errorf("stored snapshots %q, %q", keys, rules)
			}
			if !db.Postgres() {
				if after != before || len(told) != 0 {
					t.Errorf("SQLite: version %d → %d, hook told %v; want unchanged, untold", before, after, told)
				}
				return
			}
			if after != before+2 || len(told) != 2 || told[0] != before+1 || told[1] != before+2 {
				t.Errorf("PostgreSQL: version %d → %d, hook told %v; want two steps, each told", before, after, told)
			}
		})
	}
}
