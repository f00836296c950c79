package webhooks

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"time"
)

// hold parks j in its endpoint's reorder burst (a fault: out-of-order
// delivery). When the burst reaches r.Count it is returned, in release
// order, for the caller to send one after another; until then it waits,
// at most r.MaxWait on the clock, after which a flush job releases
// whatever was collected. Nothing held is ever dropped.
func (s *Service) hold(j job, r *Reorder) []job {
	d := s.disp
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	q := d.queueLocked(j.webhookID)
	q.held = append(q.held, j)
	if len(q.held) == 1 {
		q.holdOrder = r.Order
		flush := job{tenant: j.tenant, webhookID: j.webhookID, flush: true}
		q.holdTimer = d.afterLocked(s.clockOf(j.tenant), r.MaxWait, func() { d.run(flush) })
	}
	if len(q.held) < r.Count {
		return nil
	}
	return s.takeHeldLocked(q)
}

// releaseHeld returns the held burst a flush job releases, in release
// order (the MaxWait flush, or a shutdown). On a durable store it takes
// the held deliveries of the burst j names (of every burst this engine
// holds attempts of when none), whichever engine held them (takeBurst),
// and counts a burst released before it filled as full, so the next
// burst starts whole.
func (s *Service) releaseHeld(ctx context.Context, j job) []job {
	d := s.disp
	d.mu.Lock()
	q := d.queues[j.webhookID]
	if q == nil {
		d.mu.Unlock()
		return nil
	}
	if !s.store.Durable() {
		defer d.mu.Unlock()
		return s.takeHeldLocked(q)
	}
	ends := []int64{j.burst}
	if j.burst == 0 {
		ends = slices.Collect(maps.Keys(q.burstWaits))
	}
	for _, e := range ends {
		d.cancelLocked(q.burstWaits[e]) // this flush is the wait's end
		delete(q.burstWaits, e)
	}
	d.mu.Unlock()
	if len(ends) == 0 {
		return nil
	}
	burst := s.takeBurst(ctx, j.tenant, j.webhookID, ends, 0, nil)
	if _, err := s.store.CountHold(ctx, j.webhookID, 0, slices.Max(ends)); err != nil {
		s.log.Error("count a short burst as full", "webhook_id", j.webhookID, "err", err)
	}
	d.mu.Lock()
	if q := d.queues[j.webhookID]; q != nil && !d.closed {
		for _, e := range ends {
			if q.burstWaits[e] == nil && holdsBurst(q, e) {
				// A hold whose take failed (the store did not answer) is
				// tried again after another wait.
				s.waitBurstLocked(q, j.tenant, e)
			}
		}
	}
	d.mu.Unlock()
	return burst
}

// holdsBurst reports whether q holds an attempt of the burst that ends at
// end (a durable store's hold; callers hold the dispatcher's lock).
func holdsBurst(q *endpointQueue, end int64) bool {
	return slices.ContainsFunc(q.held, func(h job) bool { return h.held.HeldIn == end })
}

// waitBurstLocked arms the wait of the burst that ends at end: when it
// ends, a flush job releases what the burst holds then.
func (s *Service) waitBurstLocked(q *endpointQueue, tenant string, end int64) {
	d := s.disp
	if q.burstWaits == nil {
		q.burstWaits = map[int64]*timerEntry{}
	}
	flush := job{tenant: tenant, webhookID: q.id, flush: true, burst: end}
	q.burstWaits[end] = d.afterLocked(s.clockOf(tenant), q.holdWait, func() { d.run(flush) })
}

func (s *Service) takeHeldLocked(q *endpointQueue) []job {
	burst := q.held
	q.held = nil
	s.disp.cancelLocked(q.holdTimer)
	q.holdTimer = nil
	return s.releaseOrder(burst, q.holdOrder)
}

