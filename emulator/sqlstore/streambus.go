package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/knogin/argus-sandbox/emulator/journal"
)

// Defaults of StreamBusOptions.
const (
	DefaultStreamFlush    = 20 * time.Millisecond
	DefaultStreamAnnounce = 2 * time.Second
	DefaultStreamPending  = 4096
	DefaultStreamStart    = 500 * time.Millisecond
)

// streamChunk bounds the frames' text in one notification: PostgreSQL
// refuses a payload of 8,000 bytes or more, and the header takes the
// rest.
const streamChunk = 7800

// streamNotifies bounds the notifications of one statement.
const streamNotifies = 32

// StreamBusOptions configure a StreamBus.
type StreamBusOptions struct {
	// Deliver streams a frame another replica published (required).
	Deliver func(journal.RemoteFrame)
	// FlushEvery is how long a frame waits for others to share its
	// notification (DefaultStreamFlush when zero).
	FlushEvery time.Duration
	// Announce is how often a replica with subscribers says so
	// (DefaultStreamAnnounce when zero); the others send it their frames
	// for three periods after each.
	Announce time.Duration
	// MaxPending bounds the frames waiting to be sent
	// (DefaultStreamPending when zero); past it new ones are dropped and
	// counted, and a stream never holds up a request.
	MaxPending int
	// StartAfter is how long after StreamBus the relay connects
	// (DefaultStreamStart when zero): its connection and its first
	// statements stay out of the sandbox's cold start.
	StartAfter time.Duration
	// Logger reports a lost listening connection and failed sends.
	Logger *slog.Logger
}

// StreamBus relays the live stream between the replicas on one PostgreSQL
// database (journal.Relay), through LISTEN/NOTIFY on a channel of the
// database and schema: a replica with subscribers announces it every
// Announce (one that starts listening asks the others to at once); while
// another replica has announced, each replica sends the frames it
// publishes, batched every FlushEvery and split into notifications under
// PostgreSQL's payload limit, a batch's in one statement (one
// transaction: they arrive together and in order); each replica streams
// the frames of the others to its own subscribers. Frames published while
// no other replica listens are never sent. A replica speaks only while
// its listening connection holds its LISTEN, and that connection must hear
// the replica's own announcements (or, without subscribers, its pings)
// come back: one silent for three periods, or lost, is made again. What
// was sent meanwhile is lost to that replica's streams, as frames a slow
// subscriber cannot take are.
type StreamBus struct {
	db      *DB
	o       StreamBusOptions
	log     *slog.Logger
	origin  string
	channel string

	// remoteUntil is when the last announcement of another replica
	// lapses (Unix ns); listening is whether this replica has
	// subscribers.
	remoteUntil atomic.Int64
	listening   atomic.Bool
	// connected is whether the listening connection holds its LISTEN;
	// heard is when it last received this replica's own announcement
	// (Unix ns): one that hears none for three periods is made again.
	connected atomic.Bool
	heard     atomic.Int64
	// pid is the listening connection's backend (tests).
	pid atomic.Uint32

	mu      sync.Mutex
	queue   []journal.RemoteFrame
	dropped int64
	drops   dropLog
	msg     uint64

	wake     chan struct{}
	announce chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	// sent counts the notifications of frames sent, received those of
	// other replicas taken (tests).
	sent, received atomic.Int64
}

var _ journal.Relay = (*StreamBus)(nil)

