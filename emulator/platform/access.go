package platform

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Access request states.
const (
	RequestSubmitted = "submitted"
	RequestApproved  = "approved"
	RequestDenied    = "denied"
)

type scopeInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Visibility  string `json:"visibility"`
	Approved    bool   `json:"approved"`
}

func (s *Service) listScopes(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	pol := s.policy(p.Tenant)
	var unlocked map[string]bool // read once, at the first partner scope
	read := false
	out := []scopeInfo{}
	for _, sc := range s.fx.Scopes {
		if sc.Published() {
			out = append(out, scopeInfo{sc.Name, sc.Description, sc.Visibility, pol != nil && pol.scopes[sc.Name]})
			continue
		}
		if !read {
			unlocked, read = s.unlockedCapabilities(r.Context(), p.Tenant), true
		}
		if unlocked[sc.Capability] {
			out = append(out, scopeInfo{sc.Name, sc.Description, sc.Visibility, true})
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"data": out})
}

type auditView struct {
	ID         string         `json:"id"`
	Action     string         `json:"action"`
	Actor      map[string]any `json:"actor"`
	Target     string         `json:"target"`
	Details    map[string]any `json:"details,omitempty"`
	OccurredAt time.Time      `json:"occurred_at"`
}

func (s *Service) listAudit(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	// The cursor is the Seq of the last event served, not an offset: the
	// trail drops its oldest events past the retention, and an offset
	// would then skip as many events as were dropped.
	after, perr := core.DecodeCursor(r.URL.Query().Get("cursor"))
	if perr != nil {
		writeErr(w, r, perr)
		return
	}
	events, next, err := s.store.ListAudit(r.Context(), p.Tenant, AuditQuery{After: after,
		Limit: core.QueryInt(r, "limit", 20), Target: r.URL.Query().Get("target")})
	if err != nil {
		writeErr(w, r, err)
		return
	}
	data := make([]auditView, 0, len(events))
	for _, e := range events {
		data = append(data, auditView{e.ID, e.Action, map[string]any{"type": e.ActorType, "id": e.ActorID}, e.Target, e.Details, e.OccurredAt})
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"data": data, "next_cursor": core.NextCursor(pageCursor(next))})
}

// auditReadPage is how many events EachAuditEvent reads from the store at
// once: an export holds one such page, not the trail.
const auditReadPage = 500

// EachAuditEvent calls fn with each event of the tenant's trail, oldest
// first, reading the store a page at a time (the NDJSON export, and the
// GraphQL audit export through the wiring). An error from fn stops it and
// is returned.
func (s *Service) EachAuditEvent(ctx context.Context, tenant string, fn func(AuditEvent) error) error {
	after := 0
	for {
		events, next, err := s.store.ListAudit(ctx, tenant, AuditQuery{After: after, Limit: auditReadPage})
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := fn(e); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		after = next
	}
}

