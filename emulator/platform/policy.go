package platform

import (
	"net/http"
	"slices"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Capability states in the tenant policy.
const (
	CapabilityApproved     = "approved"
	CapabilityPending      = "pending"
	CapabilityDenied       = "denied"
	CapabilityNotRequested = "not_requested"
)

type capabilityState struct {
	Capability string `json:"capability"`
	Status     string `json:"status"`
}

type limitsView struct {
	AppsPerTenant           int `json:"apps_per_tenant"`
	SecretsPerApp           int `json:"secrets_per_app"`
	ServiceTokensPerApp     int `json:"service_tokens_per_app"`
	AccessRequestsPerTenant int `json:"access_requests_per_tenant"`
	AuditEventsPerTenant    int `json:"audit_events_per_tenant"`
	EnvironmentsPerTenant   int `json:"environments_per_tenant"`
}

type policyView struct {
	Tenant              string            `json:"tenant"`
	ApprovedScopes      []string          `json:"approved_scopes"`
	GrantTypes          []string          `json:"grant_types"`
	RedirectURIPatterns []string          `json:"redirect_uri_patterns"`
	PublishedScopes     []string          `json:"published_scopes"`
	PartnerScopes       map[string]string `json:"partner_scopes"`
	Capabilities        []capabilityState `json:"capabilities"`
	Limits              limitsView        `json:"limits"`
}

// getPolicy answers the portal's first step, before any app is registered:
// what the tenant approves without review, which reviewed capabilities it
// holds, and the limits it works within.
func (s *Service) getPolicy(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	t, ok := s.tenants.Tenant(p.Tenant)
	if !ok {
		writeErr(w, r, ErrNotFound)
		return
	}
	v := policyView{Tenant: t.ID, ApprovedScopes: nonNil(t.Policy.ApprovedScopes), GrantTypes: nonNil(t.Policy.GrantTypes),
		RedirectURIPatterns: nonNil(t.Policy.RedirectURIPatterns), PublishedScopes: []string{}, PartnerScopes: map[string]string{},
		Capabilities: []capabilityState{}}
	for _, sc := range s.fx.Scopes {
		if sc.Published() {
			v.PublishedScopes = append(v.PublishedScopes, sc.Name)
		} else {
			v.PartnerScopes[sc.Name] = sc.Capability
		}
	}
	states, err := s.capabilityStates(r, p.Tenant)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	for _, c := range s.fx.Capabilities {
		st := states[c.ID]
		if st == "" {
			st = CapabilityNotRequested
		}
		v.Capabilities = append(v.Capabilities, capabilityState{c.ID, st})
	}
	v.Limits = limitsView(s.limits)
	core.WriteJSON(w, http.StatusOK, v)
}

// capabilityStates folds the tenant's access requests: an approval wins,
// then a request still under review, then a denial.
func (s *Service) capabilityStates(r *http.Request, tenant string) (map[string]string, error) {
	list, err := s.store.ListAccessRequests(r.Context(), tenant)
	if err != nil {
		return nil, err
	}
	rank := map[string]int{CapabilityDenied: 1, CapabilityPending: 2, CapabilityApproved: 3}
	out := map[string]string{}
	for _, ar := range list {
		st := CapabilityDenied
		switch ar.Status {
		case RequestApproved:
			st = CapabilityApproved
		case RequestSubmitted:
			st = CapabilityPending
		}
		if rank[st] > rank[out[ar.Capability]] {
			out[ar.Capability] = st
		}
	}
	return out, nil
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return slices.Clone(list)
}
