package oauth

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// tokenDirectory is a ClientDirectory that also answers TokenClient, as
// a durable store does, with answers a test sets; it counts its calls.
type tokenDirectory struct {
	*fakeDirectory
	calls  atomic.Int64
	answer func(jti string, recorded bool, clientID string) (bool, Client, error)
}

func (d *tokenDirectory) TokenClient(_ context.Context, jti string, recorded bool, clientID string) (bool, Client, error) {
	d.calls.Add(1)
	return d.answer(jti, recorded, clientID)
}

// countingStore counts the AccessActive calls of a MemoryStore.
type countingStore struct {
	*MemoryStore
	calls atomic.Int64
}

func (s *countingStore) AccessActive(ctx context.Context, jti string, recorded bool) (bool, error) {
	s.calls.Add(1)
	return s.MemoryStore.AccessActive(ctx, jti, recorded)
}

// TestVerifierAsksTokenClientsOnce: with a directory that holds the token
// records too, the verifier asks it alone, once per request, and follows
// its answer: the client's scopes, a revoked token, an app gone, a
// failure of the store (not a refusal of the token).
func TestVerifierAsksTokenClientsOnce(t *testing.T) {
	var dir *tokenDirectory
	store := &countingStore{MemoryStore: NewMemoryStore()}
	e := newEnv(t, func(c *Config) {
		dir = &tokenDirectory{fakeDirectory: c.Clients.(*fakeDirectory)}
		c.Clients, c.Store = dir, store
	})
	tok := e.clientToken("cases:read webhooks:read")
	reduced := appFull
	reduced.Scopes = []string{"webhooks:read"}
	down := errors.New("database down")
	tests := []struct {
		name    string
		active  bool
		client  Client
		err     error
		scopes  []string
		wantErr error
	}{
		{"active", true, appFull, nil, []string{"cases:read", "webhooks:read"}, nil},
		{"scope lost", true, reduced, nil, []string{"webhooks:read"}, nil},
		{"revoked", false, Client{}, nil, nil, core.ErrInvalidToken},
		{"app gone", true, Client{}, ErrUnknownClient, nil, core.ErrInvalidToken},
		{"store down", false, Client{}, down, nil, down},
	}
	for _, tt := range tests {
		dir.answer = func(jti string, recorded bool, clientID string) (bool, Client, error) {
			if recorded || clientID != appFull.ClientID || jti == "" {
				t.Errorf("%s: TokenClient(%q, %v, %q)", tt.name, jti, recorded, clientID)
			}
			return tt.active, tt.client, tt.err
		}
		before := dir.calls.Load()
		p, err := e.svc.Verifier(ResourceGraphQL).Authenticate(t.Context(), tok)
		if n := dir.calls.Load() - before; n != 1 {
			t.Errorf("%s: %d TokenClient calls, want 1", tt.name, n)
		}
		switch {
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.wantErr)
		case tt.wantErr == nil && (err != nil || !slices.Equal(p.Scopes, tt.scopes)):
			t.Errorf("%s: %+v %v, want scopes %v", tt.name, p, err, tt.scopes)
		}
	}
	if n := store.calls.Load(); n != 0 {
		t.Errorf("the store's AccessActive was called %d times beside TokenClient", n)
	}
}
