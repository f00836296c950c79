package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// runner runs scenarios one after another against one consumer.
type runner struct {
	cfg Config
	sb  *sandbox
	ep  Endpoint
	app client.Credentials
	// noCallback says why the consumer's calls back into the sandbox
	// cannot be observed ("" when they can).
	noCallback string
}

// scenarioRun is the state of one scenario: its webhook, the events
// published per label, the case ids per label, and the evidence so far.
type scenarioRun struct {
	s         *Scenario
	webhookID string
	events    map[string][]string
	labelOf   map[string]string
	cases     map[string]string
	// journalBase is the Seq of the consumer app's newest journaled
	// request when the scenario began: its write-backs come after it.
	journalBase int64
	res         *Result
	// observed are the webhook's deliveries as last read, nil until read
	// again: every step that acts drops them, so the checks that follow
	// one step and the scenario's evidence share one reading.
	observed []client.Delivery
	// rotated says the consumer was handed a new secret: teardown hands
	// it the run's secret again.
	rotated bool
	// began is when the scenario began on the sandbox clock (which setup
	// puts back at real time).
	began time.Time
}

// run executes one scenario in isolation: a fresh webhook (deleted at the
// end, with any retry still pending), its fault rules, the clock back at
// real time so consumers checking timestamps see the present. A setup
// failure (the sandbox refusing the webhook or a fault rule) is the run's
// problem, not the consumer's: it is returned as the error.
func (r *runner) run(ctx context.Context, s *Scenario) (res Result, setupErr error) {
	start := time.Now()
	res = Result{Name: s.Name, Title: s.Title, Detects: s.Detects, Why: s.Why, Category: s.Category}
	out, _ := r.cfg.Consumer.(consumerOutput)
	var mark int64
	if out != nil {
		mark = out.outputMark()
	}
	defer func() {
		res.Duration = time.Since(start)
		if out != nil && res.Status == StatusFail {
			res.ConsumerOutput = out.outputSince(mark)
		}
	}()
	if slices.Contains(s.Requires, RequireRestart) && !r.cfg.Consumer.CanRestart() {
		res.Status, res.Reason = StatusUnverified, "needs a consumer the runner can restart (--exec); not run"
		return res, nil
	}
	if _, ok := r.cfg.Consumer.(SecretRotator); s.rotates() && !ok {
		res.Status, res.Reason = StatusUnverified, "needs a consumer the runner can restart with a new ARGUS_WEBHOOK_SECRET (--exec); not run"
		return res, nil
	}
	if slices.Contains(s.Requires, RequireCallback) && r.noCallback != "" {
		res.Status, res.Reason = StatusUnverified, r.noCallback+"; not run"
		return res, nil
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ScenarioTimeout)
	defer cancel()
	// A scenario that outlives its bound fails whatever it had observed:
	// the errors and checks that follow an expired context say nothing
	// about the consumer.
	timedOut := func(at string) bool {
		if ctx.Err() == nil || parent.Err() != nil {
			return false
		}
		res.Status, res.Reason = StatusFail, fmt.Sprintf("did not finish within the scenario timeout of %s (%s)", r.cfg.ScenarioTimeout, at)
		return true
	}
	sr := &scenarioRun{s: s, events: map[string][]string{}, labelOf: map[string]string{}, cases: map[string]string{},
		res: &res}
	// Teardown also undoes a setup that failed halfway.
	defer r.teardown(sr)
	if err := r.setup(ctx, sr); err != nil {
		if timedOut("setup: " + err.Error()) {
			return res, nil
		}
		res.Status, res.Reason = StatusUnverified, "setup: "+err.Error()
		return res, err
	}
	for i, st := range s.Steps {
		if err := r.step(ctx, sr, i, st); err != nil {
			if !timedOut(fmt.Sprintf("step %d: %v", i+1, err)) {
				res.Status, res.Reason = StatusFail, fmt.Sprintf("step %d: %v", i+1, err)
			}
			r.collect(ctx, sr)
			return res, nil
		}
	}
	r.check(ctx, sr, "end", &s.Expect)
	if timedOut("checking the expectations") {
		r.collect(ctx, sr)
		return res, nil
	}
	r.collect(ctx, sr)
	res.Status = verdict(res.Checks)
	return res, nil
}

