package faults

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// memoryState is a StateStore in memory, counting its saves.
type memoryState struct {
	mu    sync.Mutex
	data  []byte
	saves int
}

func (m *memoryState) LoadRules(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data, nil
}

func (m *memoryState) SaveRules(_ context.Context, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data, m.saves = append([]byte(nil), b...), m.saves+1
	return nil
}

// TestRulesSurviveARestart: an engine on a StateStore starts from the
// rules, counters and random streams another engine saved there, not from
// its start-up rules; a match that changes nothing saves nothing.
func TestRulesSurviveARestart(t *testing.T) {
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	t.Cleanup(clock.Close)
	store := &memoryState{}
	start := rule("start", Match{Tenant: "globex"}, When{}, Action{TokenExpiry: &TokenExpiry{ExpiresIn: Duration(time.Second)}})
	newEngine := func() *Engine {
		e, err := New(Config{Clock: clock, IDs: core.NewIDs(nil), Seed: 1, Rules: []Rule{start}, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	first := newEngine()
	if _, err := first.Add(rule("twice", Match{Tenant: "acme"}, When{First: 2, Probability: prob(0.999999)},
		Action{TokenExpiry: &TokenExpiry{ExpiresIn: Duration(5 * time.Second)}})); err != nil {
		t.Fatal(err)
	}
	if err := first.Delete("start"); err != nil {
		t.Fatal(err)
	}
	if _, ok := first.MatchToken(TokenInfo{Tenant: "acme"}); !ok {
		t.Fatal("the rule did not fire on its first match")
	}
	saves := store.saves
	if _, ok := first.MatchToken(TokenInfo{Tenant: "initech"}); ok || store.saves != saves {
		t.Errorf("a request no rule matches fired (%v) or saved (%d saves, want %d)", ok, store.saves, saves)
	}
	firstRNG, _ := first.rules[0].pcg.MarshalBinary()

	second := newEngine()
	rules := second.Rules()
	if len(rules) != 1 || rules[0].Name != "twice" || rules[0].Matched != 1 || rules[0].Fired != 1 {
		t.Fatalf("after a restart the rules are %+v, want twice with 1 match and 1 firing", rules)
	}
	if got, _ := second.rules[0].pcg.MarshalBinary(); string(got) != string(firstRNG) {
		t.Error("the rule's random stream starts over after a restart")
	}
	if _, ok := second.MatchToken(TokenInfo{Tenant: "acme"}); !ok {
		t.Fatal("the rule's second firing is lost after a restart")
	}
	if _, ok := newEngine().MatchToken(TokenInfo{Tenant: "acme"}); ok {
		t.Error("a rule limited to 2 firings fired a third time after another restart")
	}
	third := newEngine()
	third.Reset()
	if rules := newEngine().Rules(); len(rules) != 1 || rules[0].Name != "start" || rules[0].Matched != 0 {
		t.Errorf("after a reset and a restart the rules are %+v, want the start-up rule, unmatched", rules)
	}
}

// TestEnginesReloadEachOthersRules: two engines on one StateStore, as two
// replicas; a rule added on one acts on the other after its Reload, with
// the stored counters in place of its own, and a deletion reaches back.
func TestEnginesReloadEachOthersRules(t *testing.T) {
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	t.Cleanup(clock.Close)
	store := &memoryState{}
	newEngine := func() *Engine {
		e, err := New(Config{Clock: clock, IDs: core.NewIDs(nil), Seed: 1, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b := newEngine(), newEngine()
	if _, err := a.Add(rule("short", Match{Tenant: "acme"}, When{First: 3},
		Action{TokenExpiry: &TokenExpiry{ExpiresIn: Duration(time.Second)}})); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.MatchToken(TokenInfo{Tenant: "acme"}); !ok {
		t.Fatal("the rule did not fire on a")
	}
	if _, ok := b.MatchToken(TokenInfo{Tenant: "acme"}); ok {
		t.Fatal("the rule fired on b before any reload")
	}
	if err := b.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rules := b.Rules(); len(rules) != 1 || rules[0].Fired != 1 {
		t.Fatalf("b's rules after a reload %+v, want short fired once", rules)
	}
	if _, ok := b.MatchToken(TokenInfo{Tenant: "acme"}); !ok {
		t.Fatal("the rule does not fire on b after a reload")
	}
	if err := b.Delete("short"); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.MatchToken(TokenInfo{Tenant: "acme"}); ok {
		t.Error("the rule deleted on b still fires on a after a reload")
	}
}

// TestSharedEnginesCountExactly: engines on one SharedStateStore count a
// rule's matches together, so a rule limited to 3 firings fires 3 times
// across them, and each shows the shared counters; a rule added on one
// is in the other's rule set after a reload, and a match saves no
// snapshot.
func TestSharedEnginesCountExactly(t *testing.T) {
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	t.Cleanup(clock.Close)
	store := NewMemoryStateStore()
	newEngine := func() *Engine {
		e, err := New(Config{Clock: clock, IDs: core.NewIDs(nil), Seed: 1, Store: store, Shared: true})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b := newEngine(), newEngine()
	if _, err := a.Add(rule("thrice", Match{Tenant: "acme"}, When{First: 3},
		Action{TokenExpiry: &TokenExpiry{ExpiresIn: Duration(time.Second)}})); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	snapshot, _ := store.LoadRules(context.Background())
	fired := 0
	for i := range 10 {
		e := []*Engine{a, b}[i%2]
		if _, ok := e.MatchToken(TokenInfo{Tenant: "acme"}); ok {
			fired++
		}
	}
	if fired != 3 {
		t.Errorf("a rule limited to 3 firings fired %d times across two engines", fired)
	}
	for name, e := range map[string]*Engine{"A": a, "B": b} {
		if st, err := e.Rule("thrice"); err != nil || st.Matched != 10 || st.Fired != 3 {
			t.Errorf("%s shows %+v, %v; want 10 matches and 3 firings", name, st, err)
		}
	}
	if now, _ := store.LoadRules(context.Background()); string(now) != string(snapshot) {
		t.Error("matching a rule saved the rule set")
	}
}