// StreamBus starts the database's stream relay; Close stops it. Only
// PostgreSQL has one: a SQLite sandbox is one process.
func (d *DB) StreamBus(o StreamBusOptions) (*StreamBus, error) {
	if !d.d.postgres {
		return nil, fmt.Errorf("%s: a shared live stream needs PostgreSQL", d.name)
	}
	if o.Deliver == nil {
		return nil, fmt.Errorf("%s: stream relay: Deliver is required", d.name)
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = DefaultStreamFlush
	}
	if o.Announce <= 0 {
		o.Announce = DefaultStreamAnnounce
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultStreamPending
	}
	if o.StartAfter <= 0 {
		o.StartAfter = DefaultStreamStart
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	b := &StreamBus{db: d, o: o, log: o.Logger, origin: hex.EncodeToString(id[:]),
		wake: make(chan struct{}, 1), announce: make(chan struct{}, 1)}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(1)
	go b.run()
	return b, nil
}

// run waits StartAfter, names the channel, then sends and listens.
// The channel is the database's (NOTIFY's scope) and names the schema, so
// sandboxes in other schemas of one database stay apart.
func (b *StreamBus) run() {
	defer b.wg.Done()
	select {
	case <-b.ctx.Done():
		return
	case <-time.After(b.o.StartAfter):
	}
	wait := 100 * time.Millisecond
	for {
		var schema string
		err := b.db.db.QueryRowContext(b.ctx, "SELECT current_schema()").Scan(&schema)
		if err == nil {
			sum := sha256.Sum256([]byte(schema))
			b.channel = "argus_stream_" + hex.EncodeToString(sum[:8])
			break
		}
		if b.ctx.Err() != nil {
			return
		}
		b.log.Warn("the live stream's relay could not read its schema; trying again", "err", err, "in", wait)
		if wait = b.pause(wait); wait == 0 {
			return
		}
	}
	b.wg.Add(1)
	go b.send()
	b.listen()
}

// Close stops the relay.
func (b *StreamBus) Close() {
	b.cancel()
	b.wg.Wait()
}

// Wanted reports whether another replica announced subscribers within
// the last three Announce periods.
func (b *StreamBus) Wanted() bool {
	return time.Now().UnixNano() < b.remoteUntil.Load()
}

// Listening records whether this replica has subscribers; it announces
// them at once.
func (b *StreamBus) Listening(on bool) {
	if b.listening.Swap(on) != on && on {
		signal(b.announce)
	}
}

// Send queues f for the other replicas. It never waits.
func (b *StreamBus) Send(f journal.RemoteFrame) {
	b.mu.Lock()
	if len(b.queue) >= b.o.MaxPending {
		b.dropped++
		n, warn := b.drops.add()
		b.mu.Unlock()
		if warn {
			b.log.Warn("live stream frames for the other replicas dropped: the database is not keeping up", "dropped", n, "pending", b.o.MaxPending)
		}
		return
	}
	b.queue = append(b.queue, f)
	first := len(b.queue) == 1
	b.mu.Unlock()
	if first {
		signal(b.wake)
	}
}

// Dropped is how many frames were dropped because too many were queued.
func (b *StreamBus) Dropped() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Sent counts the notifications of frames this relay sent (not its
// announcements), Received the notifications of other replicas it took.
func (b *StreamBus) Sent() int64     { return b.sent.Load() }
func (b *StreamBus) Received() int64 { return b.received.Load() }

// send writes the queue FlushEvery after its first frame came, and the
// announcements.
func (b *StreamBus) send() {
	defer b.wg.Done()
	tick := time.NewTicker(b.o.Announce)
	defer tick.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-tick.C:
			b.sayAlive()
			continue
		case <-b.announce:
			b.sayAlive()
			continue
		case <-b.wake:
		}
		t := time.NewTimer(b.o.FlushEvery)
		select {
		case <-b.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		b.mu.Lock()
		frames := b.queue
		b.queue = nil
		b.mu.Unlock()
		if len(frames) == 0 {
			continue
		}
		text, err := json.Marshal(frames)
		if err != nil {
			b.log.Warn("encoding stream frames for the other replicas failed", "err", err)
			continue
		}
		b.sent.Add(int64(b.notify(b.split(text))))
	}
}

// sayAlive tells the others, while this replica listens, whether it has
// subscribers ("i") or not ("p"); the listening connection hears its own
// too, which proves it alive. A replica whose connection does not hold
// its LISTEN says nothing: the others would send it frames it cannot
// hear.
func (b *StreamBus) sayAlive() {
	if !b.connected.Load() {
		return
	}
	kind := "p"
	if b.listening.Load() {
		kind = "i"
	}
	b.notify([]string{b.header(kind)})
}

// header starts a notification: the format, this replica and the kind of
// what follows.
func (b *StreamBus) header(kind string) string { return "v1|" + b.origin + "|" + kind }

// split cuts a batch's text into notifications of at most streamChunk
// bytes of it, at character boundaries (a payload is text), each headed
// "v1|origin|d|message|part|parts|".
func (b *StreamBus) split(text []byte) []string {
	var chunks [][]byte
	for len(text) > 0 {
		n := min(len(text), streamChunk)
		for n < len(text) && n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		if n == 0 { // not UTF-8: cut where the bound falls
			n = min(len(text), streamChunk)
		}
		chunks = append(chunks, text[:n])
		text = text[n:]
	}
	b.msg++
	msg := strconv.FormatUint(b.msg, 10)
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = b.header("d") + "|" + msg + "|" + strconv.Itoa(i) + "|" + strconv.Itoa(len(chunks)) + "|" + string(c)
	}
	return out
}

// notify sends payloads in order, streamNotifies a statement, and returns
// how many it sent.
func (b *StreamBus) notify(payloads []string) (sent int) {
	for len(payloads) > 0 {
		part := payloads[:min(len(payloads), streamNotifies)]
		payloads = payloads[len(part):]
		var q strings.Builder
		q.WriteString("SELECT ")
		args := []any{b.channel}
		for i, p := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			args = append(args, p)
			q.WriteString("pg_notify($1, $" + strconv.Itoa(len(args)) + ")")
		}
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		_, err := b.db.db.ExecContext(ctx, q.String(), args...)
		cancel()
		if err != nil {
			if b.ctx.Err() == nil {
				b.log.Warn("sending stream frames to the other replicas failed", "err", err)
			}
			return sent
		}
		sent += len(part)
	}
	return sent
}