// releaseOrder puts burst (in arrival order) in its release order and
// marks its jobs released.
func (s *Service) releaseOrder(burst []job, order ReorderOrder) []job {
	switch order {
	case ReorderShuffle:
		// Fisher-Yates with the injected randomness (reproducible when
		// seeded); a shuffle that keeps the arrival order is redone, so
		// the consumer sees the burst out of order.
		arrival := append([]job(nil), burst...)
		for range 8 {
			for i := len(burst) - 1; i > 0; i-- {
				k := s.randIntn(i + 1)
				burst[i], burst[k] = burst[k], burst[i]
			}
			if !sameOrder(burst, arrival) {
				break
			}
		}
	default:
		for i, k := 0, len(burst)-1; i < k; i, k = i+1, k-1 {
			burst[i], burst[k] = burst[k], burst[i]
		}
	}
	for i := range burst {
		burst[i].released = true
	}
	return burst
}

func sameOrder(a, b []job) bool {
	for i := range a {
		if a[i].deliveryID != b[i].deliveryID {
			return false
		}
	}
	return true
}

// holdShared is hold on a durable store, which other engines may share:
// the burst is counted in the store (Store.CountHold), so the attempts
// every engine holds fill one burst, and each held delivery is marked in
// the store (HeldIn, the count at which its burst is complete; HoldSeq,
// its place; HeldBy, this engine) and set to wait on the clock for at
// most MaxWait, leased here (another engine's idle wait does not count it
// as due work). The hold that completes the burst takes every delivery of
// it, whichever engine held it (takeBurst), and returns them in release
// order; until then j is kept with its fault plan for the attempt, and
// the burst's wait, when it ends, takes whatever the burst holds then.
// Nothing held is dropped: a delivery whose holder died is taken with the
// burst, or attempted once its wait and its holder's lease are over; one
// that cannot be marked is sent at once.
func (s *Service) holdShared(ctx context.Context, j job, d Delivery, r *Reorder) []job {
	n, err := s.store.CountHold(ctx, j.webhookID, 1, 0)
	if err != nil {
		s.log.Error("count a held attempt", "webhook_id", j.webhookID, "err", err)
		j.released = true
		return []job{j} // sent now rather than held where no burst can fill
	}
	count := int64(r.Count)
	end := ((n-1)/count + 1) * count
	if n == end {
		// The hold that completes the burst is not marked: its delivery
		// stays due and leased here until its attempt, so no engine's
		// idle wait sees a gap before the burst goes out.
		last := d
		last.HoldSeq = n
		j.held = &last
		return s.takeBurst(ctx, j.tenant, j.webhookID, []int64{end}, r.Count, &j)
	}
	clock := s.clockOf(j.tenant)
	until := clock.Now().Add(r.MaxWait).UTC()
	d, err = s.store.UpdateDelivery(ctx, j.tenant, j.webhookID, j.deliveryID, func(d *Delivery) error {
		if d.Finished() {
			return errNotClaimable
		}
		if d.LeaseOwner != s.owner {
			return errLeaseLost
		}
		d.NextAttemptAt, d.HeldIn, d.HoldSeq, d.HeldBy = until, end, n, s.owner
		return nil
	})
	switch {
	case errors.Is(err, errNotClaimable) || errors.Is(err, errLeaseLost) || errors.Is(err, ErrNotFound):
		return nil // settled, deleted or claimed elsewhere meanwhile
	case err != nil:
		s.log.Error("mark a held attempt", "webhook_id", j.webhookID, "delivery_id", j.deliveryID, "err", err)
		j.released = true
		return []job{j} // sent now: held unmarked, nothing would release it
	}
	j.held = &d
	disp := s.disp
	disp.mu.Lock()
	defer disp.mu.Unlock()
	if disp.closed {
		return nil
	}
	q := disp.queueLocked(j.webhookID)
	q.held = append(q.held, j)
	q.holdOrder, q.holdWait = r.Order, r.MaxWait
	if q.burstWaits[end] == nil {
		s.waitBurstLocked(q, j.tenant, end)
	}
	return nil
}

// burstGather bounds how long the hold that completes a burst waits for
// the marks of the burst's other holds: a hold counted by another engine
// is marked a store round trip later.
const burstGather = time.Second

