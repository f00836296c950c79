package platform

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// The partner surfaces: each sits behind a partner-only scope (checked by
// the router from the spec's security) and the tenant's approved reviewed
// capability for that scope (checked here, at every call: a token minted
// before a /_sandbox/reset still carries the scope, but the approval is
// gone).

// EnvironmentReadyAfter is how long, on the sandbox clock, an onboarded
// environment stays provisioning.
const EnvironmentReadyAfter = 30 * time.Second

// Environment states.
const (
	EnvironmentProvisioning = "provisioning"
	EnvironmentReady        = "ready"
)

// requireCapability refuses with review_required unless tenant holds the
// capability that unlocks scope.
func (s *Service) requireCapability(r *http.Request, tenant, scope string) *core.Problem {
	sc, ok := s.fx.Scope(scope)
	if !ok {
		return core.NewProblem(http.StatusForbidden, "review_required", "Reviewed access required",
			fmt.Sprintf("scope %q is not in this sandbox's catalog", scope))
	}
	if s.TenantHasCapability(r.Context(), tenant, sc.Capability) {
		return nil
	}
	p := core.NewProblem(http.StatusForbidden, "review_required", "Reviewed access required",
		fmt.Sprintf("this partner surface needs the reviewed capability %q (scope %q); request it through reviewed access first", sc.Capability, sc.Name))
	p.Extra = map[string]any{"access_request_url": "/v1/platform/access-requests", "capability": sc.Capability}
	return p
}

// exportAuditEvents streams the tenant's audit trail as NDJSON, one
// AuditEvent per line, oldest first, as a download.
func (s *Service) exportAuditEvents(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	if perr := s.requireCapability(r, p.Tenant, "audit:export"); perr != nil {
		writeErr(w, r, perr)
		return
	}
	since, perr := timeParam(r, "since")
	if perr != nil {
		writeErr(w, r, perr)
		return
	}
	until, perr := timeParam(r, "until")
	if perr != nil {
		writeErr(w, r, perr)
		return
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		writeErr(w, r, errInvalid("query.until", "must not be before since"))
		return
	}
	now := s.clock.Now().UTC()
	started := false
	start := func() {
		if !started {
			started = true
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="audit-%s-%s.ndjson"`, p.Tenant, now.Format("20060102T150405Z")))
			w.WriteHeader(http.StatusOK)
		}
	}
	enc := json.NewEncoder(w)
	n := 0
	// The trail is read a page at a time: the export holds one page, not
	// the tenant's whole retention.
	err := s.EachAuditEvent(r.Context(), p.Tenant, func(e AuditEvent) error {
		if (!since.IsZero() && e.OccurredAt.Before(since)) || (!until.IsZero() && !e.OccurredAt.Before(until)) {
			return nil
		}
		start()
		n++
		return enc.Encode(auditView{e.ID, e.Action, map[string]any{"type": e.ActorType, "id": e.ActorID}, e.Target, e.Details, e.OccurredAt})
	})
	if err != nil {
		if !started {
			writeErr(w, r, err)
		}
		return // a store error past the first line, or the client went away
	}
	start()
	// Recorded after the export, so an export never lists itself.
	s.audit(r.Context(), p, "audit.exported", p.Tenant, map[string]any{"events": n})
}

// timeParam parses an optional RFC 3339 query parameter.
func timeParam(r *http.Request, name string) (time.Time, *core.Problem) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errInvalid("query."+name, "must be an RFC 3339 date-time")
	}
	return t, nil
}

type environmentView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	ReadyAt   time.Time `json:"ready_at"`
}

func (s *Service) viewEnvironment(e Environment) environmentView {
	st := EnvironmentProvisioning
	if !s.clock.Now().Before(e.ReadyAt) {
		st = EnvironmentReady
	}
	return environmentView{e.ID, e.Name, e.Region, st, e.CreatedAt, e.ReadyAt}
}

// DefaultEnvironmentRegion is the region of an environment requested
// without one.
const DefaultEnvironmentRegion = "local"

func (s *Service) createEnvironment(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	if perr := s.requireCapability(r, p.Tenant, "environments:onboard"); perr != nil {
		writeErr(w, r, perr)
		return
	}
	var in struct {
		Name   string `json:"name"`
		Region string `json:"region"`
	}
	if err := decode(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	if in.Region == "" {
		in.Region = DefaultEnvironmentRegion
	}
	now := s.clock.Now().UTC()
	e := Environment{ID: s.ids.New("env"), Tenant: p.Tenant, Name: in.Name, Region: in.Region,
		CreatedAt: now, ReadyAt: now.Add(EnvironmentReadyAfter)}
	if err := s.store.CreateEnvironment(r.Context(), e); err != nil {
		writeErr(w, r, err)
		return
	}
	s.audit(r.Context(), p, "environment.requested", e.ID, map[string]any{"name": e.Name, "region": e.Region})
	core.WriteJSON(w, http.StatusCreated, s.viewEnvironment(e))
}

func (s *Service) listEnvironments(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	if perr := s.requireCapability(r, p.Tenant, "environments:onboard"); perr != nil {
		writeErr(w, r, perr)
		return
	}
	list, err := s.store.ListEnvironments(r.Context(), p.Tenant)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out := make([]environmentView, 0, len(list))
	for _, e := range list {
		out = append(out, s.viewEnvironment(e))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Service) getEnvironment(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	if perr := s.requireCapability(r, p.Tenant, "environments:onboard"); perr != nil {
		writeErr(w, r, perr)
		return
	}
	e, err := s.store.GetEnvironment(r.Context(), p.Tenant, r.PathValue("environment_id"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	core.WriteJSON(w, http.StatusOK, s.viewEnvironment(e))
}

// federationMetadata describes, truthfully, what a partner federating with
// this sandbox can rely on: the issuer and its keys. The sandbox accepts
// no tokens from external issuers and offers no token exchange.
func (s *Service) federationMetadata(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	if perr := s.requireCapability(r, p.Tenant, "platform:federation"); perr != nil {
		writeErr(w, r, perr)
		return
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{
		"tenant":                   p.Tenant,
		"issuer":                   s.issuer,
		"jwks_uri":                 s.issuer + "/.well-known/jwks.json",
		"authorization_server_uri": s.issuer + "/.well-known/oauth-authorization-server",
		"openid_configuration_uri": s.issuer + "/.well-known/openid-configuration",
		"access_token_format":      "jwt",
		"token_exchange_supported": false,
		"external_issuers_trusted": false,
	})
}
