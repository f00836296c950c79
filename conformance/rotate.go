package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// rotates reports whether the scenario hands the consumer a new secret.
func (s *Scenario) rotates() bool {
	for _, st := range s.Steps {
		if st.RotateSecret != nil {
			return true
		}
	}
	return false
}

// rotateSecret rotates the scenario webhook's secret through the webhooks
// API, as an integrator does from the dashboard, and restarts the
// consumer with the new one. The previous secret keeps signing for the
// rotation window (24 h), so deliveries in between carry both.
func (r *runner) rotateSecret(ctx context.Context, sr *scenarioRun) error {
	rot, ok := r.cfg.Consumer.(SecretRotator)
	if !ok {
		return fmt.Errorf("the consumer cannot be restarted with a new secret")
	}
	rotated, err := r.sb.c.Webhooks().RotateSecret(ctx, sr.webhookID, client.WebhookSecretRotation{})
	if err != nil {
		return fmt.Errorf("rotate the webhook secret: %w", err)
	}
	sr.rotated = true
	if err := rot.RestartWithSecret(ctx, rotated.Secret); err != nil {
		return fmt.Errorf("restart the consumer with the new secret: %w", err)
	}
	until := "for the rotation window"
	if at := rotated.PreviousSecretExpiresAt; at != nil {
		until = "until " + at.UTC().Format("2006-01-02T15:04:05Z") + " on the sandbox clock"
	}
	sr.res.Sent = append(sr.res.Sent, "rotated the webhook's signing secret (the previous one keeps signing "+until+
		") and restarted the consumer with the new ARGUS_WEBHOOK_SECRET")
	return nil
}

// recover enables the scenario's webhook again and re-sends its failed
// deliveries since the scenario began, through the webhooks API.
func (r *runner) recover(ctx context.Context, sr *scenarioRun) error {
	w, err := r.sb.c.Webhooks().Get(ctx, sr.webhookID)
	if err != nil {
		return fmt.Errorf("read the webhook: %w", err)
	}
	was := "enabled"
	if w.Status != "enabled" {
		was = w.Status
		if _, err := r.sb.c.Webhooks().Update(ctx, sr.webhookID, client.WebhookUpdate{Status: "enabled"}); err != nil {
			return fmt.Errorf("enable the webhook: %w", err)
		}
	}
	rec, err := r.sb.c.Webhooks().Recover(ctx, sr.webhookID, client.RecoverRequest{Since: sr.began})
	if err != nil {
		return fmt.Errorf("recover the failed deliveries: %w", err)
	}
	sr.res.Sent = append(sr.res.Sent, fmt.Sprintf("enabled the webhook again (it was %s) and recovered its %d failed deliveries", was, rec.Deliveries))
	return nil
}

// holdRelease is how far awaitAnswers moves the clock: the longest a
// latency fault holds a request.
const holdRelease = 30 * time.Second

// awaitAnswers makes sure every delivery of the scenario has been
// answered: when one has not (the consumer is held in a call of its own
// that a latency rule holds on the sandbox clock), the clock moves by the
// longest hold, which releases it, and the runner waits for the answer.
func (r *runner) awaitAnswers(ctx context.Context, sr *scenarioRun) error {
	ds, err := r.sb.Deliveries(ctx, sr.webhookID, "")
	if err != nil {
		return fmt.Errorf("read the deliveries: %w", err)
	}
	if !slices.ContainsFunc(ds, func(d client.Delivery) bool { return len(d.Attempts) == 0 }) {
		return nil
	}
	if err := r.sb.Advance(ctx, holdRelease); err != nil {
		return fmt.Errorf("advance the clock: %w", err)
	}
	if err := r.sb.WaitIdle(ctx); err != nil {
		return fmt.Errorf("waiting for deliveries: %w", err)
	}
	sr.res.Sent = append(sr.res.Sent, "advanced the sandbox clock by "+holdRelease.String()+" to release the consumer's held calls, and waited for its answers")
	return nil
}

// inFlight describes, for the report of a kill, the deliveries the
// consumer had answered and those it had not: the kill point.
func (r *runner) inFlight(ctx context.Context, sr *scenarioRun) string {
	ds, err := r.sb.Deliveries(ctx, sr.webhookID, "")
	if err != nil {
		return ""
	}
	var answered, open []string
	for _, d := range ds {
		label := sr.labelOf[d.Event.ID]
		if d.Status == client.DeliveryPending && len(d.Attempts) == 0 {
			open = append(open, label+" "+d.Event.ID)
			continue
		}
		if n := len(d.Attempts); n > 0 {
			if a := d.Attempts[n-1]; a.ResponseStatus != nil && *a.ResponseStatus/100 == 2 {
				answered = append(answered, fmt.Sprintf("%s %s (answered %d)", label, d.Event.ID, *a.ResponseStatus))
			}
		}
	}
	var parts []string
	if len(open) > 0 {
		parts = append(parts, "before it answered "+strings.Join(open, ", "))
	}
	if len(answered) > 0 {
		parts = append(parts, "after it answered "+strings.Join(answered, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}

// padding is the text pad repeats; JSON needs no escape for it.
const padding = "Argus conformance padding. "

// pad grows data.padding until data's JSON is at least n bytes.
func pad(data map[string]any, n int) {
	if n <= 0 {
		return
	}
	raw, _ := json.Marshal(data)
	if missing := n - len(raw); missing > 0 {
		const member = len(`,"padding":""`)
		text := strings.Repeat(padding, (missing+member)/len(padding)+1)
		data["padding"] = text
	}
}
