package control

import (
	"context"
	"net/http"
	"sync"
)

// tenantStreams are the live streams tenants' control tokens hold open.
// A stream outlives the request that authenticated it, so when the token
// stops being valid (the tenant deleted, its control token replaced) its
// streams end: a tenant created again under the same id is not followed
// by whoever held the old token.
type tenantStreams struct {
	mu   sync.Mutex
	next uint64
	open map[string]map[uint64]context.CancelFunc
}

// hold runs h with a context that end(tenant) cancels.
func (ts *tenantStreams) hold(tenant string, w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ts.mu.Lock()
	if ts.open == nil {
		ts.open = map[string]map[uint64]context.CancelFunc{}
	}
	ts.next++
	id := ts.next
	if ts.open[tenant] == nil {
		ts.open[tenant] = map[uint64]context.CancelFunc{}
	}
	ts.open[tenant][id] = cancel
	ts.mu.Unlock()
	defer func() {
		ts.mu.Lock()
		delete(ts.open[tenant], id)
		if len(ts.open[tenant]) == 0 {
			delete(ts.open, tenant)
		}
		ts.mu.Unlock()
	}()
	h(w, r.WithContext(ctx))
}

// end ends every stream the tenant's control token holds open.
func (ts *tenantStreams) end(tenant string) {
	ts.mu.Lock()
	streams := ts.open[tenant]
	delete(ts.open, tenant)
	ts.mu.Unlock()
	for _, cancel := range streams {
		cancel()
	}
}

// tenantStream holds a control token's stream so that end can close it;
// the operator's streams are not held.
func (s *Service) tenantStream(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		own, ok := controller(r)
		if !ok {
			h(w, r)
			return
		}
		s.streams.hold(own, w, r, h)
	}
}
