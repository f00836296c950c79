package webhooks

import "context"

// pendingPage is how many pending deliveries failPending reads at once.
const pendingPage = 500

// failPending ends every pending delivery of the disabled webhook w
// (failDisabled), reading them a page at a time, newest first: pending
// deliveries are never evicted, so an endpoint down for days may hold
// many, and the engine holds one page of them, not all.
func (s *Service) failPending(ctx context.Context, w Webhook) {
	var before uint64
	for {
		page, err := s.store.ListDeliveries(ctx, w.Tenant, w.ID, DeliveryFilter{Status: StatusPending, Before: before, Limit: pendingPage})
		if err != nil || len(page) == 0 {
			return
		}
		for _, d := range page {
			s.failDisabled(ctx, w, d.ID)
		}
		if len(page) < pendingPage {
			return
		}
		before = page[len(page)-1].Seq
	}
}