func (r *runner) setup(ctx context.Context, sr *scenarioRun) error {
	if err := r.sb.ResetClock(ctx); err != nil {
		return fmt.Errorf("reset the clock: %w", err)
	}
	sr.began = time.Now().Add(-time.Minute)
	id, err := r.sb.Subscribe(ctx, r.ep.URL, sr.s.topics(), "conformance: "+sr.s.Name, r.cfg.Secret)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", r.ep.URL, err)
	}
	sr.webhookID = id
	for _, rule := range sr.s.Faults {
		rule.Name = faultName(sr.s, rule)
		if _, target := rule.Action.Kind(); target == client.FaultTargetDelivery && rule.Match.Endpoint == "" {
			rule.Match.Endpoint = id
		} else if target != client.FaultTargetDelivery && rule.Match.ClientID == "" {
			rule.Match.ClientID = r.app.ClientID
		}
		if err := r.sb.AddFault(ctx, rule); err != nil {
			return fmt.Errorf("fault rule %s: %w", rule.Name, err)
		}
		sr.res.Sent = append(sr.res.Sent, "fault rule "+rule.Name+": "+describeRule(rule))
	}
	// Case labels become ids unique to this scenario, so state the
	// consumer kept from earlier scenarios cannot make this one pass.
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	for _, st := range sr.s.Steps {
		if p := st.Publish; p != nil && p.Case != "" && !isCaseID(p.Case) {
			if _, ok := sr.cases[p.Case]; !ok {
				sr.cases[p.Case] = "case_cnf_" + hex.EncodeToString(suffix) + "_" + p.Case
			}
		}
	}
	if r.noCallback != "" {
		return nil
	}
	counted := map[string]bool{}
	for _, e := range sr.s.expectations() {
		for c := range e.Notes {
			if counted[c] {
				continue
			}
			counted[c] = true
			if err := r.sb.checkCase(ctx, sr.caseID(c)); err != nil {
				return fmt.Errorf("count notes of %s: %w", c, err)
			}
		}
	}
	if len(counted) > 0 {
		seq, err := r.sb.journalSeq(ctx, r.app.ClientID)
		if err != nil {
			return fmt.Errorf("read the request journal: %w", err)
		}
		sr.journalBase = seq
	}
	return nil
}

// teardown runs on a fresh context: a scenario that timed out must still
// leave the sandbox clean for the next one.
func (r *runner) teardown(sr *scenarioRun) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if rot, ok := r.cfg.Consumer.(SecretRotator); ok && sr.rotated {
		_ = rot.RestartWithSecret(ctx, r.cfg.Secret)
	}
	for _, rule := range sr.s.Faults {
		_ = r.sb.DeleteFault(ctx, faultName(sr.s, rule))
	}
	if sr.webhookID != "" {
		_ = r.sb.DeleteWebhook(ctx, sr.webhookID)
	}
	_ = r.sb.ResetClock(ctx)
}

