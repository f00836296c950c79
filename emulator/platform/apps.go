package platform

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/knogin/argus-sandbox/emulator/core"
)

type appCreate struct {
	Name            string   `json:"name"`
	GrantTypes      []string `json:"grant_types"`
	RedirectURIs    []string `json:"redirect_uris"`
	RequestedScopes []string `json:"requested_scopes"`
	// TokenEndpointAuthMethod is RFC 7591 §2's: "none" registers a public
	// client; the others (or none given) a confidential one.
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method"`
}

// decode reads a body the router has already validated against the spec.
func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return errInvalid("/", "malformed JSON body")
	}
	return nil
}

func (s *Service) createApp(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	var in appCreate
	if err := decode(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	grants, perr := s.grantItems(p.Tenant, in.GrantTypes)
	if perr != nil {
		writeErr(w, r, perr)
		return
	}
	if slices.Contains(in.GrantTypes, "authorization_code") && len(in.RedirectURIs) == 0 {
		writeErr(w, r, errInvalid("/redirect_uris", "at least one redirect URI is required with authorization_code"))
		return
	}
	public := in.TokenEndpointAuthMethod == authMethodNone
	if public {
		if perr := s.checkPublicClient(p.Tenant, in.GrantTypes); perr != nil {
			writeErr(w, r, perr)
			return
		}
	}
	redirects, perr := s.redirectItems(p.Tenant, in.RedirectURIs, nil)
	if perr != nil {
		writeErr(w, r, perr)
		return
	}
	scopes, perr := s.scopeItems(p.Tenant, s.unlockedCapabilities(r.Context(), p.Tenant), in.RequestedScopes, nil)
	if perr != nil {
		writeErr(w, r, perr)
		return
	}
	now := s.clock.Now().UTC()
	app := App{
		ID: s.ids.New("app"), ClientID: s.ids.New("cli"), Tenant: p.Tenant, Name: in.Name,
		GrantTypes: grants, RedirectURIs: redirects, Scopes: scopes, Public: public,
		CreatedAt: now, UpdatedAt: now,
	}
	// A public client gets no secret: it could not keep one.
	var secret string
	if !public {
		secret = s.ids.Token("sec", 32)
		app.Secrets = []Secret{{ID: s.ids.New("csec"), Hash: sha256.Sum256([]byte(secret)), CreatedAt: now}}
	}
	if err := s.store.CreateApp(r.Context(), app); err != nil {
		writeErr(w, r, err)
		return
	}
	s.audit(r.Context(), p, "app.created", app.ID, map[string]any{"name": app.Name, "pending_scopes": values(scopes, Pending)})
	s.publish(r.Context(), p.Tenant, "app.created", map[string]any{"app": appSummary(app, "active"), "actor": actorOf(p)})
	v := viewApp(app)
	v.ClientSecret = secret
	core.WriteSecretJSON(w, http.StatusCreated, v)
}

func appSummary(a App, status string) map[string]any {
	return map[string]any{"id": a.ID, "client_id": a.ClientID, "name": a.Name, "status": status}
}

func (s *Service) listApps(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	// The cursor is the position of the last app served, not an offset:
	// the store pages by it, so a page costs the same with 5 apps or 500,
	// and an app deleted meanwhile shifts no other.
	after, perr := core.DecodeCursor(r.URL.Query().Get("cursor"))
	if perr != nil {
		writeErr(w, r, perr)
		return
	}
	apps, next, err := s.store.ListApps(r.Context(), p.Tenant, after, core.QueryInt(r, "limit", 20))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	data := make([]appView, 0, len(apps))
	for _, a := range apps {
		data = append(data, viewApp(a))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"data": data, "next_cursor": core.NextCursor(pageCursor(next))})
}

// pageCursor is the cursor of a store's next position, "" for none.
func pageCursor(next int) string {
	if next == 0 {
		return ""
	}
	return core.EncodeCursor(next)
}

