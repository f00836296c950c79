package webhooks

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// planFirst applies plan to the first attempt of every delivery and
// counts how often the engine asked.
func planFirst(plan AttemptPlan, asked *atomic.Int64) DeliveryFaults {
	return DeliveryFaultsFunc(func(_ context.Context, a AttemptInfo) AttemptPlan {
		asked.Add(1)
		if a.Attempt == 1 {
			return plan
		}
		return AttemptPlan{}
	})
}

func TestFaultPlans(t *testing.T) {
	tests := []struct {
		name string
		plan AttemptPlan
		// advance moves the clock after the first waitIdle.
		advance time.Duration
		check   func(t *testing.T, s *Service, w Webhook, got []received, d Delivery)
	}{
		{name: "sequential copies", plan: AttemptPlan{Rule: "dup", Copies: 2}, check: func(t *testing.T, _ *Service, _ Webhook, got []received, d Delivery) {
			checkCopies(t, got, d, 3)
		}},
		{name: "concurrent copies", plan: AttemptPlan{Rule: "dup", Copies: 3, ConcurrentCopies: true}, check: func(t *testing.T, _ *Service, _ Webhook, got []received, d Delivery) {
			checkCopies(t, got, d, 4)
		}},
		{name: "delay runs on the clock", plan: AttemptPlan{Rule: "slow", Delay: 10 * time.Minute}, advance: 10 * time.Minute,
			check: func(t *testing.T, _ *Service, _ Webhook, got []received, d Delivery) {
				if len(got) != 1 || d.Status != StatusSucceeded || *d.Attempts[0].FaultRule != "slow" {
					t.Errorf("got %d requests, delivery %s; want 1 after the delay", len(got), d.Status)
				}
				if lag := d.Attempts[0].StartedAt.Sub(d.CreatedAt); lag < 10*time.Minute {
					t.Errorf("attempt %s after creation, want >= 10m", lag)
				}
			}},
		{name: "response lost is retried", plan: AttemptPlan{Rule: "lost", ResponseLost: true}, advance: DefaultSchedule[0],
			check: func(t *testing.T, _ *Service, _ Webhook, got []received, d Delivery) {
				if len(got) != 2 || d.Status != StatusSucceeded || d.AttemptCount != 2 {
					t.Fatalf("got %d requests, %s after %d attempts; want 2, succeeded after 2", len(got), d.Status, d.AttemptCount)
				}
				if e := d.Attempts[0].Error; e == nil || e.Class != ClassResponseLost || d.Attempts[0].ResponseStatus != nil {
					t.Errorf("first attempt = %+v, want response_lost without a status", d.Attempts[0])
				}
			}},
		{name: "bad signature", plan: AttemptPlan{Rule: "forged", BadSignature: true}, check: func(t *testing.T, _ *Service, w Webhook, got []received, _ Delivery) {
			if err := verify(t, w.Secret, got[0], true); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
				t.Errorf("verify = %v, want no matching signature", err)
			}
		}},
		{name: "stale timestamp", plan: AttemptPlan{Rule: "replay", TimestampOffset: -time.Hour}, check: func(t *testing.T, _ *Service, w Webhook, got []received, _ Delivery) {
			if err := verify(t, w.Secret, got[0], true); !errors.Is(err, standardwebhooks.ErrMessageTooOld) {
				t.Errorf("verify = %v, want message too old", err)
			}
			if err := verify(t, w.Secret, got[0], false); err != nil {
				t.Errorf("signature over the stale timestamp: %v", err)
			}
		}},
		{name: "rotate before the attempt", plan: AttemptPlan{Rule: "rotate", RotateSecret: true}, check: func(t *testing.T, s *Service, w Webhook, got []received, _ Delivery) {
			now, _ := s.Webhook(context.Background(), w.Tenant, w.ID)
			if now.Secret == w.Secret || now.PreviousSecret != w.Secret {
				t.Fatal("the secret was not rotated")
			}
			for _, sec := range []string{w.Secret, now.Secret} {
				if err := verify(t, sec, got[0], true); err != nil {
					t.Errorf("verify with %s: %v", sec[:10], err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked atomic.Int64
			s, clock := newTestService(t, func(c *Config) { c.Faults = planFirst(tt.plan, &asked) })
			rc := newReceiver(t, nil)
			w := subscribe(t, s, "acme", rc.URL, "case.created")
			if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, s)
			if tt.advance > 0 {
				clock.Advance(tt.advance)
				waitIdle(t, s)
			}
			d := onlyDelivery(t, s, w)
			if int(asked.Load()) != d.AttemptCount {
				t.Errorf("faults asked %d times for %d attempts, want once per attempt", asked.Load(), d.AttemptCount)
			}
			if r := d.Attempts[0].FaultRule; r == nil || *r != tt.plan.Rule {
				t.Errorf("fault rule recorded = %v, want %q", r, tt.plan.Rule)
			}
			tt.check(t, s, w, rc.requests(), d)
		})
	}
}

func checkCopies(t *testing.T, got []received, d Delivery, want int) {
	t.Helper()
	if len(got) != want {
		t.Fatalf("receiver got %d requests, want %d", len(got), want)
	}
	for _, g := range got[1:] {
		for _, h := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
			if g.Header.Get(h) != got[0].Header.Get(h) {
				t.Errorf("copy %s differs", h)
			}
		}
	}
	dups := 0
	for _, a := range d.Attempts {
		if a.Duplicate {
			dups++
		}
	}
	if d.AttemptCount != 1 || dups != want-1 || d.Status != StatusSucceeded {
		t.Errorf("attempt count %d, %d duplicates, %s; want 1, %d, succeeded", d.AttemptCount, dups, d.Status, want-1)
	}
}

