package webhooks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// responseBodyKept is how much of a response body diagnostics keep (the
// first KiB); responseBodyDrained is how much more is read so the
// connection can be reused.
const (
	responseBodyKept    = 1024
	responseBodyDrained = 64 << 10
)

// userAgent identifies the sandbox's deliveries.
const userAgent = "Argus-Webhooks/1.0 (sandbox)"

// The Standard Webhooks header names as http.Header keys them.
var (
	canonicalID        = http.CanonicalHeaderKey(HeaderID)
	canonicalTimestamp = http.CanonicalHeaderKey(HeaderTimestamp)
	canonicalSignature = http.CanonicalHeaderKey(HeaderSignature)
)

// bodyBuffers holds the buffers that read the kept part of response
// bodies, so an attempt does not allocate one.
var bodyBuffers = sync.Pool{New: func() any { return new([responseBodyKept]byte) }}

// process makes one attempt of j's delivery, or defers it as the fault plan
// says. It returns the attempt made and true, or false when none was made.
// (A value, not a pointer: the workers ignore it, and a pointer would move
// every attempt's result to the heap.)
func (s *Service) process(ctx context.Context, j job) (Attempt, bool) {
	// The admission slot was given back when the job was taken; a job
	// deferred from here re-enters without one.
	j.admitted = false
	if j.flush {
		ctx := inTurn(ctx)
		for _, h := range s.releaseHeld(ctx, j) {
			s.process(ctx, h)
		}
		return Attempt{}, false
	}
	var d Delivery
	claimed := j.claim
	if claimed {
		// A retry's timer: the attempt is this engine's only once claimed
		// (another engine may have made it already).
		var ok bool
		if d, ok = s.claimOne(ctx, j); !ok {
			return Attempt{}, false
		}
		j.claim = false
	}
	w, err := s.store.GetWebhook(ctx, j.tenant, j.webhookID)
	if err != nil {
		return Attempt{}, false // deleted or reset meanwhile
	}
	switch {
	case claimed:
	case j.held != nil && j.held.LeaseUntil.Sub(s.wall()) >= s.cfg.Lease/2 && w.UpdatedAt.Before(j.held.UpdatedAt):
		// Leased here with half the lease or more to run (the heartbeat
		// only ever moves it later), and the webhook unchanged since (a
		// disable would have failed the delivery): the copy taken with
		// the lease is current.
		d = *j.held
	default:
		// The job waited: the lease is renewed in the store before the
		// attempt, in one write that fails if another engine claimed the
		// delivery meanwhile (its lease lapsed while the heartbeat could
		// not reach the store), so the attempt starts with a whole lease
		// and no other engine can start it too before that lapses.
		now := s.wall()
		d, err = s.store.UpdateDelivery(ctx, j.tenant, j.webhookID, j.deliveryID, func(d *Delivery) error {
			if d.Finished() {
				return errNotClaimable
			}
			if d.LeaseOwner != s.owner {
				return errLeaseLost
			}
			d.LeaseUntil = now.Add(s.cfg.Lease)
			return nil
		})
		if err != nil {
			return Attempt{}, false // deleted, reset, settled or claimed elsewhere meanwhile
		}
	}
	if w.Disabled {
		s.failDisabled(ctx, w, d.ID)
		return Attempt{}, false
	}
	if j.plan == nil {
		plan := AttemptPlan{}
		if s.faults != nil {
			plan = s.faults.Plan(ctx, AttemptInfo{
				Tenant: w.Tenant, WebhookID: w.ID, URL: w.URL, Topic: d.Event.Type, EventID: d.Event.ID,
				DeliveryID: d.ID, Attempt: d.AttemptCount + 1, Trigger: j.trigger,
			})
			plan.normalise()
		}
		j.plan = &plan
	}
	if j.plan.Delay > 0 && !j.deferred {
		j.deferred = true
		s.setNext(ctx, d, j.plan.Delay)
		s.disp.attemptAfter(s.clockOf(w.Tenant), j.plan.Delay, j)
		return Attempt{}, false
	}
	if j.plan.Reorder != nil && !j.released {
		ctx := inTurn(ctx)
		var burst []job
		if s.store.Durable() {
			burst = s.holdShared(ctx, j, d, j.plan.Reorder)
		} else {
			burst = s.hold(j, j.plan.Reorder)
		}
		for _, h := range burst {
			s.process(ctx, h)
		}
		return Attempt{}, false
	}
	if j.plan.RotateSecret {
		if rotated, _, err := s.rotate(ctx, w.Tenant, w.ID, "", s.cfg.RotationWindow); err == nil {
			w = rotated
		}
	}
	res := s.send(ctx, w, &d, *j.plan, j.trigger)
	endTurn(ctx)
	s.record(ctx, w, d.ID, j, res)
	return res.attempt, true
}

// turn is a worker's turn at the endpoint of the job it processes: its
// attempt ends it (dispatcher.release) before the outcome is recorded.
type turn struct {
	release func()
	ended   bool
}

// turnKey is the context key of the worker's turn.
type turnKey struct{}

