package core

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// Page computes the window [start, end) of a list of n items for an
// offset cursor, and the cursor of the next page ("" on the last page).
// Cursors are opaque to clients (base64 of the offset). A malformed cursor
// is a 400 problem naming query.cursor.
func Page(n, limit int, cursor string) (start, end int, next string, p *Problem) {
	if limit <= 0 {
		limit = 20
	}
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		off, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || off < 0 {
			return 0, 0, "", NewProblem(http.StatusBadRequest, "invalid_request", "Invalid request",
				"query.cursor: not a cursor returned by this API").WithField("query.cursor", "malformed cursor")
		}
		start = min(off, n)
	}
	end = min(start+limit, n)
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return start, end, next, nil
}

// QueryInt returns an integer query parameter (already validated by the
// spec) or def.
func QueryInt(r *http.Request, name string, def int) int {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return n
}

// NextCursor renders a next cursor for JSON: null on the last page.
func NextCursor(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}
