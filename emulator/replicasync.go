package emulator

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

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
// request first reads the shared versions (sqlstore.DB.Versions, one
// statement of primary-key reads; requests arriving while such a read
// runs share the next one, see freshReads), one per kind: the clocks and tenants
// (moved by every change of a clock or a tenant), the keys and the fault
// rules (moved by every save of either; a fault rule's counters are rows
// of their own and move nothing). It reloads only the kinds that moved:
// the clocks, emptying the registry's cache; the keys; the fault rules. A
// version read per request rather than LISTEN/NOTIFY: a notification
// arrives some time after the change, while a client that moves the
// clock or deletes a tenant on one replica and calls another at once (a
// conformance run does) must find it done.
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
	// state, keyVersion and faultVersion are the shared versions this
	// process has applied.
	state, keyVersion, faultVersion atomic.Int64
	// reloads counts the reloads of each kind (clocks and tenants, keys,
	// fault rules), for tests.
	reloads [3]atomic.Int64
	// reload serialises reloads.
	reload sync.Mutex
	// versions shares a read of the versions among the requests that
	// arrive while one runs (see freshReads).
	versions freshReads[sqlstore.Versions]
	// refreshed is when the versions were last read (Unix ns, real
	// time): the poll skips a tick that follows a request's read.
	refreshed atomic.Int64
}

// startReplicaSync restores the stored clocks and saves every later
// change.
func startReplicaSync(ctx context.Context, db *sqlstore.DB, clocks *core.Clocks, invalidate func(), log *slog.Logger) (*replicaSync, error) {
	cs := &replicaSync{db: db, store: db.Clocks(), clocks: clocks, invalidate: invalidate, log: log}
	cs.versions.read, cs.versions.timeout = db.Versions, versionsTimeout
	if err := cs.loadState(ctx); err != nil {
		return nil, err
	}
	clocks.SetOnChange(cs.save)
	db.OnSharedSave(cs.saved)
	return cs, nil
}

// follow has later reloads reload the keys and the fault rules too. The
// versions read here are the ones their stores were loaded at or after.
func (cs *replicaSync) follow(ctx context.Context, keys *oauth.Keyring, rules *faults.Engine) error {
	cs.reload.Lock()
	defer cs.reload.Unlock()
	cs.keys, cs.faults = keys, rules
	v, err := cs.versions.get(ctx)
	if err != nil {
		return err
	}
	// Either was loaded at its start, before this read: a change since
	// shows as a newer version at the next refresh only if the version
	// applied is not past it, so reload both once now.
	if err := keys.Reload(ctx); err != nil {
		return err
	}
	if err := rules.Reload(ctx); err != nil {
		return err
	}
	cs.keyVersion.Store(v.Keys)
	cs.faultVersion.Store(v.Faults)
	return nil
}

// loadState applies every stored clock position and empties the
// registry's cache.
func (cs *replicaSync) loadState(ctx context.Context) error {
	all, version, err := cs.store.LoadClocks(ctx)
	if err != nil {
		return err
	}
	cs.reloads[0].Add(1)
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
	cs.state.Store(version)
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
	cs.state.CompareAndSwap(v-1, v)
}

// saved notes kind's shared version after this process saved its keys
// or fault rules: as with a clock, the version moves on only when no
// other change came between.
func (cs *replicaSync) saved(kind sqlstore.Kind, v int64) {
	switch kind {
	case sqlstore.KindKeys:
		cs.keyVersion.CompareAndSwap(v-1, v)
	case sqlstore.KindFaults:
		cs.faultVersion.CompareAndSwap(v-1, v)
	}
}

// forget deletes a deleted tenant's stored clock.
func (cs *replicaSync) forget(ctx context.Context, tenant string) error {
	return cs.store.DeleteClock(ctx, tenant)
}

// refresh reloads what another process changed since this one last
// applied its version: the clocks (emptying the registry's cache), the
// keys, the fault rules, each only when its version moved.
func (cs *replicaSync) refresh(ctx context.Context) {
	cs.refreshed.Store(time.Now().UnixNano())
	v, err := cs.versions.get(ctx)
	if err != nil {
		if ctx.Err() == nil {
			cs.log.Error("reading the shared versions failed", "error", err)
		}
		return
	}
	if v.State == cs.state.Load() && v.Keys == cs.keyVersion.Load() && v.Faults == cs.faultVersion.Load() {
		return
	}
	cs.reload.Lock()
	defer cs.reload.Unlock()
	if v.State != cs.state.Load() {
		if err := cs.loadState(ctx); err != nil {
			cs.log.Error("reloading the clocks and tenants failed", "error", err)
		}
	}
	if cs.keys != nil && v.Keys != cs.keyVersion.Load() {
		cs.reloads[1].Add(1)
		if err := cs.keys.Reload(ctx); err != nil {
			cs.log.Error("reloading the signing keys failed", "error", err)
		} else {
			cs.keyVersion.Store(v.Keys)
		}
	}
	if cs.faults != nil && v.Faults != cs.faultVersion.Load() {
		cs.reloads[2].Add(1)
		if err := cs.faults.Reload(ctx); err != nil {
			cs.log.Error("reloading the fault rules failed", "error", err)
		} else {
			cs.faultVersion.Store(v.Faults)
		}
	}
}

// versionsTimeout bounds a read of the shared versions made for several
// requests at once.
const versionsTimeout = 10 * time.Second

// replicaPoll is how often a replica reads the shared versions between
// requests.
const replicaPoll = time.Second

// poll refreshes every interval in which no request did, so that what
// waits on a clock another replica moved (a rotation's, a retry's or a
// delayed delivery's timer) fires within about an interval of the move
// even on a replica no request reaches. It returns the function that
// stops it.
func (cs *replicaSync) poll(interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if time.Since(time.Unix(0, cs.refreshed.Load())) >= interval {
					cs.refresh(ctx)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// wrap checks the shared versions before every request h serves.
func (cs *replicaSync) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.refresh(r.Context())
		if r.Context().Err() != nil {
			// The client left while the versions were read: what this
			// replica holds may predate a change another replica made
			// before the request, so nothing runs on it.
			return
		}
		h.ServeHTTP(w, r)
	})
}