// endTurn ends the turn ctx carries, if it has not ended.
func endTurn(ctx context.Context) {
	if t, _ := ctx.Value(turnKey{}).(*turn); t != nil && !t.ended {
		t.ended = true
		t.release()
	}
}

// inTurn is ctx for the attempts a job makes of other jobs (held ones it
// releases): they run within the job's turn, which their attempts do not
// end; it ends when the job does.
func inTurn(ctx context.Context) context.Context {
	return context.WithValue(ctx, turnKey{}, (*turn)(nil))
}

// setNext moves a delivery's next attempt wait ahead; the engine keeps its
// lease, so the delayed attempt stays its own.
func (s *Service) setNext(ctx context.Context, d Delivery, wait time.Duration) {
	next := s.clockOf(d.Tenant).Now().Add(wait).UTC()
	_, _ = s.store.UpdateDelivery(ctx, d.Tenant, d.WebhookID, d.ID, func(d *Delivery) error {
		d.NextAttemptAt = next
		return nil
	})
}

// sendResult is an attempt with its duplicate copies and the response
// headers that steer the retry.
type sendResult struct {
	attempt Attempt
	copies  []Attempt
	status  int
	header  http.Header
}

// send signs and POSTs the delivery, with the copies the plan asks for.
func (s *Service) send(ctx context.Context, w Webhook, d *Delivery, plan AttemptPlan, trigger Trigger) sendResult {
	clock := s.clockOf(w.Tenant)
	now := clock.Now()
	ts := s.signingTime(d, plan)
	body := d.Body
	if plan.Rewrite != nil {
		body = rewrite(d.Event, plan.Rewrite, body)
	}
	var sig string
	if plan.BadSignature {
		sig = Sign(s.ids.Bytes(secretBytes), d.Event.ID, ts, body)
	} else {
		sig = signatureHeader(w.secrets(now), d.Event.ID, ts, body)
	}
	// The keys are in canonical form, as Header.Set would store them. The
	// header is only read once built, so the copies of an attempt share it.
	h := http.Header{
		"Content-Type":     {"application/json"},
		"User-Agent":       {userAgent},
		canonicalID:        {d.Event.ID},
		canonicalTimestamp: {strconv.FormatInt(ts, 10)},
		canonicalSignature: {sig},
	}
	if plan.Signature != "" {
		body = s.misspell(h, w, d.Event.ID, ts, body, plan.Signature)
	}

	sent := make(map[string]string, len(h))
	for k, v := range h {
		sent[strings.ToLower(k)] = v[0]
	}
	base := Attempt{Number: d.AttemptCount + 1, Trigger: trigger, Timestamp: ts, FaultRule: plan.ruleName(), RequestHeaders: sent}
	target, lost := w.URL, plan.ResponseLost
	if plan.Copies == 0 {
		return s.request(ctx, clock, target, h, body, base, lost, false)
	}
	if !plan.ConcurrentCopies {
		res := s.request(ctx, clock, target, h, body, base, lost, false)
		for range plan.Copies {
			res.copies = append(res.copies, s.request(ctx, clock, target, h, body, base, lost, true).attempt)
		}
		return res
	}
	results := make([]sendResult, plan.Copies+1)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = s.request(ctx, clock, target, h, body, base, lost, i > 0) })
	}
	wg.Wait()
	res := results[0]
	for _, c := range results[1:] {
		res.copies = append(res.copies, c.attempt)
	}
	return res
}

// request makes one request of an attempt, or a duplicate copy of it
// (dup), whose answer a response-lost fault never drops. Its start is
// recorded on clock, the tenant's.
func (s *Service) request(ctx context.Context, clock core.Clock, target string, h http.Header, body []byte, base Attempt, lost, dup bool) sendResult {
	a := base
	a.Duplicate = dup
	a.StartedAt = clock.Now().UTC()
	status, header := s.exchange(ctx, target, h, body, lost && !dup, &a)
	return sendResult{attempt: a, status: status, header: header}
}

