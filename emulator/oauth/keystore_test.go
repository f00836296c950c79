package oauth

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// memKeyStore is a KeyStore in memory, as a database keeps it.
type memKeyStore struct {
	mu    sync.Mutex
	data  []byte
	saves int
}

func (m *memKeyStore) LoadKeys(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.data), nil
}

func (m *memKeyStore) SaveKeys(_ context.Context, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data, m.saves = slices.Clone(b), m.saves+1
	return nil
}

// kids lists the keyring's access-token kids, current first, and the
// ID-token one.
func kids(k *Keyring) (access []string, id string) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	access = append(access, k.current.kid)
	for _, r := range k.retired {
		access = append(access, r.kid)
	}
	if k.idCurrent != nil {
		id = k.idCurrent.kid
	}
	return access, id
}

// TestKeyringRestoresItsKeys: a keyring on a KeyStore starts from the keys
// an earlier one saved (current, retired, ID-token key, generations), a
// changed algorithm retires the restored key, and a reset saves new keys.
func TestKeyringRestoresItsKeys(t *testing.T) {
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	store := &memKeyStore{}
	first, err := NewKeyring(KeyringConfig{Clock: clock, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.idKey(); err != nil {
		t.Fatal(err)
	}
	first.current.noteExp(clock.Now().Add(time.Hour)) // a token it signed keeps it published once retired
	if _, err := first.RotateKeys(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	wantAccess, wantID := kids(first)
	if len(wantAccess) != 2 || wantID == "" || store.saves < 3 {
		t.Fatalf("first keyring: kids %v, id %q, %d saves", wantAccess, wantID, store.saves)
	}

	second, err := NewKeyring(KeyringConfig{Clock: clock, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	gotAccess, gotID := kids(second)
	if !slices.Equal(gotAccess, wantAccess) || gotID != wantID {
		t.Errorf("restored kids %v, id %q; want %v, %q", gotAccess, gotID, wantAccess, wantID)
	}
	if _, cur := second.generations(); cur != 2 {
		t.Errorf("restored current generation %d, want 2", cur)
	}

	third, err := NewKeyring(KeyringConfig{Clock: clock, Store: store, SigningAlg: "EdDSA"})
	if err != nil {
		t.Fatal(err)
	}
	access, _ := kids(third)
	if third.current.alg != "EdDSA" || !slices.Contains(access, wantAccess[0]) {
		t.Errorf("another algorithm: current %s, kids %v; want a new EdDSA key beside %s", third.current.alg, access, wantAccess[0])
	}

	if err := third.reset(); err != nil {
		t.Fatal(err)
	}
	fourth, err := NewKeyring(KeyringConfig{Clock: clock, Store: store, SigningAlg: "EdDSA"})
	if err != nil {
		t.Fatal(err)
	}
	if access, _ := kids(fourth); len(access) != 1 || slices.Contains(wantAccess, access[0]) {
		t.Errorf("after a reset the next start has kids %v, want one new key", access)
	}
}

// TestKeyringReloadsAnotherKeyringsKeys: two keyrings on one KeyStore, as
// two replicas; after one rotates, the other's Reload takes the new key as
// current and keeps the old one retired, keeps the later expiry it noted
// for a key it signed with, and a Reload with nothing new changes nothing.
func TestKeyringReloadsAnotherKeyringsKeys(t *testing.T) {
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	store := &memKeyStore{}
	a, err := NewKeyring(KeyringConfig{Clock: clock, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKeyring(KeyringConfig{Clock: clock, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	late := clock.Now().Add(40 * 24 * time.Hour) // beyond the restored horizon
	b.current.noteExp(late)
	a.current.noteExp(clock.Now().Add(time.Hour)) // a token it signed keeps it published once retired
	kid, err := a.RotateKeys(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if access, _ := kids(b); access[0] == kid {
		t.Fatal("b holds the new key before any reload")
	}
	if err := b.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, _ := kids(a)
	got, _ := kids(b)
	if !slices.Equal(got, want) || got[0] != kid {
		t.Errorf("b's kids after a reload %v, want %v (current %s)", got, want, kid)
	}
	if _, ok := b.verificationSet().LookupKeyID(kid); !ok {
		t.Errorf("b does not verify with the new key %s", kid)
	}
	if exp := b.retired[0].lastExp.Load(); exp != late.Unix() {
		t.Errorf("b's retired key expires its tokens at %d, want its own %d", exp, late.Unix())
	}
	cur := b.current
	saves := store.saves
	if err := b.Reload(context.Background()); err != nil || b.current != cur || store.saves != saves {
		t.Errorf("a reload with nothing new: err %v, key replaced %v, %d saves (want %d)", err, b.current != cur, store.saves, saves)
	}
}

// TestSharedKeyringsRotateOncePerPeriod: three keyrings on one shared
// store and one clock, rotating every minute: all three timers fire at
// each due time, at once, and one rotation is stored per period; every
// keyring then signs with that key.
func TestSharedKeyringsRotateOncePerPeriod(t *testing.T) {
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	t.Cleanup(clock.Close)
	store := NewMemoryKeyStore()
	var rings []*Keyring
	for range 3 {
		k, err := NewKeyring(KeyringConfig{Clock: clock, SigningAlg: "ES256", Rotation: time.Minute, Store: store, Shared: true})
		if err != nil {
			t.Fatal(err)
		}
		rings = append(rings, k)
	}
	ctx := context.Background()
	for period := 1; period <= 3; period++ {
		clock.Advance(time.Minute)
		if gen := storedGen(t, store); gen != uint64(1+period) {
			t.Fatalf("after %d periods the store holds generation %d, want %d", period, gen, 1+period)
		}
		for i, k := range rings {
			if err := k.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			if k.currentKID() != rings[0].currentKID() {
				t.Errorf("period %d: keyring %d signs with %s, keyring 0 with %s", period, i, k.currentKID(), rings[0].currentKID())
			}
		}
	}
}

func storedGen(t *testing.T, store KeyStore) uint64 {
	t.Helper()
	data, err := store.LoadKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var snap keySnapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	return snap.LastGen
}

// TestSharedKeyringKeepsAnotherProcessesRetiredKey: a key another
// keyring on the shared store signed a token with stays with the keyring
// that retired it, across a later rotation's pruning, until the token
// expired; then it goes.
func TestSharedKeyringKeepsAnotherProcessesRetiredKey(t *testing.T) {
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	t.Cleanup(clock.Close)
	store := NewMemoryKeyStore()
	newRing := func() *Keyring {
		k, err := NewKeyring(KeyringConfig{Clock: clock, SigningAlg: "ES256", Store: store, Shared: true})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	a, b := newRing(), newRing()
	old := b.currentKID()
	if _, err := b.sign([]byte(`{}`), clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.RotateKeys(ctx, 0); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Minute)
	if _, err := a.RotateKeys(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*Keyring{"A": a, "B": b} {
		if _, ok := k.verificationSet().LookupKeyID(old); !ok {
			t.Errorf("%s dropped the retired key while B's token lives", name)
		}
	}
	clock.Advance(2 * time.Hour)
	if _, err := a.RotateKeys(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*Keyring{"A": a, "B": b} {
		if _, ok := k.verificationSet().LookupKeyID(old); ok {
			t.Errorf("%s keeps the retired key after its last token expired", name)
		}
	}
	if exp, _ := store.KeyExpiry(ctx, old); exp != 0 {
		t.Errorf("the pruned key's expiry record stays: %d", exp)
	}
}
