package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Lease defaults; Config.Lease and Config.PollInterval document them.
const (
	DefaultLease        = 30 * time.Second
	DefaultPollInterval = time.Second
	// MinLease is the shortest lease accepted: the heartbeat renews a
	// lease every third of it.
	MinLease = 300 * time.Millisecond
)

// maxClaim bounds the deliveries one ClaimDue takes.
const maxClaim = 512

// Reasons a claim or a record gives up, inside the update closures.
var (
	errNotClaimable = errors.New("delivery settled, not due, or leased")
	errLeaseLost    = errors.New("the delivery's lease passed to another engine")
)

// newOwner names this engine's run: host, process and a random part, so a
// restarted process (even with a seeded ID source) never takes itself for
// its predecessor and renews the leases the crash left behind.
func newOwner() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// leaseUntil is when a lease taken now lapses, in real time.
func (s *Service) leaseUntil() time.Time { return s.wall().Add(s.cfg.Lease) }

// claimOne leases j's delivery for this engine through an update closure
// (a retry's timer): it is not claimed when it has settled, when its next
// attempt is not due yet (another engine already made this one and
// scheduled the next), or while another engine's lease holds.
func (s *Service) claimOne(ctx context.Context, j job) (Delivery, bool) {
	due, now := s.clockOf(j.tenant).Now(), s.wall()
	d, err := s.store.UpdateDelivery(ctx, j.tenant, j.webhookID, j.deliveryID, func(d *Delivery) error {
		if d.Finished() || d.NextAttemptAt.After(due) || d.Leased(now) {
			return errNotClaimable
		}
		d.LeaseOwner, d.LeaseUntil = s.owner, now.Add(s.cfg.Lease)
		return nil
	})
	return d, err == nil
}

// leasedJob is the job of the next attempt of d, which this engine has
// just leased (claimed, or taken from a reorder burst): an initial
// attempt when none was made yet, a retry otherwise.
func leasedJob(d *Delivery) job {
	j := job{tenant: d.Tenant, webhookID: d.WebhookID, deliveryID: d.ID, trigger: TriggerRetry, held: d}
	if d.AttemptCount == 0 {
		j.trigger = TriggerInitial
	}
	return j
}

// claimDue queues the due deliveries nobody holds, while the queue has
// room, and returns how many it queued. all claims until none is left
// (resuming a store at start); otherwise one claim at most.
func (s *Service) claimDue(ctx context.Context, all bool) int {
	queued := 0
	for {
		room := s.cfg.QueueSize - s.disp.load()
		if room <= 0 {
			return queued
		}
		limit := min(room, maxClaim)
		latest := s.clock.Now()
		if s.cfg.LatestClock != nil {
			latest = s.cfg.LatestClock()
		}
		got, err := s.store.ClaimDue(ctx, Claim{Owner: s.owner, Due: latest, Now: s.wall(), Lease: s.cfg.Lease, Limit: limit})
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("claim due deliveries", "err", err)
			}
			return queued
		}
		for i := range got {
			d := &got[i]
			j := leasedJob(d)
			// Due on the latest clock, not yet on its tenant's: it waits
			// there, leased to this engine (the heartbeat keeps the lease).
			clock := s.clockOf(d.Tenant)
			if wait := d.NextAttemptAt.Sub(clock.Now()); wait > 0 {
				s.disp.attemptAfter(clock, wait, j)
				continue
			}
			s.disp.enqueue(j)
		}
		queued += len(got)
		if !all || len(got) < limit {
			return queued
		}
	}
}

// poll runs while the engine does, on a durable store: it claims due
// deliveries at once (what a crash or a stop left), then every
// PollInterval (those another engine left when it died, and retries whose
// timer ran in another process), and renews this engine's leases every
// third of Lease.
func (s *Service) poll() {
	defer s.disp.wg.Done()
	s.claimDue(s.ctx, false)
	renewEvery := s.cfg.Lease / 3
	tick := time.NewTicker(min(s.cfg.PollInterval, renewEvery))
	defer tick.Stop()
	renewed, polled := time.Now(), time.Now()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(renewed) >= renewEvery {
			if _, err := s.store.ExtendLeases(s.ctx, s.owner, s.leaseUntil()); err != nil && s.ctx.Err() == nil {
				s.log.Error("renew delivery leases", "err", err)
			} else {
				renewed = time.Now()
			}
		}
		if time.Since(polled) >= s.cfg.PollInterval {
			s.claimDue(s.ctx, false)
			polled = time.Now()
		}
	}
}

// releaseLeases hands this engine's pending deliveries back (Close), so
// another engine, or the next start, attempts them without waiting for the
// leases to lapse.
func (s *Service) releaseLeases() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.store.ExtendLeases(ctx, s.owner, time.Time{}); err != nil {
		s.log.Error("release delivery leases", "err", err)
	}
}

// WalkSource is what a walk of tenant's clock runs besides this engine's
// timers (core.WalkSource): the tenant's due deliveries no engine holds,
// such as a retry whose timer another engine sharing the store keeps. A
// clock moved on one replica then makes every replica's retries in the
// window, each at its due time, as one process would (a delayed attempt
// keeps its engine's lease, and waits for that engine's clock). nil for
// "" (the sandbox clock, which no tenant's deliveries follow) and on a
// store that is not Durable; the sandbox sets it only on replicas.
func (s *Service) WalkSource(tenant string) core.WalkSource {
	if tenant == "" || !s.store.Durable() {
		return nil
	}
	return walkSource{s: s, tenant: tenant}
}

type walkSource struct {
	s      *Service
	tenant string
}

// NextDue asks the store for the earliest due delivery of the tenant.
func (w walkSource) NextDue(until time.Time) (time.Time, bool) {
	ctx, cancel := context.WithTimeout(w.s.ctx, walkQueryTimeout)
	defer cancel()
	at, ok, err := w.s.store.NextDue(ctx, Claim{Due: until, Now: w.s.wall(), Tenant: w.tenant})
	if err != nil {
		if w.s.ctx.Err() == nil {
			w.s.log.Error("read the next due delivery", "tenant", w.tenant, "err", err)
		}
		return time.Time{}, false
	}
	return at, ok
}

// RunDue claims the tenant's deliveries due at now and makes their
// attempts, returning once each is recorded (or the dispatcher's settle
// bound passed), as a timer's callback does.
func (w walkSource) RunDue(now time.Time) bool {
	s := w.s
	ctx, cancel := context.WithTimeout(s.ctx, walkQueryTimeout)
	got, err := s.store.ClaimDue(ctx, Claim{Owner: s.owner, Due: now, Now: s.wall(), Lease: s.cfg.Lease, Limit: maxClaim, Tenant: w.tenant})
	cancel()
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Error("claim due deliveries", "tenant", w.tenant, "err", err)
		}
		return false
	}
	var wg sync.WaitGroup
	for i := range got {
		j := leasedJob(&got[i])
		// Due now, to the microsecond the store keeps: made at once.
		wg.Go(func() { s.disp.run(j) })
	}
	wg.Wait()
	return len(got) > 0
}

// walkQueryTimeout bounds one store call of a clock walk.
const walkQueryTimeout = 10 * time.Second
