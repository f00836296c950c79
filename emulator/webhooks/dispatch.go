package webhooks

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// job is one unit of work for an endpoint: an attempt of a delivery, or
// the release of a held burst.
type job struct {
	tenant     string
	webhookID  string
	deliveryID string
	trigger    Trigger
	// plan is the fault plan once asked; a delayed or held attempt keeps
	// it so the faults are asked once per attempt.
	plan     *AttemptPlan
	deferred bool // the plan's Delay was applied
	released bool // out of a reorder hold
	admitted bool // holds an admission slot until a worker takes it
	flush    bool // release the endpoint's held burst
	// burst is the burst a flush releases on a durable store (its end,
	// Delivery.HeldIn); 0: every burst the engine holds attempts of.
	burst int64
	// claim is set when the engine does not hold the delivery's lease
	// yet (a retry's timer): the attempt is made only once claimed.
	claim bool
	// held is the delivery as the engine leased it (created, claimed or
	// redelivered): while that lease holds by this engine's clock no
	// other engine can have touched the delivery, so the attempt needs
	// no read of it (one store round trip less).
	held *Delivery
	// done, when set, is closed once a worker has processed the job or
	// the job was dropped (see dispatcher.run).
	done chan struct{}
}

// endpointQueue is the FIFO of one webhook's ready jobs.
type endpointQueue struct {
	id string
	// tenant is the webhook's tenant, for the tenant's idle check.
	tenant   string
	jobs     fifo[job]
	inflight int
	// recording counts the jobs whose attempt was made and released
	// (dispatcher.release) while their workers record the outcome.
	recording int
	inRing    bool
	held      []job
	holdOrder ReorderOrder
	holdTimer *timerEntry
	// holdWait is the MaxWait of the bursts held on a durable store
	// (Service.holdShared), and burstWaits the wait of each burst this
	// engine holds attempts of, by the burst's end.
	holdWait   time.Duration
	burstWaits map[int64]*timerEntry
}

// timerEntry is a wait on the clock the engine may cancel (Close, Reset).
type timerEntry struct {
	due time.Time
	// clock is the clock the wait is on (its tenant's).
	clock core.Clock
	t     core.Timer
	// delivery marks the wait before a delivery's next attempt (a retry
	// or a delayed attempt), which a shutdown drops.
	delivery bool
}

// dispatcher is the bounded work queue. New events need an admission slot
// (Config.QueueSize of them): when every slot is taken, Publish blocks —
// back-pressure instead of unbounded memory or goroutines. Retries,
// redeliveries and held jobs were admitted before and re-enter without a
// slot, so a timer never blocks. Workers take endpoints round-robin from a
// ring and an endpoint has at most perEndpoint attempts in flight, so a slow
// endpoint holds a few workers, never all of them.
type dispatcher struct {
	perEndpoint int
	// settle bounds how long a timer waits for the job it queued (run).
	settle time.Duration
	slots  chan struct{}
	// room is how many free slots a publisher that found none waits for
	// (waitRoom), so that its next deliveries are stored in one write.
	room int
	// stopping is closed when a shutdown begins: no new events, idle
	// waiters answered.
	stopping chan struct{}

	mu      sync.Mutex
	work    *sync.Cond // signalled when the ring gains an endpoint
	changed *sync.Cond // broadcast on every change WaitIdle cares about
	queues  map[string]*endpointQueue
	ring    fifo[*endpointQueue]
	busy    int // queued + in-flight jobs
	// busyBy counts busy by tenant (jobs; not test sends), and firing the
	// timer callbacks running, by the clock they are on: what a tenant's
	// idle check looks at.
	busyBy map[string]int
	firing map[core.Clock]int
	timers map[*timerEntry]struct{}
	closed bool
	wg     sync.WaitGroup
	// roomWaiters counts the publishers in waitRoom (changed under mu):
	// freeing a slot wakes them only when some wait, and while some wait
	// tryAdmit takes no slot, so newcomers queue behind them.
	roomWaiters atomic.Int32
}

func newDispatcher(queueSize, perEndpoint int, settle time.Duration) *dispatcher {
	d := &dispatcher{
		perEndpoint: perEndpoint,
		settle:      settle,
		slots:       make(chan struct{}, queueSize),
		room:        max(1, min(maxOutbox, queueSize/4)),
		stopping:    make(chan struct{}),
		queues:      map[string]*endpointQueue{},
		timers:      map[*timerEntry]struct{}{},
		busyBy:      map[string]int{},
		firing:      map[core.Clock]int{},
	}
	d.work = sync.NewCond(&d.mu)
	d.changed = sync.NewCond(&d.mu)
	return d
}