// step performs one step, then waits until delivery work is idle.
func (r *runner) step(ctx context.Context, sr *scenarioRun, i int, st Step) error {
	if st.Expect == nil {
		sr.observed = nil
	}
	switch {
	case st.Publish != nil:
		p := st.Publish
		data := sr.overrides(p)
		pad(data, p.MinBytes)
		ids, err := r.sb.Trigger(ctx, p.Topic, data, max(p.Count, 1))
		if err == nil && len(ids) == 0 {
			err = errors.New("the sandbox answered no event id")
		}
		if err != nil {
			return fmt.Errorf("publish %s: %w", p.Topic, err)
		}
		for _, id := range ids {
			sr.events[p.As] = append(sr.events[p.As], id)
			sr.labelOf[id] = p.As
		}
		sr.res.Sent = append(sr.res.Sent, sr.describePublish(p, ids[0]))
		if p.AwaitFault != "" {
			return r.awaitFault(ctx, sr, p.AwaitFault)
		}
	case st.Advance != nil:
		// advance: 0s only waits for the work in flight to settle (an
		// attempt to time out, say): moving the clock by nothing changes
		// nothing, so the sandbox is not asked, and the report says what
		// the step did.
		d := time.Duration(*st.Advance)
		if d == 0 {
			sr.res.Sent = append(sr.res.Sent, "waited for the deliveries in flight to settle")
			break
		}
		if err := r.sb.Advance(ctx, d); err != nil {
			return fmt.Errorf("advance the clock: %w", err)
		}
		sr.res.Sent = append(sr.res.Sent, "advanced the sandbox clock by "+d.String())
	case st.Restart != nil:
		if st.Restart.AfterAnswer {
			if err := r.awaitAnswers(ctx, sr); err != nil {
				return err
			}
		}
		inFlight := r.inFlight(ctx, sr)
		if err := r.cfg.Consumer.Restart(ctx); err != nil {
			return fmt.Errorf("restart the consumer: %w", err)
		}
		sr.res.Sent = append(sr.res.Sent, "killed and restarted the consumer"+inFlight)
	case st.RotateSecret != nil:
		if err := r.rotateSecret(ctx, sr); err != nil {
			return err
		}
	case st.Recover != nil:
		if err := r.recover(ctx, sr); err != nil {
			return err
		}
	case st.Redeliver != "":
		id := sr.events[st.Redeliver][0]
		ds, err := r.sb.Deliveries(ctx, sr.webhookID, id)
		if err != nil || len(ds) == 0 {
			return fmt.Errorf("no delivery of %s (%s) to redeliver: %v", st.Redeliver, id, err)
		}
		if err := r.sb.Redeliver(ctx, sr.webhookID, ds[0].ID); err != nil {
			return fmt.Errorf("redeliver %s: %w", id, err)
		}
		sr.res.Sent = append(sr.res.Sent, fmt.Sprintf("redelivered %s %s (same id and body)", st.Redeliver, id))
	case st.Expect != nil:
		r.check(ctx, sr, fmt.Sprintf("step %d", i+1), st.Expect)
		return nil
	}
	if err := r.waitIdle(ctx, sr); err != nil {
		if _, missed := err.(*missedDeadlineError); missed {
			return err
		}
		return fmt.Errorf("waiting for deliveries: %w", err)
	}
	return nil
}

