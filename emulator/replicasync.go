package emulator

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
)

// replicaSync keeps in step with the durable store what a sandbox holds
// in memory between requests: the virtual clocks, the tenants the
// registry caches, the signing keys and the fault rules. Every change of
// the sandbox clock or a tenant's is saved as it is made and a start
// restores them (the keyring and the fault engine save and restore their
// own). On PostgreSQL, where other replicas change the same store, each
// request first reads the shared version (sqlstore.DB.SharedVersion, one
// primary-key read, moved by every change of a clock or a tenant and
// every save of the keys or the fault rules) and, when it moved, reloads
// the clocks, empties the registry's cache and reloads the keys and the
// fault rules (each only when its stored snapshot changed). The fault
// rules' counters are then the stored ones: what this replica counted
// since its last save is replaced, so counters across replicas are
// last-writer-wins. A version read per request
// rather than LISTEN/NOTIFY: a notification arrives some time after the
// change, while a client that moves the clock or deletes a tenant on one
// replica and calls another at once (a conformance run does) must find
// it done.
type replicaSync struct {
	db     *sqlstore.DB
	store  *sqlstore.ClockStore
	clocks *core.Clocks
	// invalidate empties the registry's cache of tenants.
	invalidate func()
	// keys and faults reload the keyring and the fault rules; set by
	// follow once they are built (before any request).
	keys   *oauth.Keyring
	faults *faults.Engine
	log    *slog.Logger
	// version is the shared version this process has applied.
	version atomic.Int64
	// reload serialises reloads.
	reload sync.Mutex
}

// startReplicaSync restores the stored clocks and saves every later
// change.
func startReplicaSync(ctx context.Context, db *sqlstore.DB, clocks *core.Clocks, invalidate func(), log *slog.Logger) (*replicaSync, error) {
	cs := &replicaSync{db: db, store: db.Clocks(), clocks: clocks, invalidate: invalidate, log: log}
	if err := cs.load(ctx); err != nil {
		return nil, err
	}
	clocks.SetOnChange(cs.save)
	db.OnSharedSave(cs.saved)
	return cs, nil
}

// follow has every later reload reload the keys and the fault rules too.
func (cs *replicaSync) follow(keys *oauth.Keyring, rules *faults.Engine) {
	cs.reload.Lock()
	defer cs.reload.Unlock()
	cs.keys, cs.faults = keys, rules
}

// load applies every stored clock position and empties the registry's
// cache.
func (cs *replicaSync) load(ctx context.Context) error {
	cs.reload.Lock()
	defer cs.reload.Unlock()
	all, version, err := cs.store.LoadClocks(ctx)
	if err != nil {
		return err
	}
	cs.invalidate()
	base, ok := all[""]
	if ok {
		cs.clocks.Restore("", base)
		// A tenant's clock that was never changed on its own stands where
		// the sandbox clock does (it was made there, and every change of
		// the sandbox clock moves it by the same step), but has no record
		// when the replica that moved the sandbox clock had not made it.
		cs.clocks.Each(func(tenant string, vc *core.VirtualClock) {
			if _, stored := all[tenant]; tenant != "" && !stored {
				vc.Restore(base)
			}
		})
	}
	for tenant, p := range all {
		if tenant != "" {
			cs.clocks.Restore(tenant, p)
		}
	}
	if cs.keys != nil {
		if err := cs.keys.Reload(ctx); err != nil {
			return err
		}
	}
	if cs.faults != nil {
		if err := cs.faults.Reload(ctx); err != nil {
			return err
		}
	}
	cs.version.Store(version)
	return nil
}

// save stores a clock's new position. The version moves on only when no
// other change came between, so another replica's change is still
// reloaded at the next request.
func (cs *replicaSync) save(tenant string, p core.ClockPos) {
	v, err := cs.store.SaveClock(context.Background(), tenant, p)
	if err != nil {
		cs.log.Error("saving the clock failed", "tenant", tenant, "error", err)
		return
	}
	cs.version.CompareAndSwap(v-1, v)
}

// saved notes the shared version after this process saved its keys or
// fault rules: as with a clock, the version moves on only when no other
// change came between.
func (cs *replicaSync) saved(v int64) { cs.version.CompareAndSwap(v-1, v) }

// forget deletes a deleted tenant's stored clock.
func (cs *replicaSync) forget(ctx context.Context, tenant string) error {
	return cs.store.DeleteClock(ctx, tenant)
}

// refresh reloads the clocks, the keys and the fault rules and empties
// the registry's cache when the shared version moved since this process
// last did.
func (cs *replicaSync) refresh(ctx context.Context) {
	v, err := cs.db.SharedVersion(ctx)
	if err != nil {
		cs.log.Error("reading the shared version failed", "error", err)
		return
	}
	if v == cs.version.Load() {
		return
	}
	if err := cs.load(ctx); err != nil {
		cs.log.Error("reloading the clocks, tenants, keys and fault rules failed", "error", err)
	}
}

// wrap checks the shared version before every request h serves.
func (cs *replicaSync) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.refresh(r.Context())
		h.ServeHTTP(w, r)
	})
}
