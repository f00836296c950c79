package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/internal/schemaissue"
)

// reset returns every surface, the fault rules and the clock to their
// start state. Surfaces go first so no timer they scheduled survives into
// the reset clock.
func (s *Service) reset(w http.ResponseWriter, r *http.Request) {
	var in struct {
		KeepApps bool   `json:"keep_apps"`
		Tenant   string `json:"tenant"`
	}
	if !decode(w, r, &in) {
		return
	}
	tenant, ok := s.scope(w, r, in.Tenant)
	if !ok {
		return
	}
	if tenant != "" {
		s.resetTenant(w, r, tenant, in.KeepApps)
		return
	}
	if s.cfg.Resetter != nil {
		if err := s.cfg.Resetter.Reset(r.Context(), in.KeepApps); err != nil {
			s.fail(w, r, "reset", err)
			return
		}
	}
	s.cfg.Faults.Reset()
	s.eachClock(Clock.Reset)
	s.log.Info("sandbox reset", "keep_apps", in.KeepApps, "request_id", core.RequestIDFrom(r.Context()))
	core.WriteJSON(w, http.StatusOK, map[string]any{"reset_at": s.cfg.Clock.Now().UTC(), "kept_apps": in.KeepApps})
}

// resetTenant returns one tenant to its initial state: its data, its
// fault rules (none) and its clock.
func (s *Service) resetTenant(w http.ResponseWriter, r *http.Request, tenant string, keepApps bool) {
	if !s.knownTenant(tenant) {
		core.WriteProblem(w, r, core.NotFoundProblem("no tenant has id "+tenant).WithField("/tenant", "no such tenant"))
		return
	}
	if !s.available(w, r, s.cfg.TenantData != nil, "resetting one tenant") {
		return
	}
	if err := s.cfg.TenantData.ResetTenant(r.Context(), tenant, keepApps); err != nil {
		s.fail(w, r, "reset", err)
		return
	}
	s.dropTenantFaults(tenant)
	clock := s.clockFor(tenant)
	clock.Reset()
	s.log.Info("tenant reset", "tenant", tenant, "keep_apps", keepApps, "request_id", core.RequestIDFrom(r.Context()))
	core.WriteJSON(w, http.StatusOK, map[string]any{"reset_at": clock.Now().UTC(), "kept_apps": keepApps, "tenant": tenant})
}

// clockState is a clock's state, with the tenant it belongs to.
type clockState struct {
	core.ClockState
	Tenant string `json:"tenant,omitempty"`
}

func (s *Service) getClock(w http.ResponseWriter, r *http.Request) {
	tenant, ok := s.queryScope(w, r)
	if !ok {
		return
	}
	core.WriteJSON(w, http.StatusOK, clockState{s.clockFor(tenant).State(), tenant})
}

// updateClock applies reset first, then freeze, so "freeze and advance"
// moves a stopped clock, then advance or set; advancing starts every due
// timer.
func (s *Service) updateClock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Advance *string    `json:"advance"`
		Set     *time.Time `json:"set"`
		Freeze  *bool      `json:"freeze"`
		Reset   bool       `json:"reset"`
		Tenant  string     `json:"tenant"`
	}
	if !decode(w, r, &in) {
		return
	}
	tenant, ok := s.scope(w, r, in.Tenant)
	if !ok {
		return
	}
	if tenant != "" && !s.knownTenant(tenant) {
		core.WriteProblem(w, r, core.NotFoundProblem("no tenant has id "+tenant).WithField("/tenant", "no such tenant"))
		return
	}
	target := s.clockFor(tenant)
	d, p := checkClockUpdate(target.Now(), in.Advance, in.Set)
	if p != nil {
		core.WriteProblem(w, r, p)
		return
	}
	// The operator's change without a tenant moves the sandbox clock and
	// every tenant's by the same step; a tenant's moves that one alone.
	each := s.eachClock
	if tenant != "" {
		each = func(f func(Clock)) { f(target) }
	}
	each(func(c Clock) {
		if in.Reset {
			c.Reset()
		}
		if in.Freeze != nil && *in.Freeze {
			c.Freeze()
		}
		switch {
		case in.Advance != nil:
			c.Advance(d)
		case in.Set != nil:
			c.Set(*in.Set)
		}
		if in.Freeze != nil && !*in.Freeze {
			c.Unfreeze()
		}
	})
	st := target.State()
	s.log.Info("clock changed", "tenant", tenant, "now", st.Now, "frozen", st.Frozen, "request_id", core.RequestIDFrom(r.Context()))
	core.WriteJSON(w, http.StatusOK, clockState{st, tenant})
}