// listen holds a connection that listens on the channel, made again after
// a loss, and takes what arrives.
func (b *StreamBus) listen() {
	wait := 100 * time.Millisecond
	asm := assembler{}
	for b.ctx.Err() == nil {
		listened, err := b.listenOnce(&asm)
		if b.ctx.Err() != nil {
			return
		}
		if listened {
			wait = 100 * time.Millisecond
		}
		b.log.Warn("the live stream's connection to the other replicas was lost; listening again", "err", err, "in", wait)
		if wait = b.pause(wait); wait == 0 {
			return
		}
	}
}

// pause waits wait before the relay tries again and returns the next
// wait, twice as long up to 5 s; 0 when the relay was closed meanwhile.
func (b *StreamBus) pause(wait time.Duration) time.Duration {
	select {
	case <-b.ctx.Done():
		return 0
	case <-time.After(wait):
	}
	return min(2*wait, 5*time.Second)
}

// errUnheard ends a listening connection that did not hear this replica's
// own announcements for three periods.
var errUnheard = errors.New("no notification of this replica's own came back for three announcement periods")

// listenOnce listens on one connection until it fails or falls silent;
// listened says it held its LISTEN.
func (b *StreamBus) listenOnce(asm *assembler) (listened bool, err error) {
	conn, err := pgx.Connect(b.ctx, b.db.url)
	if err != nil {
		return false, err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(b.ctx, "LISTEN "+b.channel); err != nil {
		return false, err
	}
	asm.reset()
	b.pid.Store(conn.PgConn().PID())
	b.heard.Store(time.Now().UnixNano())
	b.connected.Store(true)
	defer b.connected.Store(false)
	// Announce now, and ask the others to: a replica that starts, or
	// listens again, learns at once who has subscribers.
	signal(b.announce)
	b.notify([]string{b.header("q")})
	for {
		wctx, cancel := context.WithTimeout(b.ctx, b.o.Announce)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			if b.ctx.Err() != nil || wctx.Err() == nil || conn.IsClosed() {
				return true, err
			}
			if time.Since(time.Unix(0, b.heard.Load())) > 3*b.o.Announce {
				return true, errUnheard
			}
			continue
		}
		b.take(asm, n.Payload)
	}
}

// take handles one notification: another replica's announcement, or a
// part of its frames.
func (b *StreamBus) take(asm *assembler, payload string) {
	f := strings.SplitN(payload, "|", 7)
	if len(f) < 3 || f[0] != "v1" {
		return
	}
	if f[1] == b.origin {
		b.heard.Store(time.Now().UnixNano())
		return
	}
	b.received.Add(1)
	switch f[2] {
	case "i":
		b.remoteUntil.Store(time.Now().Add(3 * b.o.Announce).UnixNano())
	case "q":
		if b.listening.Load() {
			signal(b.announce)
		}
	case "d":
		if len(f) != 7 || !b.listening.Load() {
			return
		}
		text, ok := asm.add(f[1], f[3], f[4], f[5], f[6])
		if !ok {
			return
		}
		var frames []journal.RemoteFrame
		if err := json.Unmarshal(text, &frames); err != nil {
			b.log.Warn("a stream batch from another replica was not read", "err", err)
			return
		}
		for _, fr := range frames {
			b.o.Deliver(fr)
		}
	}
}

// assembler joins the parts of each replica's batches. The parts of one
// batch arrive together and in order (one transaction), so a replica has
// at most one batch in assembly; a part out of turn drops it.
type assembler struct {
	open map[string]*partial // by origin
}

type partial struct {
	msg   string
	next  int
	parts int
	text  []byte
}

func (a *assembler) reset() { a.open = map[string]*partial{} }

// add takes part i of parts of origin's batch msg and returns the
// batch's text once it has every part.
func (a *assembler) add(origin, msg, i, parts, chunk string) ([]byte, bool) {
	pi, err1 := strconv.Atoi(i)
	pn, err2 := strconv.Atoi(parts)
	if err1 != nil || err2 != nil || pn < 1 || pi < 0 || pi >= pn {
		return nil, false
	}
	p := a.open[origin]
	if pi == 0 {
		p = &partial{msg: msg, parts: pn}
		a.open[origin] = p
	}
	if p == nil || p.msg != msg || p.parts != pn || p.next != pi {
		delete(a.open, origin)
		return nil, false
	}
	p.text = append(p.text, chunk...)
	p.next++
	if p.next < pn {
		return nil, false
	}
	delete(a.open, origin)
	return p.text, true
}
