package journal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of a page of the journal.
const (
	DefaultLimit = 100
	MaxLimit     = 500
)

// Filter selects requests of the journal; zero fields select everything.
type Filter struct {
	Tenant    string
	Operation string
	ClientID  string
	// StatusMin and StatusMax bound the status (both 0: any): an exact
	// code, or a class such as 4xx (400..499).
	StatusMin, StatusMax int
	Since                time.Time
	RequestID            string
}

// Match reports whether e passes the filter.
func (f *Filter) Match(e *Entry) bool {
	switch {
	case f.Tenant != "" && e.Tenant != f.Tenant,
		f.Operation != "" && e.Operation != f.Operation,
		f.ClientID != "" && e.Auth.ClientID != f.ClientID,
		f.StatusMin != 0 && (e.Status < f.StatusMin || e.Status > f.StatusMax),
		!f.Since.IsZero() && e.Time.Before(f.Since),
		f.RequestID != "" && e.RequestID != f.RequestID:
		return false
	}
	return true
}

// ParseStatus reads a status filter: an exact code (404) or a class (4xx).
func ParseStatus(s string) (lo, hi int, err error) {
	if len(s) == 3 && s[0] >= '1' && s[0] <= '5' && strings.EqualFold(s[1:], "xx") {
		lo = int(s[0]-'0') * 100
		return lo, lo + 99, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, 0, errors.New("want an HTTP status (404) or a class (4xx)")
	}
	return n, n, nil
}

// fieldError is a query parameter the journal refuses.
type fieldError struct{ field, reason string }

func (e *fieldError) Error() string { return e.field + ": " + e.reason }

// parseFilter reads the journal's filter parameters from a query.
func parseFilter(q url.Values) (Filter, error) {
	f := Filter{Tenant: q.Get("tenant"), Operation: q.Get("operation"), ClientID: q.Get("client_id"), RequestID: q.Get("request_id")}
	if s := q.Get("status"); s != "" {
		lo, hi, err := ParseStatus(s)
		if err != nil {
			return f, &fieldError{"query.status", err.Error()}
		}
		f.StatusMin, f.StatusMax = lo, hi
	}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return f, &fieldError{"query.since", "want an RFC 3339 time"}
		}
		f.Since = t
	}
	return f, nil
}

// Page is one page of the journal, newest first.
type Page struct {
	Requests []Entry `json:"requests"`
	// NextCursor continues after the last entry; empty at the end.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Requests returns up to limit entries (DefaultLimit when 0) matching f,
// newest first, older than cursor (a NextCursor; "" for the newest).
func (j *Journal) Requests(ctx context.Context, f Filter, limit int, cursor string) (Page, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		return Page{}, &fieldError{"query.limit", fmt.Sprintf("at most %d", MaxLimit)}
	}
	before := ^uint64(0)
	if cursor != "" {
		n, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil || n == 0 {
			return Page{}, &fieldError{"query.cursor", "not a cursor of this journal"}
		}
		before = n
	}
	// One more than the page tells whether a next page exists.
	out, err := j.store.Entries(ctx, f, before, limit+1)
	if err != nil {
		return Page{}, err
	}
	p := Page{Requests: out}
	if len(out) > limit {
		p.Requests = out[:limit]
		p.NextCursor = strconv.FormatUint(out[limit-1].Seq, 10)
	}
	if p.Requests == nil {
		p.Requests = []Entry{}
	}
	return p, nil
}

// sortNewestFirst orders entries by descending Seq.
func sortNewestFirst(out []Entry) {
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Compare(b.Seq, a.Seq) })
}
