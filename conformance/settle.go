package conformance

import (
	"context"
	"fmt"
	"maps"
	"time"
)

// Defaults of how long the runner waits for a consumer's observations to
// settle (Config.SettleQuiet, Config.SettleTimeout).
const (
	// DefaultSettleQuiet is how long a probe without a "pending" member and
	// the consumer's write-backs must stay unchanged to count as settled.
	DefaultSettleQuiet = 250 * time.Millisecond
	// DefaultSettleTimeout bounds the wait for the observations to settle
	// at one check point: an asynchronous consumer must have applied what it
	// acknowledged by then.
	DefaultSettleTimeout = 10 * time.Second
	// settlePoll is how often the observations are read while they settle.
	settlePoll = 20 * time.Millisecond
)

// observation is what the consumer did as one reading shows it: its
// probe document and its write-backs in the sandbox's request journal.
type observation struct {
	probe    *Probe
	probeErr error
	wb       writeBacks
	wbErr    error
	// took is how long after the deliveries went idle the reading settled;
	// unsettled says the settle bound passed first.
	took      time.Duration
	unsettled bool
}

// same reports whether two readings show the same consumer state.
func (o observation) same(p observation) bool {
	if (o.probe == nil) != (p.probe == nil) || (o.probeErr == nil) != (p.probeErr == nil) || (o.wbErr == nil) != (p.wbErr == nil) {
		return false
	}
	if o.probe != nil {
		if !maps.Equal(o.probe.Applied, p.probe.Applied) || !maps.Equal(o.probe.Cases, p.probe.Cases) ||
			o.probe.Pending != p.probe.Pending {
			return false
		}
	}
	return maps.Equal(o.wb.notes, p.wb.notes) && o.wb.truncated == p.wb.truncated && o.wb.unread == p.wb.unread
}

// idle reports whether the reading says the consumer has nothing left to
// apply: its probe reports "pending": 0.
func (o observation) idle() bool {
	return o.probeErr == nil && o.probe != nil && o.probe.hasPending && o.probe.Pending == 0
}

// settle reads the consumer's observations until they stop changing: a
// consumer may acknowledge a delivery before it applies it (from a durable
// queue), so one reading straight after the deliveries went idle would
// judge work still in progress. The reading is settled when the probe
// reports "pending": 0, or, without that member, when nothing changed for
// Config.SettleQuiet; Config.SettleTimeout bounds the wait. A reading
// that fails ends the wait: the check reports it.
func (r *runner) settle(ctx context.Context, sr *scenarioRun, probe, notes bool) observation {
	start := time.Now()
	var last observation
	lastChange := start
	for first := true; ; first = false {
		readAt := time.Now()
		o := r.observe(ctx, sr, probe, notes)
		now := time.Now()
		o.took = readAt.Sub(start)
		switch {
		case o.probeErr != nil || o.wbErr != nil || o.idle():
			return o
		case first || !o.same(last):
			lastChange = readAt
		case (o.probe == nil || !o.probe.hasPending) && now.Sub(lastChange) >= r.cfg.SettleQuiet:
			o.took = lastChange.Sub(start)
			return o
		}
		last = o
		if now.Sub(start) >= r.cfg.SettleTimeout {
			o.unsettled = true
			return o
		}
		select {
		case <-ctx.Done():
			o.unsettled = true
			return o
		case <-time.After(settlePoll):
		}
	}
}

// observe takes one reading of what the expectation needs.
func (r *runner) observe(ctx context.Context, sr *scenarioRun, probe, notes bool) observation {
	var o observation
	if probe {
		if r.ep.ProbeURL == "" {
			o.probeErr = fmt.Errorf("no probe URL (--probe)")
		} else {
			o.probe, o.probeErr = fetchProbe(ctx, r.ep.ProbeURL)
		}
	}
	if notes {
		o.wb, o.wbErr = r.sb.readWriteBacks(ctx, r.app.ClientID, sr.journalBase)
	}
	return o
}

// settleNote says how the reading a failed check judged came about, so a
// slow asynchronous consumer is told apart from a wrong one.
func (r *runner) settleNote(o observation) string {
	switch {
	case o.unsettled && o.probe != nil && o.probe.hasPending && o.probe.Pending > 0:
		return fmt.Sprintf("\nthe probe still reported %d pending after the settle bound of %s", o.probe.Pending, r.cfg.SettleTimeout)
	case o.unsettled:
		return fmt.Sprintf("\nstill changing after the settle bound of %s", r.cfg.SettleTimeout)
	case o.took >= settlePoll:
		return fmt.Sprintf("\nread after the consumer settled, %s after the deliveries", roundDuration(o.took))
	}
	return ""
}
