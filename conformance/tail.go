package conformance

import (
	"strings"
	"sync"
)

// tailBuffer keeps the last bytes a process wrote, so a consumer that fails
// to start, or fails a scenario, can be reported with its own last words
// rather than a bare "exited before listening".
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
	// total counts every byte ever written: a mark taken from it finds
	// what was written since.
	total int64
}

// Write keeps at most max bytes, the newest.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total += int64(len(p))
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// mark is the position of the next byte written.
func (t *tailBuffer) mark() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}

// since returns the last n lines of what was written after mark, as far as
// the buffer still holds it ("" when nothing was).
func (t *tailBuffer) since(mark int64, n int) string {
	t.mu.Lock()
	written := t.total - mark
	s := string(t.buf[len(t.buf)-int(min(written, int64(len(t.buf)))):])
	t.mu.Unlock()
	return lastLines(s, n)
}

// lines returns the last n complete or partial lines, "" when none.
func (t *tailBuffer) lines(n int) string {
	t.mu.Lock()
	s := string(t.buf)
	t.mu.Unlock()
	return lastLines(s, n)
}

func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	ls := strings.Split(s, "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}
