package emulator

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/sqlstore"
)

// TestFreshReadsNeverAnswerWithAnEarlierRead: every caller writes, then
// reads; the read it gets must have begun after its write, however many
// callers share reads.
func TestFreshReadsNeverAnswerWithAnEarlierRead(t *testing.T) {
	var writes, reads atomic.Int64
	f := &freshReads[int64]{timeout: time.Minute, read: func(context.Context) (int64, error) {
		reads.Add(1)
		n := writes.Load() // what this read sees: every write before it began
		time.Sleep(200 * time.Microsecond)
		return n, nil
	}}
	const callers, rounds = 32, 50
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range rounds {
				w := writes.Add(1)
				got, err := f.get(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if got < w {
					t.Errorf("a caller that wrote %d was answered by a read that saw %d", w, got)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d calls, %d reads", callers*rounds, reads.Load())
	if reads.Load() >= callers*rounds {
		t.Errorf("%d reads for %d calls: none was shared", reads.Load(), callers*rounds)
	}
}

// TestFreshReadsShareTheNextRead: callers arriving while a read runs all
// wait for one next read, which starts when the running one ends.
func TestFreshReadsShareTheNextRead(t *testing.T) {
	gate := make(chan struct{})
	var reads atomic.Int64
	f := &freshReads[int64]{timeout: time.Minute, read: func(context.Context) (int64, error) {
		if reads.Add(1) == 1 {
			<-gate
		}
		return reads.Load(), nil
	}}
	first := make(chan int64)
	go func() {
		v, _ := f.get(context.Background())
		first <- v
	}()
	for reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	const waiting = 20
	got := make(chan int64, waiting)
	for range waiting {
		go func() {
			v, _ := f.get(context.Background())
			got <- v
		}()
	}
	for {
		f.mu.Lock()
		n := 0
		if f.next != nil {
			n = f.next.waiters
		}
		f.mu.Unlock()
		if n == waiting {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	if v := <-first; v != 1 {
		t.Errorf("the first caller got read %d, want its own (1)", v)
	}
	for range waiting {
		if v := <-got; v != 2 {
			t.Errorf("a waiting caller got read %d, want the shared next one (2)", v)
		}
	}
	if n := reads.Load(); n != 2 {
		t.Errorf("%d reads for %d callers, want 2", n, waiting+1)
	}
	// Idle again: the next caller reads at once, for itself.
	if v, _ := f.get(context.Background()); v != 3 {
		t.Errorf("an idle caller got read %d, want 3", v)
	}
}

// TestFreshReadsLetAWaiterGiveUp: a caller whose context ends stops
// waiting; the read goes on for the others.
func TestFreshReadsLetAWaiterGiveUp(t *testing.T) {
	gate, started := make(chan struct{}), make(chan struct{}, 1)
	f := &freshReads[int]{timeout: time.Minute, read: func(context.Context) (int, error) {
		started <- struct{}{}
		<-gate
		return 7, nil
	}}
	go func() { _, _ = f.get(context.Background()) }()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.get(ctx); err == nil {
		t.Error("a caller whose context ended got no error")
	}
	close(gate)
}

// TestReplicaServesNothingForAClientThatLeftDuringTheVersionsRead: a
// request whose client left while the versions were read runs nothing,
// since what the replica holds may predate another replica's change.
func TestReplicaServesNothingForAClientThatLeftDuringTheVersionsRead(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cs := &replicaSync{log: slog.New(slog.DiscardHandler)}
	cs.versions.timeout = time.Minute
	cs.versions.read = func(context.Context) (sqlstore.Versions, error) {
		cancel() // the client leaves while the read runs
		return sqlstore.Versions{}, nil
	}
	ran := false
	h := cs.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/platform/apps", nil))
	if ran {
		t.Error("the handler ran for a client that left during the versions read")
	}
	ran = false
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/platform/apps", nil))
	if !ran {
		t.Error("the handler did not run for a client that stayed")
	}
}