func (d *dispatcher) queueLocked(id string) *endpointQueue {
	q := d.queues[id]
	if q == nil {
		q = &endpointQueue{id: id}
		d.queues[id] = q
	}
	return q
}

// enqueue appends j to its endpoint's queue. It never blocks.
func (d *dispatcher) enqueue(j job) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.enqueueLocked(j)
}

func (d *dispatcher) enqueueLocked(j job) {
	if d.closed {
		if j.admitted {
			d.freeSlotLocked()
		}
		j.signalDone()
		return
	}
	q := d.queueLocked(j.webhookID)
	q.tenant = j.tenant
	q.jobs.push(j)
	d.busy++
	d.busyBy[j.tenant]++
	d.readyLocked(q)
	d.changed.Broadcast()
}

// run queues j from a timer and waits until a worker has processed it (or
// it was dropped by Reset or Close), at most d.settle. The timer's callback
// thus returns once the attempt it started is recorded, with any retry
// that attempt scheduled: a clock walk (core.VirtualClock.Advance) that
// waits for each callback runs the retries falling due inside its window
// in order, each at its own time. The bound keeps a walk moving when the
// job waits behind a long queue.
func (d *dispatcher) run(j job) {
	j.done = make(chan struct{})
	d.enqueue(j)
	t := time.NewTimer(d.settle)
	defer t.Stop()
	select {
	case <-j.done:
	case <-t.C:
	}
}

// signalDone tells a waiting run that j is over: processed, or dropped.
func (j job) signalDone() {
	if j.done != nil {
		close(j.done)
	}
}

// readyLocked puts q on the ring when it has work and room for more.
func (d *dispatcher) readyLocked(q *endpointQueue) {
	if !q.inRing && q.jobs.len() > 0 && q.inflight < d.perEndpoint {
		q.inRing = true
		d.ring.push(q)
		d.work.Signal()
	}
}

// next blocks until a job is ready; ok is false once the engine is closed.
func (d *dispatcher) next() (q *endpointQueue, j job, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.ring.len() == 0 && !d.closed {
		d.work.Wait()
	}
	if d.closed {
		return nil, job{}, false
	}
	q = d.ring.pop()
	q.inRing = false
	j = q.jobs.pop()
	q.inflight++
	d.readyLocked(q)
	if j.admitted {
		d.freeSlotLocked()
	}
	return q, j, true
}

// release ends the turn at its endpoint of a job taken by next once its
// attempt was made: the endpoint may start another attempt while the
// worker records this one's outcome. A durable store writes the records
// of many attempts in one transaction, so the records of a busy endpoint
// then share transactions instead of each holding one of the endpoint's
// PerEndpointConcurrency turns until its transaction ends. The job stays
// busy (idle waits for its record) until finish.
func (d *dispatcher) release(q *endpointQueue) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q.inflight--
	q.recording++
	d.readyLocked(q)
}

// finish ends a job taken by next; released says release ended its turn
// already.
func (d *dispatcher) finish(q *endpointQueue, released bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if released {
		q.recording--
	} else {
		q.inflight--
	}
	d.busy--
	d.unbusyLocked(q.tenant)
	d.readyLocked(q)
	d.dropIdleLocked(q)
	d.changed.Broadcast()
}

func (d *dispatcher) dropIdleLocked(q *endpointQueue) {
	if q.jobs.len() == 0 && q.inflight == 0 && q.recording == 0 && len(q.held) == 0 && d.queues[q.id] == q {
		delete(d.queues, q.id)
	}
}

// load counts the jobs queued and in flight.
func (d *dispatcher) load() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.busy
}

// waitRoom waits, holding no slot, until d.room slots are free, then takes
// them (at least one) and returns how many it took: a publisher that found
// the queue full stores its next deliveries in one write with them,
// instead of one write each as single slots free up. While publishers
// wait, tryAdmit takes no slot, so newcomers cannot take every slot that
// frees one by one and keep the room from forming. Holding no slot while
// waiting, publishers cannot take every slot between them and wait on
// each other; a publisher holding taken slots is staging, not waiting,
// and gives back what it did not use (outbox.credit).
func (d *dispatcher) waitRoom(ctx context.Context) (int, error) {
	d.mu.Lock()
	d.roomWaiters.Add(1)
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.roomWaiters.Add(-1)
		// Freeing meanwhile did not wake the others for this
		// waiter's share, so what it leaves is theirs.
		d.wakeRoomLocked()
		d.mu.Unlock()
	}()
	taken := 0
	err := d.waitFor(ctx, func() bool {
		if !d.roomLocked() {
			return false
		}
		for ; taken < d.room; taken++ {
			select {
			case d.slots <- struct{}{}:
			default:
				return taken > 0
			}
		}
		return true
	}, true)
	return taken, err // slots are taken only when the wait ends well
}