// takeBurst takes, for this engine, the held deliveries of the webhook's
// bursts that end at ends (any engine's holds), in one update each that
// finds the delivery still held in that burst and not claimed for an
// attempt by another engine (leased by another than HeldBy): due now and
// leased here. last, when set, is the job whose hold completed the burst
// of count holds, its delivery already due and leased here (HoldSeq set);
// the others' marks are then awaited, up to burstGather. It returns them,
// last included, in the burst's release order, each with the fault plan
// of its attempt when this engine held it (another engine's plan is not
// known here: its attempt is made without the other faults that fired
// with the reorder). This engine's holds that were taken, here or by
// another engine, or have settled, leave its list; one whose update
// failed stays for the next wait.
func (s *Service) takeBurst(ctx context.Context, tenant, webhookID string, ends []int64, count int, last *job) []job {
	disp := s.disp
	disp.mu.Lock()
	order := ReorderReverse
	mine := map[string]job{}
	if q := disp.queues[webhookID]; q != nil {
		order = q.holdOrder
		for _, h := range q.held {
			if slices.Contains(ends, h.held.HeldIn) {
				mine[h.deliveryID] = h
			}
		}
	}
	disp.mu.Unlock()
	var burst []job
	skip := ""
	if last != nil {
		burst, skip = append(burst, *last), last.deliveryID
		delete(mine, skip)
	}
	ids := slices.Sorted(maps.Keys(mine))
	for gather := time.Now().Add(burstGather); ; {
		marked, err := s.markedHolds(ctx, tenant, webhookID, ends, skip)
		if err != nil {
			s.log.Error("read a held burst", "webhook_id", webhookID, "err", err)
			break
		}
		for _, id := range marked {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if last == nil || len(marked)+1 >= count || time.Now().After(gather) || !sleepCtx(ctx, 10*time.Millisecond) {
			break
		}
	}
	clock := s.clockOf(tenant)
	settled := map[string]bool{}
	for _, id := range ids {
		now, due := s.wall(), clock.Now().UTC()
		d, err := s.store.UpdateDelivery(ctx, tenant, webhookID, id, func(d *Delivery) error {
			if d.Finished() || !slices.Contains(ends, d.HeldIn) || d.Leased(now) && d.LeaseOwner != d.HeldBy {
				return errNotClaimable // taken, claimed for an attempt, or settled
			}
			d.LeaseOwner, d.LeaseUntil = s.owner, now.Add(s.cfg.Lease)
			d.NextAttemptAt, d.HeldIn, d.HeldBy = due, 0, ""
			return nil
		})
		if err != nil {
			settled[id] = errors.Is(err, errNotClaimable) || errors.Is(err, ErrNotFound)
			continue
		}
		settled[id] = true
		j, ok := mine[id]
		if !ok {
			j = leasedJob(&d)
			j.plan = &AttemptPlan{}
		}
		j.held = &d
		burst = append(burst, j)
	}
	disp.mu.Lock()
	if q := disp.queues[webhookID]; q != nil {
		q.held = slices.DeleteFunc(q.held, func(h job) bool { return settled[h.deliveryID] })
		for _, e := range ends {
			if !holdsBurst(q, e) {
				disp.cancelLocked(q.burstWaits[e])
				delete(q.burstWaits, e)
			}
		}
		disp.dropIdleLocked(q)
	}
	disp.mu.Unlock()
	slices.SortFunc(burst, func(a, b job) int { return cmp.Compare(a.held.HoldSeq, b.held.HoldSeq) })
	return s.releaseOrder(burst, order)
}

// markedHolds lists the ids of the webhook's pending deliveries marked as
// held in the bursts that end at ends, skip aside.
func (s *Service) markedHolds(ctx context.Context, tenant, webhookID string, ends []int64, skip string) ([]string, error) {
	pending, err := s.store.ListDeliveries(ctx, tenant, webhookID, DeliveryFilter{Status: StatusPending})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range pending {
		if p.ID != skip && p.HeldIn != 0 && slices.Contains(ends, p.HeldIn) {
			ids = append(ids, p.ID)
		}
	}
	return ids, nil
}

// sleepCtx waits d, or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