type accessRequestView struct {
	ID              string     `json:"id"`
	Capability      string     `json:"capability"`
	UseCase         string     `json:"use_case"`
	RequestedScopes []string   `json:"requested_scopes"`
	Status          string     `json:"status"`
	DecisionReason  string     `json:"decision_reason,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	DecidedAt       *time.Time `json:"decided_at"`
}

func viewAccessRequest(ar AccessRequest) accessRequestView {
	v := accessRequestView{ar.ID, ar.Capability, ar.UseCase, ar.RequestedScopes, ar.Status, ar.DecisionReason, ar.CreatedAt, nil}
	if v.RequestedScopes == nil {
		v.RequestedScopes = []string{}
	}
	if !ar.DecidedAt.IsZero() {
		t := ar.DecidedAt
		v.DecidedAt = &t
	}
	return v
}

func (s *Service) createAccessRequest(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	var in struct {
		Capability      string   `json:"capability"`
		UseCase         string   `json:"use_case"`
		RequestedScopes []string `json:"requested_scopes"`
	}
	if err := decode(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	for i, name := range in.RequestedScopes {
		field := fmt.Sprintf("/requested_scopes/%d", i)
		sc, ok := s.fx.Scope(name)
		if !ok {
			writeErr(w, r, errInvalidScope(field, name))
			return
		}
		if sc.Published() || sc.Capability != in.Capability {
			writeErr(w, r, errInvalid(field, fmt.Sprintf("%q is not a partner scope of capability %q", name, in.Capability)))
			return
		}
	}
	ar := AccessRequest{ID: s.ids.New("areq"), Tenant: p.Tenant, Capability: in.Capability, UseCase: in.UseCase,
		RequestedScopes: in.RequestedScopes, Status: RequestSubmitted, CreatedAt: s.clock.Now().UTC()}
	if err := s.store.CreateAccessRequest(r.Context(), ar); err != nil {
		writeErr(w, r, err)
		return
	}
	s.audit(r.Context(), p, "access_request.created", ar.ID, map[string]any{"capability": ar.Capability})
	core.WriteJSON(w, http.StatusCreated, viewAccessRequest(ar))
}

func (s *Service) listAccessRequests(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	list, err := s.store.ListAccessRequests(r.Context(), p.Tenant)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out := make([]accessRequestView, 0, len(list))
	for _, ar := range list {
		out = append(out, viewAccessRequest(ar))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Service) getAccessRequest(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	ar, err := s.store.GetAccessRequest(r.Context(), p.Tenant, r.PathValue("request_id"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	core.WriteJSON(w, http.StatusOK, viewAccessRequest(ar))
}

// ErrAlreadyDecided is returned when deciding a request twice.
var ErrAlreadyDecided = fmt.Errorf("access request already decided: %w", ErrConflict)

// DecideAccessRequest approves or denies a submitted request (the control
// plane plays the reviewer). Approval unlocks the capability's partner
// scopes for the tenant.
func (s *Service) DecideAccessRequest(ctx context.Context, id string, approve bool, reason string) (AccessRequest, error) {
	return s.DecideTenantAccessRequest(ctx, "", id, approve, reason)
}

// DecideTenantAccessRequest is DecideAccessRequest for a request of tenant
// alone ("" for any): another tenant's request is ErrNotFound, as if it
// did not exist.
func (s *Service) DecideTenantAccessRequest(ctx context.Context, tenant, id string, approve bool, reason string) (AccessRequest, error) {
	ar, err := s.store.UpdateAccessRequest(ctx, id, func(ar *AccessRequest) error {
		if tenant != "" && ar.Tenant != tenant {
			return ErrNotFound
		}
		if ar.Status != RequestSubmitted {
			return ErrAlreadyDecided
		}
		ar.Status = RequestDenied
		if approve {
			ar.Status = RequestApproved
		}
		ar.DecisionReason = reason
		ar.DecidedAt = s.clock.Now().UTC()
		return nil
	})
	if err != nil {
		return AccessRequest{}, err
	}
	op := &core.Principal{Kind: core.KindOperator, Tenant: ar.Tenant}
	s.audit(ctx, op, "access_request.decided", ar.ID, map[string]any{"status": ar.Status, "reason": reason})
	s.publish(ctx, ar.Tenant, "access_request.decided", map[string]any{
		"access_request_id": ar.ID, "capability": ar.Capability, "status": ar.Status, "reason": reason})
	return ar, nil
}

// TenantHasCapability reports whether tenant has an approved access request
// for capability.
func (s *Service) TenantHasCapability(ctx context.Context, tenant, capability string) bool {
	return s.unlockedCapabilities(ctx, tenant)[capability]
}

// unlockedCapabilities lists the capabilities tenant holds through approved
// access requests.
func (s *Service) unlockedCapabilities(ctx context.Context, tenant string) map[string]bool {
	list, err := s.store.ListAccessRequests(ctx, tenant)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, ar := range list {
		if ar.Status == RequestApproved {
			out[ar.Capability] = true
		}
	}
	return out
}
