package oauth

import (
	"context"
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
	if _, err := first.rotate(0); err != nil {
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
	kid, err := a.rotate(0)
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
