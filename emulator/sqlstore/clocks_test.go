package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
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

// TestSavingKeysOrRulesMovesTheirVersion: on PostgreSQL a save of the
// signing keys moves the keys' version alone, a save of the fault rules
// the rules' alone, and each tells the OnSharedSave hook its kind and new
// version; on SQLite, one process's alone, a save only writes the
// snapshot. Versions reads the three in one statement.
func TestSavingKeysOrRulesMovesTheirVersion(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			type told struct {
				kind sqlstore.Kind
				v    int64
			}
			var hooks []told
			db.OnSharedSave(func(k sqlstore.Kind, v int64) { hooks = append(hooks, told{k, v}) })
			before, err := db.Versions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Keys().SaveKeys(ctx, []byte(`{"keys":1}`)); err != nil {
				t.Fatal(err)
			}
			if err := db.Faults().SaveRules(ctx, []byte(`{"rules":[]}`)); err != nil {
				t.Fatal(err)
			}
			if ok, err := db.Faults().SwapRules(ctx, []byte(`{"rules":[]}`), []byte(`{"rules":[1]}`), nil); !ok || err != nil {
				t.Fatalf("SwapRules = %v, %v", ok, err)
			}
			trips := db.RoundTrips()
			after, err := db.Versions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := db.RoundTrips() - trips; n != 1 {
				t.Errorf("Versions took %d round trips, want 1", n)
			}
			keys, _ := db.Keys().LoadKeys(ctx)
			rules, _ := db.Faults().LoadRules(ctx)
			if string(keys) != `{"keys":1}` || string(rules) != `{"rules":[1]}` {
				t.Errorf("stored snapshots %q, %q", keys, rules)
			}
			if !db.Postgres() {
				if after != before || len(hooks) != 0 {
					t.Errorf("SQLite: versions %+v → %+v, hook told %v; want unchanged, untold", before, after, hooks)
				}
				return
			}
			want := sqlstore.Versions{State: before.State, Keys: before.Keys + 1, Faults: before.Faults + 2}
			wantHooks := []told{{sqlstore.KindKeys, before.Keys + 1}, {sqlstore.KindFaults, before.Faults + 1}, {sqlstore.KindFaults, before.Faults + 2}}
			if after != want || len(hooks) != 3 || hooks[0] != wantHooks[0] || hooks[1] != wantHooks[1] || hooks[2] != wantHooks[2] {
				t.Errorf("PostgreSQL: versions %+v → %+v, hook told %v; want %+v, told %v", before, after, hooks, want, wantHooks)
			}
		})
	}
}
