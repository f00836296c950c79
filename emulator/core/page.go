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
	off, p := DecodeCursor(cursor)
	if p != nil {
		return 0, 0, "", p
	}
	start = min(off, n)
	end = min(start+limit, n)
	if end < n {
		next = EncodeCursor(end)
	}
	return start, end, next, nil
}

// EncodeCursor renders a position as an opaque cursor (base64 of the
// decimal). Page uses offsets; a list whose front can be dropped pages by
// a position that does not shift, such as the last sequence number served.
func EncodeCursor(pos int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(pos)))
}

// DecodeCursor reads a cursor of EncodeCursor; "" is position 0. A
// malformed cursor is a 400 problem naming query.cursor.
func DecodeCursor(cursor string) (int, *Problem) {
	if cursor == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	pos, err2 := strconv.Atoi(string(raw))
	if err != nil || err2 != nil || pos < 0 {
		return 0, CursorProblem()
	}
	return pos, nil
}

// CursorProblem is the 400 problem of a cursor the API did not return,
// naming query.cursor: the answer of every list to a garbled cursor.
func CursorProblem() *Problem {
	return NewProblem(http.StatusBadRequest, "invalid_request", "Invalid request",
		"query.cursor: not a cursor returned by this API").WithField("query.cursor", "malformed cursor")
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
