package conformance

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// deadlinePoll is how often the deliveries are read for a missed deadline
// while a step waits for them to settle.
const deadlinePoll = 250 * time.Millisecond

// tolerant reports whether an attempt of the scenario may time out
// without the consumer being at fault: the scenario expects a timeout, or
// injects faults into the consumer's own calls (a hang in its write-back
// holds its answer).
func (s *Scenario) tolerant() bool {
	for _, e := range s.expectations() {
		if slices.ContainsFunc(e.Responses, func(r ResponseExpect) bool { return r.Status == StatusTimeout }) {
			return true
		}
	}
	return slices.ContainsFunc(s.Faults, func(r client.FaultRule) bool {
		_, target := r.Action.Kind()
		return target != client.FaultTargetDelivery
	})
}

// waitIdle waits until delivery work is idle. Meanwhile, unless the
// scenario tolerates timeouts, it watches the scenario's deliveries: the
// first attempt the consumer did not answer within the attempt timeout
// ends the wait with an error, so a consumer that never answers in time
// fails each scenario within seconds instead of after every retry.
func (r *runner) waitIdle(ctx context.Context, sr *scenarioRun) error {
	if sr.s.tolerant() {
		return r.sb.WaitIdle(ctx)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	missed := make(chan string, 1)
	go func() {
		for {
			select {
			case <-wctx.Done():
				return
			case <-time.After(deadlinePoll):
			}
			if m := r.sb.missedDeadline(wctx, sr.webhookID); m != "" {
				missed <- m
				cancel()
				return
			}
		}
	}()
	err := r.sb.WaitIdle(wctx)
	select {
	case m := <-missed:
		return &missedDeadlineError{attempt: m}
	default:
	}
	if err != nil {
		return err
	}
	// Idle with a timed-out attempt waiting for its retry: as missed.
	if m := r.sb.missedDeadline(ctx, sr.webhookID); m != "" {
		return &missedDeadlineError{attempt: m}
	}
	return nil
}

// missedDeadlineError ends a scenario at the consumer's first missed
// deadline.
type missedDeadlineError struct{ attempt string }

func (e *missedDeadlineError) Error() string {
	return "the consumer did not answer in time: " + e.attempt + "; the scenario stops at the first missed deadline"
}

// missedDeadline describes the first delivery of the webhook whose latest
// attempt got no answer within the attempt timeout ("" when none did, or
// the list cannot be read: the checks will say).
func (s *sandbox) missedDeadline(ctx context.Context, webhookID string) string {
	// A delivery whose latest attempt timed out is pending (retrying).
	f := client.DeliveryFilter{ListOptions: client.ListOptions{Limit: 100}, Status: client.DeliveryPending}
	for {
		page, err := s.c.Webhooks().Deliveries(ctx, webhookID, f)
		if err != nil {
			return ""
		}
		for _, d := range page.Data {
			if a := d.LastAttempt; a != nil && a.ResponseStatus == nil && a.Error != nil && a.Error.Class == client.ClassTimeout {
				return fmt.Sprintf("attempt %d of %s (%s): %s", a.Number, d.EventID, d.EventType, a.Error.Message)
			}
		}
		if page.NextCursor == nil {
			return ""
		}
		f.Cursor = *page.NextCursor
	}
}