// The clock stays between MinClockTime and MaxClockTime: its offset from
// real time is a time.Duration (about ±292 years), so a time beyond that
// range would be silently clamped, and tokens, retries and signatures
// computed from it would be wrong.
var (
	// MinClockTime is the earliest time the clock may be set to.
	MinClockTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	// MaxClockTime is the time the clock may not reach.
	MaxClockTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkClockUpdate parses advance and checks advance and set against the
// clock's range; it returns the problem naming the field, or nil.
func checkClockUpdate(now time.Time, advance *string, set *time.Time) (time.Duration, *core.Problem) {
	rangeText := "the clock stays between " + MinClockTime.Format(time.RFC3339) + " and " + MaxClockTime.Format(time.RFC3339)
	var d time.Duration
	switch {
	case advance != nil && set != nil:
		return 0, invalid("/set", "give either advance or set, not both")
	case advance != nil:
		var err error
		if d, err = time.ParseDuration(*advance); err != nil || d < 0 {
			return 0, invalid("/advance", "must be a positive duration such as 90s or 1h30m")
		}
		if !now.Add(d).Before(MaxClockTime) {
			return 0, invalid("/advance", "moves the clock too far: "+rangeText)
		}
	case set != nil:
		if set.Before(MinClockTime) || !set.Before(MaxClockTime) {
			return 0, invalid("/set", "is out of range: "+rangeText)
		}
	}
	return d, nil
}

func (s *Service) triggerEvent(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Tenant    string         `json:"tenant"`
		Topic     string         `json:"topic"`
		Data      map[string]any `json:"data"`
		Count     *int           `json:"count"`
		Synthetic bool           `json:"synthetic"`
	}
	if !decode(w, r, &in) || !s.available(w, r, s.cfg.Events != nil, "event triggering") {
		return
	}
	if _, ok := s.scope(w, r, in.Tenant); !ok {
		return
	}
	// The router's schema check bounds count already; this keeps the
	// handler's contract without it.
	n := 1
	if in.Count != nil {
		if n = *in.Count; n < 1 || n > MaxEventCount {
			core.WriteProblem(w, r, invalid("/count", fmt.Sprintf("must be an integer from 1 to %d", MaxEventCount)))
			return
		}
	}
	p := core.NewProblem(http.StatusUnprocessableEntity, "unprocessable", "Unprocessable Content", "the event names an unknown tenant or topic")
	if !s.knownTenant(in.Tenant) {
		p.WithField("/tenant", "no tenant has this id")
	}
	if !s.knownTopic(in.Topic) {
		p.WithField("/topic", "not a topic of the event catalog")
	}
	if len(p.Errors) > 0 {
		core.WriteProblem(w, r, p)
		return
	}
	trigger := s.cfg.Events.TriggerN
	bound := strings.HasPrefix(in.Topic, "case.") && !in.Synthetic && s.cfg.Cases != nil
	if bound {
		trigger = s.cfg.Cases.TriggerCaseN
	}
	ids, err := trigger(r.Context(), in.Tenant, in.Topic, in.Data, n)
	if bound && errors.Is(err, ErrNotFound) && len(ids) == 0 {
		c, _ := in.Data["case"].(map[string]any)
		id, _ := c["id"].(string)
		core.WriteProblem(w, r, core.NotFoundProblem("tenant "+in.Tenant+" has no case "+id+
			`; leave data.case.id out to create one, or send "synthetic": true to publish a case that is not stored`).
			WithField("/data/case/id", "no case of the tenant has this id"))
		return
	}
	var bad interface{ DataIssues() []schemaissue.Issue }
	if errors.As(err, &bad) {
		p := core.NewProblem(http.StatusUnprocessableEntity, "unprocessable", "Unprocessable Content",
			"with these overrides the event's data does not match the schema of "+in.Topic+" in the event catalog")
		for _, is := range bad.DataIssues() {
			p.WithField("/data"+strings.TrimSuffix(is.Field, "/"), is.Reason)
		}
		core.WriteProblem(w, r, p)
		return
	}
	if err != nil {
		published := ""
		if len(ids) > 0 {
			published = fmt.Sprintf(" (%d of %d events were published, the first %s)", len(ids), n, ids[0])
		}
		// A limit reached part-way is still the client's 409: the events
		// before it stand, and the detail says how many.
		var limit *core.LimitError
		if errors.As(err, &limit) {
			p := limit.Problem()
			p.Detail += published
			core.WriteProblem(w, r, p)
			return
		}
		if errors.Is(err, ErrShuttingDown) {
			core.WriteProblem(w, r, shuttingDown("new events are refused"+published))
			return
		}
		s.fail(w, r, "event trigger", fmt.Errorf("%w%s", err, published))
		return
	}
	core.WriteJSON(w, http.StatusAccepted, eventsTriggered{EventID: ids[0], EventIDs: ids, Tenant: in.Tenant, Topic: in.Topic})
}

