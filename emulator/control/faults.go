package control

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/faults"
)

func (s *Service) createFault(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		core.WriteProblem(w, r, invalid("/", "the body could not be read"))
		return
	}
	rule, err := faults.DecodeRule(body)
	if err == nil {
		// A tenant's rule matches that tenant's traffic alone, and may not
		// touch the signing keys every tenant shares.
		if own, ok := controller(r); ok {
			switch {
			case rule.Match.Tenant != "" && rule.Match.Tenant != own:
				core.WriteProblem(w, r, forbidden("this control token adds rules for tenant "+own+" alone").WithField("/match/tenant", "another tenant"))
				return
			case rule.Action.RotateKeys != nil || rule.Action.StaleJWKS != nil:
				core.WriteProblem(w, r, forbidden("key faults act on the signing keys every tenant shares: they need the operator token").WithField("/action", "needs the operator token"))
				return
			}
			rule.Match.Tenant = own
		}
		var st faults.RuleStatus
		if st, err = s.cfg.Faults.Add(rule); err == nil {
			s.log.Info("fault rule added", "rule", rule.Name, "request_id", core.RequestIDFrom(r.Context()))
			w.Header().Set("Location", "/_sandbox/faults/"+rule.Name)
			core.WriteJSON(w, http.StatusCreated, st)
			return
		}
	}
	var verr *faults.ValidationError
	switch {
	case errors.As(err, &verr):
		p := core.NewProblem(http.StatusBadRequest, "invalid_request", "Bad Request", "the fault rule is invalid: "+fieldList(verr))
		for _, is := range verr.Issues {
			p.WithField(is.Field, is.Reason)
		}
		core.WriteProblem(w, r, p)
	case errors.Is(err, faults.ErrExists):
		core.WriteProblem(w, r, core.NewProblem(http.StatusConflict, "conflict", "Conflict",
			"a fault rule named "+strconv.Quote(rule.Name)+" already exists; delete it first"))
	default:
		s.fail(w, r, "adding the fault rule", err)
	}
}

func fieldList(verr *faults.ValidationError) string {
	out := ""
	for i, is := range verr.Issues {
		if i > 0 {
			out += ", "
		}
		out += is.Field
	}
	return out
}

func (s *Service) listFaults(w http.ResponseWriter, r *http.Request) {
	rules := s.cfg.Faults.Rules()
	if own, ok := controller(r); ok {
		mine := []faults.RuleStatus{}
		for _, st := range rules {
			if st.Match.Tenant == own {
				mine = append(mine, st)
			}
		}
		rules = mine
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"data": rules})
}

func (s *Service) clearFaults(w http.ResponseWriter, r *http.Request) {
	if own, ok := controller(r); ok {
		s.dropTenantFaults(own)
		s.log.Info("fault rules of a tenant cleared", "tenant", own, "request_id", core.RequestIDFrom(r.Context()))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.cfg.Faults.Clear()
	s.log.Info("fault rules cleared", "request_id", core.RequestIDFrom(r.Context()))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) getFault(w http.ResponseWriter, r *http.Request) {
	st, err := s.ownRule(r, r.PathValue("rule_name"))
	if err != nil {
		s.faultErr(w, r, err)
		return
	}
	core.WriteJSON(w, http.StatusOK, st)
}

func (s *Service) deleteFault(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("rule_name")
	if _, err := s.ownRule(r, name); err != nil {
		s.faultErr(w, r, err)
		return
	}
	if err := s.cfg.Faults.Delete(name); err != nil {
		s.faultErr(w, r, err)
		return
	}
	s.log.Info("fault rule deleted", "rule", name, "request_id", core.RequestIDFrom(r.Context()))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) listFaultEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := faults.EventFilter{Rule: q.Get("rule")}
	if l := q.Get("limit"); l != "" {
		f.Limit, _ = strconv.Atoi(l) // validated by the spec
	}
	if own, ok := controller(r); ok {
		f.Tenant = own
	}
	events, err := s.cfg.Faults.Events(r.Context(), f)
	if err != nil {
		s.fail(w, r, "listing the fault firings", err)
		return
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"data": events})
}

// ownRule reads a rule; to a control token, another tenant's rule (or
// one for every tenant) does not exist.
func (s *Service) ownRule(r *http.Request, name string) (faults.RuleStatus, error) {
	st, err := s.cfg.Faults.Rule(name)
	if own, ok := controller(r); err == nil && ok && st.Match.Tenant != own {
		return faults.RuleStatus{}, faults.ErrNotFound
	}
	return st, err
}

func (s *Service) faultErr(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, faults.ErrNotFound) {
		core.WriteProblem(w, r, core.NotFoundProblem("no fault rule is named "+strconv.Quote(r.PathValue("rule_name"))))
		return
	}
	s.fail(w, r, "the fault rule operation", err)
}
