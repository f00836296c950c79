package webhooks

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

// releaseHeld returns an endpoint's held burst in release order (the
// MaxWait flush).
func (s *Service) releaseHeld(webhookID string) []job {
	d := s.disp
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.queues[webhookID]
	if q == nil {
		return nil
	}
	return s.takeHeldLocked(q)
}

func (s *Service) takeHeldLocked(q *endpointQueue) []job {
	burst := q.held
	q.held = nil
	s.disp.cancelLocked(q.holdTimer)
	q.holdTimer = nil
	switch q.holdOrder {
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
