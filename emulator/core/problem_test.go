package core

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestWriteJSONMatchesMarshal checks that the pooled encoder writes what
// json.Marshal would, buffer after buffer.
func TestWriteJSONMatchesMarshal(t *testing.T) {
	values := []any{
		map[string]any{"html": "<a href=\"x\">&</a>", "unicode": "é\u2028日本", "n": 1.5, "nil": nil},
		struct {
			A []string `json:"a"`
			B int      `json:"b,omitempty"`
		}{A: []string{strings.Repeat("x", 100000)}},
		[]int{1, 2, 3},
		"short",
	}
	for i, v := range values {
		w := httptest.NewRecorder()
		WriteJSON(w, http.StatusCreated, v)
		want, _ := json.Marshal(v)
		if got := w.Body.String(); got != string(want) {
			t.Errorf("value %d: body %.80q, want %.80q", i, got, want)
		}
		if w.Code != http.StatusCreated || w.Header().Get("Content-Type") != "application/json" ||
			w.Header().Get("Content-Length") != strconv.Itoa(len(want)) {
			t.Errorf("value %d: status %d, headers %v", i, w.Code, w.Header())
		}
	}
	w := httptest.NewRecorder()
	WriteJSON(w, http.StatusOK, func() {})
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "internal_error") {
		t.Errorf("unencodable value: %d %s", w.Code, w.Body)
	}
}
