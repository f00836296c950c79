package journal

import (
	"bufio"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// ServeRequests answers GET /_sandbox/requests: a page of the journal.
// The control plane authorizes the caller first.
func (j *Journal) ServeRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := parseFilter(q)
	limit := 0
	if err == nil && q.Get("limit") != "" {
		limit, err = strconv.Atoi(q.Get("limit"))
		if err != nil || limit < 1 {
			err = &fieldError{"query.limit", "want an integer from 1 to " + strconv.Itoa(MaxLimit)}
		}
	}
	var page Page
	if err == nil {
		page, err = j.Requests(r.Context(), f, limit, q.Get("cursor"))
	}
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		badQuery(w, r, err)
		return
	case err != nil:
		j.fail(w, r, "reading the request journal", err)
		return
	}
	core.WriteJSON(w, http.StatusOK, page)
}

// ServeClear answers DELETE /_sandbox/requests: forget the requests of
// one tenant, or of all.
func (j *Journal) ServeClear(w http.ResponseWriter, r *http.Request) {
	if err := j.Clear(r.Context(), r.URL.Query().Get("tenant")); err != nil {
		j.fail(w, r, "clearing the request journal", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ServeStream answers GET /_sandbox/stream with Server-Sent Events (HTML
// Living Standard §9.2): one frame per request, event, delivery attempt
// or fault firing, as they happen, until the client goes or the sandbox
// shuts down. A comment line every Keepalive keeps proxies from closing
// an idle stream.
func (j *Journal) ServeStream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := parseFilter(q)
	var types []string
	if err == nil {
		types, err = parseTypes(q.Get("types"))
	}
	if err != nil {
		badQuery(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	// The server's write timeout is for ordinary answers; a stream lasts.
	_ = rc.SetWriteDeadline(time.Time{})
	sub := j.subscribe(StreamFilter{Types: types, Filter: f})
	defer j.unsubscribe(sub)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	send := func() bool {
		if bw.Flush() != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The opening comment sends the headers: a client that has them is
	// subscribed.
	_, _ = bw.WriteString(": stream open\n\n")
	if !send() {
		return
	}
	tick := time.NewTicker(j.cfg.Keepalive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-j.done:
			return
		case <-tick.C:
			_, _ = bw.WriteString(": keepalive\n\n")
		case <-sub.notify:
			if r.Context().Err() != nil {
				// Ended meanwhile (its tenant deleted, its token replaced):
				// select picks among ready cases at random, and a frame
				// published after the end must not go out.
				return
			}
			frames, dropped := sub.take()
			if dropped > 0 {
				_, _ = bw.WriteString("event: " + TypeLagged + "\ndata: {\"dropped\":" + strconv.Itoa(dropped) + "}\n\n")
			}
			for _, fr := range frames {
				_, _ = bw.WriteString("id: " + strconv.FormatUint(fr.seq, 10) + "\nevent: " + fr.kind + "\ndata: ")
				_, _ = bw.Write(fr.data)
				_, _ = bw.WriteString("\n\n")
			}
		}
		if !send() {
			return
		}
	}
}

// badQuery answers a query parameter the journal refuses.
func badQuery(w http.ResponseWriter, r *http.Request, err error) {
	p := core.NewProblem(http.StatusBadRequest, "invalid_request", "Bad Request", err.Error())
	var fe *fieldError
	if errors.As(err, &fe) {
		p = p.WithField(fe.field, fe.reason)
	}
	core.WriteProblem(w, r, p)
}

// fail answers a store that failed (a shared journal's database).
func (j *Journal) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	core.Logger(r.Context(), j.cfg.Logger).Error(what+" failed", "err", err)
	core.WriteProblem(w, r, core.NewProblem(http.StatusInternalServerError, "internal_error", "Internal Server Error",
		what+" failed; quote the request_id when reporting it"))
}