// eventsTriggered is the answer of POST /_sandbox/events: event_id is the
// first (with the default count of 1, the only) event's id.
type eventsTriggered struct {
	EventID  string   `json:"event_id"`
	EventIDs []string `json:"event_ids"`
	Tenant   string   `json:"tenant"`
	Topic    string   `json:"topic"`
}

func (s *Service) knownTopic(topic string) bool {
	for _, et := range s.cfg.Fixtures.EventTypes {
		if et.Type == topic {
			return true
		}
	}
	return false
}

func (s *Service) rotateKeys(w http.ResponseWriter, r *http.Request) {
	var in struct {
		StaleJWKS string `json:"stale_jwks"`
	}
	if !decode(w, r, &in) || !s.available(w, r, s.cfg.Keys != nil, "key rotation") {
		return
	}
	var stale time.Duration
	if in.StaleJWKS != "" {
		var err error
		if stale, err = time.ParseDuration(in.StaleJWKS); err != nil || stale < 0 || stale > faults.MaxClockWait {
			core.WriteProblem(w, r, invalid("/stale_jwks", "must be a duration such as 30s, at most "+faults.MaxClockWait.String()))
			return
		}
	}
	now := s.cfg.Clock.Now().UTC()
	kid, err := s.cfg.Keys.RotateKeys(r.Context(), stale)
	if err != nil {
		s.fail(w, r, "key rotation", err)
		return
	}
	out := map[string]any{"kid": kid, "rotated_at": now}
	if stale > 0 {
		out["stale_jwks_until"] = now.Add(stale)
	}
	s.log.Info("signing key rotated", "kid", kid, "stale_jwks", stale)
	core.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) decideAccess(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Decision string `json:"decision"`
		Reason   string `json:"reason"`
	}
	if !decode(w, r, &in) || !s.available(w, r, s.cfg.Access != nil, "deciding access requests") {
		return
	}
	id := r.PathValue("access_request_id")
	// A control token decides its own tenant's requests only when the
	// tenant was created with self_review; deciding is the operator's.
	tenant, ok := controller(r)
	if ok {
		t, err := s.cfg.Tenants.Get(r.Context(), tenant)
		if err != nil || !t.SelfReview {
			core.WriteProblem(w, r, forbidden("tenant "+tenant+" does not review its own access requests (self_review): the operator decides them"))
			return
		}
	}
	d, err := s.cfg.Access.DecideAccessRequest(r.Context(), tenant, id, in.Decision == "approve", in.Reason)
	switch {
	case errors.Is(err, ErrNotFound):
		core.WriteProblem(w, r, core.NotFoundProblem("no access request has id "+id))
	case errors.Is(err, ErrConflict):
		core.WriteProblem(w, r, core.NewProblem(http.StatusConflict, "conflict", "Conflict", "the access request was already decided"))
	case err != nil:
		s.fail(w, r, "access-request decision", err)
	default:
		core.WriteJSON(w, http.StatusOK, d)
	}
}

// decode reads an optional JSON body the router has already validated.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(r.Body).Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return true
	}
	core.WriteProblem(w, r, invalid("/", "malformed JSON: "+err.Error()))
	return false
}

func invalid(field, reason string) *core.Problem {
	return core.NewProblem(http.StatusBadRequest, "invalid_request", "Bad Request",
		"the request does not match the operation's schema: "+field).WithField(field, reason)
}

func (s *Service) available(w http.ResponseWriter, r *http.Request, ok bool, what string) bool {
	if !ok {
		core.WriteProblem(w, r, core.NewProblem(http.StatusNotImplemented, "not_available", "Not Implemented",
			what+" is not available in this sandbox"))
	}
	return ok
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	core.Logger(r.Context(), s.log).Error(what+" failed", "err", err)
	core.WriteProblem(w, r, core.NewProblem(http.StatusInternalServerError, "internal_error", "Internal Server Error",
		what+" failed: "+err.Error()))
}