// roomLocked reports whether d.room slots are free.
func (d *dispatcher) roomLocked() bool { return cap(d.slots)-len(d.slots) >= d.room }

// wakeRoomLocked wakes the publishers waiting for room once there is.
func (d *dispatcher) wakeRoomLocked() {
	if d.roomWaiters.Load() > 0 && d.roomLocked() {
		d.changed.Broadcast()
	}
}

// freeSlotLocked gives an admission slot back and wakes the publishers
// waiting for room once there is.
func (d *dispatcher) freeSlotLocked() {
	<-d.slots
	d.wakeRoomLocked()
}

// freeSlots gives n admission slots back, for a caller not holding d.mu.
func (d *dispatcher) freeSlots(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for range n {
		d.freeSlotLocked()
	}
}

// tryAdmit takes an admission slot if one is free and no publisher waits
// for room (waitRoom), without waiting.
func (d *dispatcher) tryAdmit() bool {
	select {
	case <-d.stopping:
		return false
	default:
	}
	if d.roomWaiters.Load() > 0 {
		return false
	}
	select {
	case d.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// begin and end account for work done outside the workers (test sends).
func (d *dispatcher) begin() {
	d.mu.Lock()
	d.busy++
	d.mu.Unlock()
}

func (d *dispatcher) end() {
	d.mu.Lock()
	d.busy--
	d.changed.Broadcast()
	d.mu.Unlock()
}

// after runs f once clock has advanced by wait, unless the engine is closed
// or reset first.
func (d *dispatcher) after(clock core.Clock, wait time.Duration, f func()) *timerEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.afterLocked(clock, wait, f)
}

// attemptAfter runs j (see run) once clock has advanced by wait: the next
// attempt of a delivery.
func (d *dispatcher) attemptAfter(clock core.Clock, wait time.Duration, j job) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.afterLocked(clock, wait, func() { d.run(j) }); e != nil {
		e.delivery = true
	}
}

func (d *dispatcher) afterLocked(clock core.Clock, wait time.Duration, f func()) *timerEntry {
	if d.closed {
		return nil
	}
	e := &timerEntry{due: clock.Now().Add(wait), clock: clock}
	d.timers[e] = struct{}{}
	// The clock may run f at once (wait <= 0) in another goroutine, which
	// then waits for this lock, so e.t is set before f checks e.
	e.t = clock.AfterFunc(wait, func() {
		d.mu.Lock()
		if _, live := d.timers[e]; !live {
			d.mu.Unlock()
			return
		}
		delete(d.timers, e)
		// Count the callback as work until f has queued what it starts, so
		// WaitIdle cannot see an idle gap between the timer and its job.
		d.busy++
		d.firing[clock]++
		d.mu.Unlock()
		f()
		d.mu.Lock()
		d.busy--
		if d.firing[clock]--; d.firing[clock] == 0 {
			delete(d.firing, clock)
		}
		d.changed.Broadcast()
		d.mu.Unlock()
	})
	return e
}

// cancelLocked stops a timer started by after.
func (d *dispatcher) cancelLocked(e *timerEntry) {
	if e == nil {
		return
	}
	if _, live := d.timers[e]; live {
		delete(d.timers, e)
		e.t.Stop()
	}
}

// idleLocked reports whether no work can progress without a clock
// moving: nothing queued or in flight and no timer already due on its
// clock (each tenant's waits are on its own clock).
func (d *dispatcher) idleLocked() bool {
	if d.busy > 0 {
		return false
	}
	for e := range d.timers {
		if !e.due.After(e.clock.Now()) {
			return false
		}
	}
	return true
}

// unbusyLocked ends one job of tenant.
func (d *dispatcher) unbusyLocked(tenant string) {
	if d.busyBy[tenant]--; d.busyBy[tenant] <= 0 {
		delete(d.busyBy, tenant)
	}
}