// awaitFault polls until a fault rule of the scenario has fired. Polling
// in real time is right here: the rule fires when the consumer, at its
// own pace, makes the request it matches.
func (r *runner) awaitFault(ctx context.Context, sr *scenarioRun, name string) error {
	full := faultName(sr.s, client.FaultRule{Name: name})
	// Once delivery work is idle and the consumer has settled (see settle)
	// without the rule having fired, the consumer answered without making
	// the request: waiting on would only burn the scenario timeout. An
	// asynchronous consumer makes it after it answered, from its queue.
	idleCtx, stopIdle := context.WithCancel(ctx)
	defer stopIdle()
	idle := make(chan struct{})
	go func() {
		if r.sb.WaitIdle(idleCtx) == nil {
			close(idle)
		}
	}()
	var idleAt time.Time
	for {
		// Settled is read before the rule: a consumer may make the request
		// while its probe is being read, and then the rule has fired.
		settled := !idleAt.IsZero() && r.settledSince(ctx, idleAt)
		n, err := r.sb.FaultFired(ctx, full)
		if err != nil {
			return fmt.Errorf("await fault %s: %w", name, err)
		}
		if n > 0 {
			sr.res.Sent = append(sr.res.Sent, "fault rule "+full+" fired")
			return nil
		}
		if settled {
			return fmt.Errorf("fault rule %s never fired: the deliveries and the consumer settled without it making the request the rule matches", name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fault rule %s never fired: the consumer did not make the request it matches", name)
		case <-idle:
			idleAt, idle = time.Now(), nil
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// settledSince reports whether a consumer whose deliveries went idle at
// idleAt has nothing left to do: its probe reports "pending": 0, or, for a
// probe without it (or none), Config.SettleQuiet has passed; in any case
// once Config.SettleTimeout has.
func (r *runner) settledSince(ctx context.Context, idleAt time.Time) bool {
	since := time.Since(idleAt)
	if since >= r.cfg.SettleTimeout {
		return true
	}
	if r.ep.ProbeURL != "" {
		if p, err := fetchProbe(ctx, r.ep.ProbeURL); err == nil && p.hasPending {
			return p.Pending == 0
		}
	}
	return since >= r.cfg.SettleQuiet
}

// overrides builds the data deep-merged over the topic's catalog example.
func (sr *scenarioRun) overrides(p *Publish) map[string]any {
	data := deepCopy(p.Data)
	if p.Case == "" && p.Version == 0 && p.Status == "" {
		return data
	}
	c, _ := data["case"].(map[string]any)
	if c == nil {
		c = map[string]any{}
	}
	if p.Case != "" {
		c["id"] = sr.caseID(p.Case)
	}
	if p.Version != 0 {
		c["version"] = p.Version
	}
	if p.Status != "" {
		c["status"] = p.Status
	}
	data["case"] = c
	return data
}

func (sr *scenarioRun) caseID(ref string) string {
	if id, ok := sr.cases[ref]; ok {
		return id
	}
	return ref
}

func (sr *scenarioRun) describePublish(p *Publish, first string) string {
	s := fmt.Sprintf("published %s %s", p.As, p.Topic)
	if p.Case != "" {
		s += " case " + sr.caseID(p.Case)
	}
	if p.Version != 0 {
		s += fmt.Sprintf(" v%d", p.Version)
	}
	if p.Status != "" {
		s += " " + p.Status
	}
	if p.MinBytes > 0 {
		s += fmt.Sprintf(" padded to %d bytes of data", p.MinBytes)
	}
	if n := max(p.Count, 1); n > 1 {
		return fmt.Sprintf("%s ×%d (%s, …)", s, n, first)
	}
	return s + " (" + first + ")"
}

func describeRule(r client.FaultRule) string {
	name, _ := r.Action.Kind()
	s := name
	switch a := r.Action; {
	case a.TimestampOffset != nil:
		s += " by " + time.Duration(a.TimestampOffset.By).String()
	case a.StaleTimestamp != nil && a.StaleTimestamp.By != 0:
		s += " by " + time.Duration(a.StaleTimestamp.By).String()
	case a.Signature != nil:
		s += " " + a.Signature.Form
	case a.Synthetic != nil && a.Synthetic.Topic != "":
		s += " as " + a.Synthetic.Topic
	}
	if r.Match.Topic != "" {
		s += " on " + r.Match.Topic
	}
	if r.Match.Operation != "" {
		s += " on operation " + r.Match.Operation
	}
	switch {
	case r.When.First > 0:
		s += fmt.Sprintf(", first %d", r.When.First)
	case r.When.Probability != nil:
		s += fmt.Sprintf(", probability %g", *r.When.Probability)
	}
	return s
}

// collect records the deliveries of the scenario's events as evidence,
// oldest first.
func (r *runner) collect(ctx context.Context, sr *scenarioRun) {
	ds, err := r.deliveries(ctx, sr)
	if err != nil {
		return
	}
	for _, d := range ds {
		sr.res.Deliveries = append(sr.res.Deliveries, evidence(sr.labelOf[d.Event.ID], d))
	}
}

// deliveries returns the scenario webhook's deliveries, oldest first, read
// once per step.
func (r *runner) deliveries(ctx context.Context, sr *scenarioRun) ([]client.Delivery, error) {
	if sr.observed != nil {
		return sr.observed, nil
	}
	ds, err := r.sb.Deliveries(ctx, sr.webhookID, "")
	if err == nil {
		sr.observed = ds
	}
	return ds, err
}

func evidence(label string, d client.Delivery) Delivery {
	out := Delivery{Label: label, EventID: d.Event.ID, Topic: d.Event.Type, Status: string(d.Status)}
	for _, a := range d.Attempts {
		e := Attempt{Number: a.Number, Trigger: a.Trigger, Duplicate: a.Duplicate, DurationMS: a.DurationMS, Headers: a.RequestHeaders}
		if a.ResponseStatus != nil {
			e.Status = *a.ResponseStatus
		}
		if a.Error != nil {
			e.Error = string(a.Error.Class) + ": " + a.Error.Message
		}
		if a.FaultRule != nil {
			e.FaultRule = *a.FaultRule
		}
		out.Attempts = append(out.Attempts, e)
	}
	return out
}

func deepCopy(m map[string]any) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range out {
		if sub, ok := v.(map[string]any); ok {
			out[k] = deepCopy(sub)
		}
	}
	return out
}

// faultName scopes a scenario's rule name to the scenario, within the
// rule-name pattern of the control plane (a-z0-9._-).
func faultName(s *Scenario, r client.FaultRule) string { return s.Name + "." + r.Name }
