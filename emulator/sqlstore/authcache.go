package sqlstore

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/knogin/argus-sandbox/emulator/platform"
)

// authCounter is the shared version of what a request's authentication
// reads: it moves, on PostgreSQL, in the same statement or transaction as
// every write that can change an answer authCache holds (an app updated
// or deleted, a grant's status changed, an access token revoked, grants
// or access records pruned, a tenant deleted, a reset). New apps, grants
// and tokens move nothing: nothing cached can name them.
const authCounter = "shared_auth"

// maxAuthEntries bounds authCache: an entry is a key and a pointer to a
// decoded app, whose documents appDocs already bounds.
const maxAuthEntries = 4096

// authGen is the generation of the authentication reads: an answer read
// under one generation may be given again while the generation is the
// same. local moves after every such write this process commits (on
// SQLite, which one process owns, that is every write there is) and
// when a read of the shared versions fails; shared is the highest
// authCounter a read of the shared versions returned (PostgreSQL; each
// request reads them before its first statement, see emulator's
// replicaSync), so a change another replica committed before a request
// began is seen by that request.
type authGen struct{ local, shared int64 }

// authCache remembers the answers of the reads every authenticated
// request makes, an app by its id or client id and an access token's
// state with its app, each with the generation it was read under. A hit
// costs no statement. Only positive answers are kept: a revoked token or
// a missing app is read again each time, and nothing not yet stored can
// be answered from here.
type authCache struct {
	local  atomic.Int64
	shared atomic.Int64
	// followed is set by the first read of the shared versions: on
	// PostgreSQL nothing kept is given before it, as a process that never
	// reads them would not see other replicas' changes.
	followed atomic.Bool

	mu      sync.RWMutex
	entries map[string]authEntry
}

type authEntry struct {
	gen authGen
	app *platform.App
}

// gen is the current generation, taken before a read whose answer is
// kept: a write committed after the read began moves it.
func (c *authCache) gen() authGen {
	return authGen{local: c.local.Load(), shared: c.shared.Load()}
}

// moved notes a write this process committed that may change a kept
// answer, or a failed read of the shared versions: nothing kept before
// is given again.
func (c *authCache) moved() { c.local.Add(1) }

// saw notes a shared version read: only a higher one moves the
// generation (reads shared by several requests may finish out of order).
func (c *authCache) saw(v int64) {
	defer c.followed.Store(true)
	for {
		cur := c.shared.Load()
		if v <= cur || c.shared.CompareAndSwap(cur, v) {
			return
		}
	}
}

// get returns a copy of the app kept under key at the current generation.
func (c *authCache) get(key string) (platform.App, bool) {
	now := c.gen()
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || e.gen != now {
		return platform.App{}, false
	}
	return e.app.Clone(), true
}

// put keeps a copy of app under key, read under gen.
func (c *authCache) put(key string, gen authGen, app *platform.App) {
	kept := app.Clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]authEntry)
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= maxAuthEntries {
		for k := range c.entries { // an arbitrary entry: bounded without bookkeeping
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = authEntry{gen: gen, app: &kept}
}

// lookup is get, on PostgreSQL only once the shared versions are
// followed.
func (d *DB) lookup(key string) (platform.App, bool) {
	if d.d.postgres && !d.auth.followed.Load() {
		return platform.App{}, false
	}
	return d.auth.get(key)
}

// cachedApp is app, answered from authCache when it holds key at the
// current generation.
func (d *DB) cachedApp(ctx context.Context, key, query string, args ...any) (platform.App, error) {
	if a, ok := d.lookup(key); ok {
		return a, nil
	}
	gen := d.auth.gen()
	a, err := d.app(ctx, query, args...)
	if err == nil {
		d.auth.put(key, gen, &a)
	}
	return a, err
}

func appIDKey(tenant, id string) string { return "app\x00" + tenant + "\x00" + id }

func clientIDKey(clientID string) string { return "client\x00" + clientID }

func tokenKey(jti string, recorded bool, clientID string) string {
	return "token\x00" + jti + "\x00" + strconv.FormatBool(recorded) + "\x00" + clientID
}

// authMoved is called inside a write transaction that may change a kept
// answer: on PostgreSQL it moves the shared version in the transaction,
// so other replicas see the change and the move together. The caller
// notes the move locally once the transaction is over (DB.authWrite).
func (c conn) authMoved(ctx context.Context) error {
	if !c.d.postgres {
		return nil
	}
	_, err := c.next(ctx, authCounter)
	return err
}

// authWrite is write for a transaction that may change a kept answer: fn
// runs, then the shared version moves in the same transaction; once it
// is over, committed or not, the local generation moves.
func (d *DB) authWrite(ctx context.Context, scopes []string, fn func(c conn) error) error {
	defer d.auth.moved()
	return d.write(ctx, scopes, func(c conn) error {
		if err := fn(c); err != nil {
			return err
		}
		return c.authMoved(ctx)
	})
}