// tenantIdleLocked is idleLocked for one tenant's work: none of its jobs
// queued or in flight, no timer callback running on its clock and none of
// its clock's timers due. Another tenant's slow endpoint does not hold it.
func (d *dispatcher) tenantIdleLocked(tenant string, clock core.Clock) bool {
	if d.busyBy[tenant] > 0 || d.firing[clock] > 0 {
		return false
	}
	for e := range d.timers {
		if e.clock == clock && !e.due.After(clock.Now()) {
			return false
		}
	}
	return true
}

// waitTenantIdle blocks until tenantIdleLocked or ctx ends; once a
// shutdown has begun it returns ErrClosed.
func (d *dispatcher) waitTenantIdle(ctx context.Context, tenant string, clock core.Clock) error {
	return d.waitFor(ctx, func() bool { return d.tenantIdleLocked(tenant, clock) }, true)
}

// waitIdle blocks until idleLocked or ctx ends; once a shutdown has begun
// it returns ErrClosed.
func (d *dispatcher) waitIdle(ctx context.Context) error {
	return d.waitFor(ctx, d.idleLocked, true)
}

// idle is idleLocked under d.mu.
func (d *dispatcher) idle() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.idleLocked()
}

// tenantIdle is tenantIdleLocked under d.mu.
func (d *dispatcher) tenantIdle(tenant string, clock core.Clock) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tenantIdleLocked(tenant, clock)
}

// waitFor blocks until cond (called with d.mu held) holds, ctx ends, or
// the engine closes; with stop, it gives up with ErrClosed as soon as a
// shutdown begins.
func (d *dispatcher) waitFor(ctx context.Context, cond func() bool, stop bool) error {
	wake := context.AfterFunc(ctx, func() {
		d.mu.Lock()
		d.changed.Broadcast()
		d.mu.Unlock()
	})
	defer wake()
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		switch {
		case d.closed || stop && d.stoppingLocked():
			return ErrClosed
		case cond():
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		d.changed.Wait()
	}
}

func (d *dispatcher) stoppingLocked() bool {
	select {
	case <-d.stopping:
		return true
	default:
		return false
	}
}

// stop begins a shutdown: new events are refused and idle waiters
// answered, while the work already accepted goes on. Held bursts are
// released at once rather than after their wait on the clock.
func (d *dispatcher) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stoppingLocked() {
		return
	}
	close(d.stopping)
	for _, q := range d.queues {
		if len(q.held) > 0 {
			d.cancelLocked(q.holdTimer)
			q.holdTimer = nil
			d.enqueueLocked(job{tenant: q.held[0].tenant, webhookID: q.id, flush: true})
		}
	}
	d.changed.Broadcast()
}

// drain waits until no job is queued or in flight, or ctx ends. Retries
// scheduled for later are not waited for.
func (d *dispatcher) drain(ctx context.Context) error {
	return d.waitFor(ctx, func() bool { return d.busy == 0 }, false)
}

// unsettled counts the deliveries whose next attempt would be lost if the
// engine closed now: queued, held or in flight, and waiting on the clock
// for a retry or a delay.
func (d *dispatcher) unsettled() (pending, scheduled int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, q := range d.queues {
		for _, j := range q.jobs.all() {
			if !j.flush {
				pending++
			}
		}
		pending += len(q.held) + q.inflight + q.recording
	}
	for e := range d.timers {
		if e.delivery {
			scheduled++
		}
	}
	return pending, scheduled
}

// clear drops every queued job and timer (Reset, Close). In-flight
// attempts finish; their results find no delivery to record into.
func (d *dispatcher) clearLocked() {
	for e := range d.timers {
		e.t.Stop()
	}
	clear(d.timers)
	for _, q := range d.queues {
		for _, j := range q.jobs.all() {
			if j.admitted {
				d.freeSlotLocked()
			}
			j.signalDone()
			d.busy--
			d.unbusyLocked(j.tenant)
		}
		q.jobs.reset()
		q.held, q.holdTimer, q.burstWaits = nil, nil, nil
		// Off the ring, which is emptied: a queue kept for its jobs in
		// flight or being recorded must go on it again with its next
		// job (readyLocked), or that job would never be taken.
		q.inRing = false
	}
	d.ring.reset()
	for id, q := range d.queues {
		if q.inflight == 0 && q.recording == 0 {
			delete(d.queues, id)
		}
	}
	d.changed.Broadcast()
}

// close drops the queued work and stops the workers after their current
// attempt; wait for them with d.wg.
func (d *dispatcher) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if !d.stoppingLocked() {
		close(d.stopping)
	}
	d.clearLocked()
	d.closed = true
	d.work.Broadcast()
	d.changed.Broadcast()
}
