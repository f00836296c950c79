package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// TestConcurrentUpdatesKeepTheirOutcomes runs many UpdateDelivery calls
// at once, which share transactions: a closure that fails, or a delivery
// that is missing, fails its own call only, and every other call's change
// is stored and returned.
func TestConcurrentUpdatesKeepTheirOutcomes(t *testing.T) {
	errRefused := errors.New("refused")
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			st := e.open(t).Webhooks(0, 0)
			if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"}); err != nil {
				t.Fatal(err)
			}
			const n = 96
			for i := range n {
				if _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: fmt.Sprint("dlv_", i), WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending}); err != nil {
					t.Fatal(err)
				}
			}
			errs := make([]error, n+1)
			outs := make([]webhooks.Delivery, n+1)
			var wg sync.WaitGroup
			for i := range n + 1 { // dlv_96 does not exist
				wg.Go(func() {
					outs[i], errs[i] = st.UpdateDelivery(ctx, "acme", "wh_1", fmt.Sprint("dlv_", i), func(d *webhooks.Delivery) error {
						if i%3 == 0 {
							d.Status = webhooks.StatusFailed // not stored
							return errRefused
						}
						d.Status, d.AttemptCount = webhooks.StatusSucceeded, i
						return nil
					})
				})
			}
			wg.Wait()
			if !errors.Is(errs[n], webhooks.ErrNotFound) {
				t.Errorf("update of a missing delivery = %v, want ErrNotFound", errs[n])
			}
			for i := range n {
				got, err := st.GetDelivery(ctx, "acme", "wh_1", fmt.Sprint("dlv_", i))
				if err != nil {
					t.Fatal(err)
				}
				if i%3 == 0 {
					if !errors.Is(errs[i], errRefused) || got.Status != webhooks.StatusPending {
						t.Errorf("dlv_%d: refused update returned %v and left %s, want errRefused and pending", i, errs[i], got.Status)
					}
					continue
				}
				if errs[i] != nil || outs[i].AttemptCount != i || got.Status != webhooks.StatusSucceeded || got.AttemptCount != i {
					t.Errorf("dlv_%d: update returned %v (attempts %d), stored %s with %d attempts; want nil, succeeded, %d",
						i, errs[i], outs[i].AttemptCount, got.Status, got.AttemptCount, i)
				}
			}
		})
	}
}
