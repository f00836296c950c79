package emulator

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
)

// clockSync keeps the virtual clocks in the durable store: every change
// of the sandbox clock or a tenant's is saved as it is made, a start
// restores them, and on PostgreSQL each request first checks the clocks'
// version, one primary-key read, reloading them when another replica
// changed one. A version read per request rather than LISTEN/NOTIFY: a
// notification arrives some time after the change, while a client that
// moves the clock on one replica and calls another at once (a conformance
// run does) must find the clock moved.
type clockSync struct {
	store  *sqlstore.ClockStore
	clocks *core.Clocks
	log    *slog.Logger
	// version is the clocks' version this process has applied.
	version atomic.Int64
	// reload serialises reloads.
	reload sync.Mutex
}

// startClockSync restores the stored clocks and saves every later change.
func startClockSync(ctx context.Context, store *sqlstore.ClockStore, clocks *core.Clocks, log *slog.Logger) (*clockSync, error) {
	cs := &clockSync{store: store, clocks: clocks, log: log}
	if err := cs.load(ctx); err != nil {
		return nil, err
	}
	clocks.SetOnChange(cs.save)
	return cs, nil
}

// load applies every stored clock position.
func (cs *clockSync) load(ctx context.Context) error {
	cs.reload.Lock()
	defer cs.reload.Unlock()
	all, version, err := cs.store.LoadClocks(ctx)
	if err != nil {
		return err
	}
	if p, ok := all[""]; ok {
		cs.clocks.Restore("", p)
	}
	for tenant, p := range all {
		if tenant != "" {
			cs.clocks.Restore(tenant, p)
		}
	}
	cs.version.Store(version)
	return nil
}

// save stores a clock's new position. The version moves on only when no
// other change came between, so another replica's change is still
// reloaded at the next request.
func (cs *clockSync) save(tenant string, p core.ClockPos) {
	v, err := cs.store.SaveClock(context.Background(), tenant, p)
	if err != nil {
		cs.log.Error("saving the clock failed", "tenant", tenant, "error", err)
		return
	}
	cs.version.CompareAndSwap(v-1, v)
}

// forget deletes a deleted tenant's stored clock.
func (cs *clockSync) forget(ctx context.Context, tenant string) error {
	return cs.store.DeleteClock(ctx, tenant)
}

// refresh reloads the clocks when their version moved since this process
// applied them.
func (cs *clockSync) refresh(ctx context.Context) {
	v, err := cs.store.ClockVersion(ctx)
	if err != nil {
		cs.log.Error("reading the clocks' version failed", "error", err)
		return
	}
	if v == cs.version.Load() {
		return
	}
	if err := cs.load(ctx); err != nil {
		cs.log.Error("reloading the clocks failed", "error", err)
	}
}

// wrap checks the clocks before every request h serves.
func (cs *clockSync) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.refresh(r.Context())
		h.ServeHTTP(w, r)
	})
}