func (s *Service) getApp(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	a, err := s.store.GetApp(r.Context(), p.Tenant, r.PathValue("app_id"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	core.WriteJSON(w, http.StatusOK, viewApp(a))
}

type appUpdate struct {
	Name            *string   `json:"name"`
	RedirectURIs    *[]string `json:"redirect_uris"`
	RequestedScopes *[]string `json:"requested_scopes"`
}

func (s *Service) updateApp(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	var in appUpdate
	if err := decode(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	changed := []string{}
	// Read before the update: the closure runs under the store's lock and
	// must not call back into the store.
	unlocked := s.unlockedCapabilities(r.Context(), p.Tenant)
	a, err := s.store.UpdateApp(r.Context(), p.Tenant, r.PathValue("app_id"), func(a *App) error {
		if in.Name != nil {
			a.Name = *in.Name
			changed = append(changed, "name")
		}
		if in.RedirectURIs != nil {
			if _, ok := itemStatus(a.GrantTypes, "authorization_code"); ok && len(*in.RedirectURIs) == 0 {
				return errInvalid("/redirect_uris", "at least one redirect URI is required with authorization_code")
			}
			items, perr := s.redirectItems(p.Tenant, *in.RedirectURIs, a.RedirectURIs)
			if perr != nil {
				return perr
			}
			a.RedirectURIs = items
			changed = append(changed, "redirect_uris")
		}
		if in.RequestedScopes != nil {
			items, perr := s.scopeItems(p.Tenant, unlocked, *in.RequestedScopes, a.Scopes)
			if perr != nil {
				return perr
			}
			a.Scopes = items
			changed = append(changed, "requested_scopes")
		}
		a.UpdatedAt = s.clock.Now().UTC()
		return nil
	})
	if err != nil {
		writeErr(w, r, err)
		return
	}
	s.audit(r.Context(), p, "app.updated", a.ID, map[string]any{"changed": changed})
	s.publish(r.Context(), p.Tenant, "app.updated", map[string]any{"app": appSummary(a, viewApp(a).Status), "actor": actorOf(p)})
	core.WriteJSON(w, http.StatusOK, viewApp(a))
}

func (s *Service) deleteApp(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	a, err := s.store.DeleteApp(r.Context(), p.Tenant, r.PathValue("app_id"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if s.tokens != nil {
		for _, t := range a.ServiceTokens {
			_ = s.tokens.RevokeTokenID(r.Context(), t.ID)
		}
	}
	s.audit(r.Context(), p, "app.deleted", a.ID, map[string]any{"name": a.Name})
	s.publish(r.Context(), p.Tenant, "app.deleted", map[string]any{"app": appSummary(a, "deleted"), "actor": actorOf(p)})
	w.WriteHeader(http.StatusNoContent)
}

type reviewItems struct {
	Scopes       []string `json:"scopes"`
	GrantTypes   []string `json:"grant_types"`
	RedirectURIs []string `json:"redirect_uris"`
}

func (s *Service) reviewApp(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	var in struct {
		Approve reviewItems `json:"approve"`
		Deny    reviewItems `json:"deny"`
	}
	if err := decode(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	a, err := s.store.UpdateApp(r.Context(), p.Tenant, r.PathValue("app_id"), func(a *App) error {
		for _, d := range []struct {
			items  []Item
			vals   []string
			status string
			field  string
		}{
			{a.Scopes, in.Approve.Scopes, Approved, "/approve/scopes"},
			{a.GrantTypes, in.Approve.GrantTypes, Approved, "/approve/grant_types"},
			{a.RedirectURIs, in.Approve.RedirectURIs, Approved, "/approve/redirect_uris"},
			{a.Scopes, in.Deny.Scopes, Denied, "/deny/scopes"},
			{a.GrantTypes, in.Deny.GrantTypes, Denied, "/deny/grant_types"},
			{a.RedirectURIs, in.Deny.RedirectURIs, Denied, "/deny/redirect_uris"},
		} {
			if perr := decide(d.items, d.vals, d.status, d.field); perr != nil {
				return perr
			}
		}
		a.UpdatedAt = s.clock.Now().UTC()
		return nil
	})
	if err != nil {
		writeErr(w, r, err)
		return
	}
	s.audit(r.Context(), p, "app.reviewed", a.ID, map[string]any{"approved": in.Approve, "denied": in.Deny})
	s.publish(r.Context(), p.Tenant, "app.updated", map[string]any{"app": appSummary(a, viewApp(a).Status), "actor": actorOf(p)})
	core.WriteJSON(w, http.StatusOK, viewApp(a))
}
