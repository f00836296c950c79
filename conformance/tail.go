package conformance

import (
	"strings"
	"sync"
)

// tailBuffer keeps the last bytes a process wrote, so a consumer that fails
// to start can be reported with its own last words rather than a bare
// "exited before listening".
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

// Write keeps at most max bytes, the newest.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lines returns the last n complete or partial lines, "" when none.
func (t *tailBuffer) lines(n int) string {
	t.mu.Lock()
	s := strings.TrimRight(string(t.buf), "\n")
	t.mu.Unlock()
	if s == "" {
		return ""
	}
	ls := strings.Split(s, "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}