// exchange makes one HTTP request and fills a's outcome. The attempt
// timeout and the duration are real time, as network timeouts are
// everywhere: moving the sandbox clock neither fails an answer that is on
// its way nor lengthens one (only the schedule between attempts follows
// the clock).
func (s *Service) exchange(ctx context.Context, target string, h http.Header, body []byte, lost bool, a *Attempt) (int, http.Header) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
	defer cancel()
	timedOut := func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }
	if strings.HasPrefix(strings.ToLower(target), "http://") {
		ctx = withPlainHTTP(ctx)
	}
	fail := func(class ErrorClass, msg string) {
		a.Outcome, a.Error = "failed", &AttemptError{Class: class, Message: msg}
	}
	defer func() { a.DurationMS = time.Since(began).Milliseconds() }()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		fail(ClassConnection, "the request could not be built: "+err.Error())
		return 0, nil
	}
	req.Header = h
	resp, err := s.client.Do(req)
	if err != nil {
		fail(s.policy.failure(err, timedOut(), s.cfg.AttemptTimeout))
		return 0, nil
	}
	defer resp.Body.Close()
	buf := bodyBuffers.Get().(*[responseBodyKept]byte)
	defer bodyBuffers.Put(buf)
	n, _ := io.ReadFull(resp.Body, buf[:])
	kept := buf[:n]
	if n == len(buf) {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, responseBodyDrained))
	}
	if timedOut() {
		fail(ClassTimeout, describe(ClassTimeout, nil, s.cfg.AttemptTimeout))
		return 0, nil
	}
	if lost {
		fail(ClassResponseLost, fmt.Sprintf("the endpoint answered %d but a fault rule dropped the answer, so the attempt counts as failed", resp.StatusCode))
		return 0, nil
	}
	status := resp.StatusCode
	a.ResponseStatus = &status
	a.ResponseBody = strings.ToValidUTF8(string(kept), "\uFFFD")
	switch {
	case status >= 200 && status < 300:
		a.Outcome = "succeeded"
	case status >= 300 && status < 400:
		fail(ClassRedirect, fmt.Sprintf("the endpoint answered %d (Location: %q); redirects are not followed, update the webhook URL", status, resp.Header.Get("Location")))
	default:
		fail(ClassNon2xx, fmt.Sprintf("the endpoint answered %d; only 2xx counts as success", status))
	}
	return status, resp.Header
}

// describe explains a transport failure for diagnostics.
func describe(class ErrorClass, err error, timeout time.Duration) string {
	switch class {
	case ClassTimeout:
		return fmt.Sprintf("no complete answer within %s", timeout)
	case ClassConnectionRefused:
		return "the connection was refused: nothing listens at the endpoint's address"
	}
	return err.Error()
}

// signingTime is the webhook-timestamp of an attempt: real time, shifted
// by the plan's offset. Each attempt is signed at its own time, as on the
// platform, where a retry comes seconds to hours later: an attempt that
// would carry the same timestamp as the attempt before it (a retry the
// sandbox clock brought forward within one real second) is stamped one
// second later, so no two consecutive attempts of a delivery share a
// timestamp and a consumer keying anything on it is found out.
func (s *Service) signingTime(d *Delivery, plan AttemptPlan) int64 {
	ts := s.wall().Add(plan.TimestampOffset).Unix()
	if plan.TimestampOffset != 0 {
		return ts
	}
	if last := d.LastAttempt(); last != nil && last.Timestamp >= ts && last.Timestamp < ts+maxTimestampBump {
		ts = last.Timestamp + 1
	}
	return ts
}

// maxTimestampBump bounds how far ahead of real time signingTime moves a
// timestamp: an attempt before that was signed further ahead (a fault's
// offset) does not drag the next one along.
const maxTimestampBump = 60

// misspell rewrites the signature header (and, for body_altered, returns
// another body) as the form says; h holds the correct signature.
func (s *Service) misspell(h http.Header, w Webhook, id string, ts int64, body []byte, form SignatureForm) []byte {
	valid := h.Get(canonicalSignature)
	mac := func(key []byte, id string) string {
		_, m, _ := strings.Cut(Sign(key, id, ts, body), ",")
		return m
	}
	current, _ := secretKey(w.Secret)
	switch form {
	case SignatureMissing:
		delete(h, canonicalSignature)
	case SignatureMalformed:
		h[canonicalSignature] = []string{mac(current, id)}
	case SignatureUnknownVersion:
		h[canonicalSignature] = []string{"v2," + mac(current, id)}
	case SignatureIDSwapped:
		h[canonicalID] = []string{s.ids.New("evt")}
	case SignatureBodyAltered:
		altered := make([]byte, 0, len(body)+len(alteredMember))
		altered = append(altered, bytes.TrimSuffix(body, []byte("}"))...)
		return append(altered, alteredMember...)
	case SignatureRetiredSecret:
		key, err := secretKey(w.PreviousSecret)
		if err != nil {
			key = s.ids.Bytes(secretBytes)
		}
		h[canonicalSignature] = []string{Sign(key, id, ts, body)}
	case SignatureLaterValid:
		wrong := Sign(s.ids.Bytes(secretBytes), id, ts, body)
		h[canonicalSignature] = []string{wrong + " v1a," + base64.StdEncoding.EncodeToString(s.ids.Bytes(64)) + " " + valid}
	}
	return body
}

// rewrite returns the body of ev sent as rw says; body when it cannot.
func rewrite(ev Event, rw *Rewrite, body []byte) []byte {
	if rw.Topic != "" {
		ev.Type = rw.Topic
	}
	if len(rw.Data) > 0 {
		var data map[string]any
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return body
		}
		raw, err := marshalData(ev.Type, deepMerge(data, rw.Data))
		if err != nil {
			return body
		}
		ev.Data = raw
	}
	out, err := EncodeEvent(ev)
	if err != nil {
		return body
	}
	return out
}

// alteredMember is what a body_altered signature fault adds to the
// envelope after signing.
const alteredMember = `,"altered":true}`

// wall is the real time that stamps webhook-timestamp (see
// Config.WallClock).
func (s *Service) wall() time.Time {
	if s.cfg.WallClock != nil {
		return s.cfg.WallClock()
	}
	return time.Now()
}