func TestReorderFaults(t *testing.T) {
	tests := []struct {
		name    string
		reorder Reorder
		publish int
		advance time.Duration
		check   func(t *testing.T, published, got []string)
	}{
		{name: "reverse", reorder: Reorder{Count: 4, Order: ReorderReverse}, publish: 4, check: func(t *testing.T, published, got []string) {
			want := slices.Clone(published)
			slices.Reverse(want)
			if !slices.Equal(got, want) {
				t.Errorf("received %v, want %v", got, want)
			}
		}},
		{name: "shuffle", reorder: Reorder{Count: 5, Order: ReorderShuffle}, publish: 5, check: func(t *testing.T, published, got []string) {
			if slices.Equal(got, published) {
				t.Errorf("received in publication order %v", got)
			}
			sorted, want := slices.Clone(got), slices.Clone(published)
			slices.Sort(sorted)
			slices.Sort(want)
			if !slices.Equal(sorted, want) {
				t.Errorf("received %v, want a permutation of %v", got, published)
			}
		}},
		{name: "short burst released after max wait", reorder: Reorder{Count: 10, MaxWait: time.Minute}, publish: 3, advance: time.Minute,
			check: func(t *testing.T, published, got []string) {
				want := slices.Clone(published)
				slices.Reverse(want)
				if !slices.Equal(got, want) {
					t.Errorf("received %v, want %v", got, want)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reorder := tt.reorder
			faults := DeliveryFaultsFunc(func(context.Context, AttemptInfo) AttemptPlan {
				return AttemptPlan{Rule: "burst", Reorder: &reorder}
			})
			// One attempt in flight per endpoint: bursts are collected in
			// publication order.
			s, clock := newTestService(t, func(c *Config) { c.Faults = faults; c.PerEndpointConcurrency = 1 })
			rc := newReceiver(t, nil)
			subscribe(t, s, "acme", rc.URL, "case.created")
			var published []string
			for range tt.publish {
				id, err := s.Trigger(context.Background(), "acme", "case.created", nil)
				if err != nil {
					t.Fatal(err)
				}
				published = append(published, id)
				waitIdle(t, s)
			}
			if tt.advance > 0 {
				if n := len(rc.requests()); n != 0 {
					t.Fatalf("%d sent before the burst was released", n)
				}
				clock.Advance(tt.advance)
				waitIdle(t, s)
			}
			var got []string
			for _, r := range rc.requests() {
				got = append(got, r.Event.ID)
			}
			tt.check(t, published, got)
		})
	}
}
