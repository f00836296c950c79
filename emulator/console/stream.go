package console

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// maxRelays bounds the live-stream relays open at once across sessions;
// each session has at most one (a new one replaces it).
const maxRelays = 16

// relays are the open live-stream relays, one per session.
type relays struct {
	mu   sync.Mutex
	open map[string]*relay
}

type relay struct{ cancel context.CancelFunc }

// acquire opens the session's relay, ending the one it had (a reloaded
// page); it refuses when maxRelays other sessions hold one. release
// forgets it.
func (rs *relays) acquire(parent context.Context, sid string) (ctx context.Context, release func(), ok bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if old, had := rs.open[sid]; had {
		old.cancel()
		delete(rs.open, sid)
	} else if len(rs.open) >= maxRelays {
		return nil, nil, false
	}
	ctx, cancel := context.WithCancel(parent)
	rl := &relay{cancel: cancel}
	rs.open[sid] = rl
	return ctx, func() {
		rs.mu.Lock()
		if rs.open[sid] == rl {
			delete(rs.open, sid)
		}
		rs.mu.Unlock()
		cancel()
	}, true
}

// end ends the session's relay (at sign-out).
func (rs *relays) end(sid string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rl, ok := rs.open[sid]; ok {
		rl.cancel()
		delete(rs.open, sid)
	}
}

// streamData is the live stream page: the tenant it follows.
type streamData struct {
	Scope      string
	AllTenants bool
}

// stream answers GET /_sandbox/console/stream: the page, or, for an
// EventSource (Accept: text/event-stream), the relay.
func (c *Console) stream(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Accept") == "text/event-stream" {
		c.streamRelay(w, r)
		return
	}
	c.page(c.streamPage).ServeHTTP(w, r)
}

func (c *Console) streamPage(w http.ResponseWriter, r *http.Request, s *session) {
	tenant, err := c.scope(r, s)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "There is no tenant "+r.URL.Query().Get("tenant")+" here.")
		return
	}
	c.render(w, r, http.StatusOK, "stream", view{Title: "Live stream", Nav: "stream", Data: streamData{Scope: tenant, AllTenants: s.who.Operator}})
}

// streamRelay opens the sandbox's stream (GET /_sandbox/stream) for the
// session's tenant and sends each frame on as it comes, until the browser
// goes, the session signs out or opens another relay, or the sandbox
// ends the stream. The session cookie authenticates it: no token is in
// the address.
func (c *Console) streamRelay(w http.ResponseWriter, r *http.Request) {
	s, ok := c.session(r)
	if !ok {
		http.Error(w, "sign in to the console first", http.StatusUnauthorized)
		return
	}
	tenant, err := c.scope(r, s)
	if err != nil {
		http.Error(w, "no such tenant", http.StatusNotFound)
		return
	}
	ctx, release, ok := c.relays.acquire(r.Context(), s.id)
	if !ok {
		http.Error(w, "too many live streams are open; close one and reload", http.StatusServiceUnavailable)
		return
	}
	defer release()
	st, err := c.api(r, s.bearer, "").Sandbox().Stream(ctx, client.StreamFilter{Tenant: tenant})
	if err != nil {
		http.Error(w, "the sandbox refused the stream: "+err.Error(), apiStatus(err))
		return
	}
	defer st.Close()
	// Close the sandbox's stream when the relay ends, so Next returns.
	stop := context.AfterFunc(ctx, func() { _ = st.Close() })
	defer stop()

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	_, _ = bw.WriteString(": relay open\n\n")
	for {
		if bw.Flush() != nil || rc.Flush() != nil {
			return
		}
		ev, err := st.Next()
		if err != nil {
			return
		}
		if ev.ID != "" {
			_, _ = bw.WriteString("id: " + ev.ID + "\n")
		}
		_, _ = bw.WriteString("event: " + ev.Type + "\n")
		for line := range bytes.SplitSeq(ev.Data, []byte("\n")) {
			_, _ = bw.WriteString("data: ")
			_, _ = bw.Write(line)
			_ = bw.WriteByte('\n')
		}
		_ = bw.WriteByte('\n')
	}
}
