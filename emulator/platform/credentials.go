package platform

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

func (s *Service) rotateSecret(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	in := struct {
		GracePeriodSeconds *int `json:"grace_period_seconds"`
	}{}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	grace := DefaultSecretGrace
	if in.GracePeriodSeconds != nil {
		grace = time.Duration(*in.GracePeriodSeconds) * time.Second
	}
	now := s.clockOf(p.Tenant).Now().UTC()
	secret := s.ids.Token("sec", 32)
	var prevExpiry *time.Time
	a, err := s.store.UpdateApp(r.Context(), p.Tenant, r.PathValue("app_id"), func(a *App) error {
		if a.Public {
			return errInvalid("/", "a public client has no secret to rotate")
		}
		kept := a.Secrets[:0]
		for _, sec := range a.Secrets {
			if sec.ExpiresAt.IsZero() {
				sec.ExpiresAt = now.Add(grace)
				exp := sec.ExpiresAt
				prevExpiry = &exp
			}
			if now.Before(sec.ExpiresAt) {
				kept = append(kept, sec)
			}
		}
		// Refused before anything changes: the secrets in their grace
		// period keep working, and a rotation with no grace still works.
		if len(kept)+1 > s.limits.SecretsPerApp {
			return SecretsLimitError(s.limits.SecretsPerApp)
		}
		a.Secrets = append(kept, Secret{ID: s.ids.New("csec"), Hash: sha256.Sum256([]byte(secret)), CreatedAt: now})
		a.UpdatedAt = now
		return nil
	})
	if err != nil {
		writeErr(w, r, err)
		return
	}
	s.audit(r.Context(), p, "app.secret_rotated", a.ID, map[string]any{"grace_period_seconds": int(grace / time.Second)})
	s.publish(r.Context(), p.Tenant, "app.secret_rotated", map[string]any{
		"app": appSummary(a, viewApp(a).Status), "previous_secret_expires_at": prevExpiry, "actor": actorOf(p)})
	live := liveSecrets(a, now)
	core.WriteSecretJSON(w, http.StatusCreated, map[string]any{
		"client_id": a.ClientID, "client_secret": secret, "secret": live[len(live)-1], "secrets": live})
}

func (s *Service) listSecrets(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	a, err := s.store.GetApp(r.Context(), p.Tenant, r.PathValue("app_id"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"data": liveSecrets(a, s.clockOf(p.Tenant).Now())})
}

func (s *Service) createServiceToken(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	in := struct {
		Scopes      []string `json:"scopes"`
		TTLSeconds  int      `json:"ttl_seconds"`
		Description string   `json:"description"`
	}{TTLSeconds: 3600}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	a, err := s.store.GetApp(r.Context(), p.Tenant, r.PathValue("app_id"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	// Refuse before minting when the app is already at its limit; the
	// store update below decides for concurrent requests.
	if err := serviceTokenRoom(a.ServiceTokens, s.clockOf(p.Tenant).Now(), s.limits.ServiceTokensPerApp); err != nil {
		writeErr(w, r, err)
		return
	}
	approved := values(a.Scopes, Approved)
	scopes := in.Scopes
	if scopes == nil {
		scopes = approved
	}
	for i, sc := range scopes {
		if !slices.Contains(approved, sc) {
			writeErr(w, r, core.NewProblem(http.StatusBadRequest, "invalid_scope", "Invalid scope",
				"scope "+sc+" is not approved for this app").WithField("/scopes/"+strconv.Itoa(i), "not an approved scope of the app"))
			return
		}
	}
	if len(scopes) == 0 {
		writeErr(w, r, errInvalid("/scopes", "the app has no approved scope to put in a token"))
		return
	}
	if s.tokens == nil {
		writeErr(w, r, core.NewProblem(http.StatusServiceUnavailable, "unavailable", "Token service unavailable", "the token service is not running"))
		return
	}
	ttl := time.Duration(in.TTLSeconds) * time.Second
	token, id, exp, err := s.tokens.MintServiceToken(r.Context(), a.Tenant, a.ID, a.ClientID, scopes, ttl)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	st := ServiceToken{ID: id, Description: in.Description, Scopes: scopes, CreatedAt: s.clockOf(p.Tenant).Now().UTC(), ExpiresAt: exp.UTC()}
	if _, err := s.store.UpdateApp(r.Context(), p.Tenant, a.ID, func(a *App) error {
		tokens, err := addServiceToken(a.ServiceTokens, st, s.clockOf(p.Tenant).Now(), s.limits.ServiceTokensPerApp)
		a.ServiceTokens = tokens
		return err
	}); err != nil {
		_ = s.tokens.RevokeTokenID(r.Context(), id)
		writeErr(w, r, err)
		return
	}
	s.audit(r.Context(), p, "app.service_token_created", a.ID, map[string]any{"token_id": id, "scopes": scopes})
	v := viewServiceToken(st, s.clockOf(p.Tenant).Now())
	v.AccessToken, v.TokenType = token, "Bearer"
	core.WriteSecretJSON(w, http.StatusCreated, v)
}

// active reports whether resource servers still accept t at now.
func (t ServiceToken) active(now time.Time) bool { return !t.Revoked && now.Before(t.ExpiresAt) }

// serviceTokenRoom refuses a new token when limit of an app's tokens are
// active.
func serviceTokenRoom(tokens []ServiceToken, now time.Time, limit int) error {
	active := 0
	for _, t := range tokens {
		if t.active(now) {
			active++
		}
	}
	if active >= limit {
		return ServiceTokensLimitError(limit)
	}
	return nil
}

// addServiceToken appends st to an app's tokens unless limit of them are
// active. The list keeps at most limit records: the oldest revoked or
// expired ones give way, so the history stays bounded while every active
// token stays listed (and revocable).
func addServiceToken(tokens []ServiceToken, st ServiceToken, now time.Time, limit int) ([]ServiceToken, error) {
	if err := serviceTokenRoom(tokens, now, limit); err != nil {
		return tokens, err
	}
	drop := len(tokens) + 1 - limit
	tokens = slices.DeleteFunc(tokens, func(t ServiceToken) bool {
		if drop > 0 && !t.active(now) {
			drop--
			return true
		}
		return false
	})
	return append(tokens, st), nil
}

func (s *Service) listServiceTokens(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	a, err := s.store.GetApp(r.Context(), p.Tenant, r.PathValue("app_id"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	now := s.clockOf(p.Tenant).Now()
	out := make([]serviceTokenView, 0, len(a.ServiceTokens))
	for i := len(a.ServiceTokens) - 1; i >= 0; i-- {
		out = append(out, viewServiceToken(a.ServiceTokens[i], now))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Service) revokeServiceToken(w http.ResponseWriter, r *http.Request) {
	p := core.PrincipalFrom(r.Context())
	id := r.PathValue("token_id")
	already := false
	a, err := s.store.UpdateApp(r.Context(), p.Tenant, r.PathValue("app_id"), func(a *App) error {
		for i := range a.ServiceTokens {
			if a.ServiceTokens[i].ID == id {
				already = a.ServiceTokens[i].Revoked
				a.ServiceTokens[i].Revoked = true
				return nil
			}
		}
		return ErrNotFound
	})
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if already {
		// Revocation is idempotent (as RFC 7009 §2.2 has it for tokens):
		// nothing changes, nothing new is audited.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if s.tokens != nil {
		if err := s.tokens.RevokeTokenID(r.Context(), id); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	s.audit(r.Context(), p, "app.service_token_revoked", a.ID, map[string]any{"token_id": id})
	w.WriteHeader(http.StatusNoContent)
}

// ErrUnknownClient is returned by LookupClient for a client_id that is not
// registered (or whose app was deleted).
var ErrUnknownClient = errors.New("unknown client")

// LookupClient returns the app of clientID.
func (s *Service) LookupClient(ctx context.Context, clientID string) (App, error) {
	a, err := s.store.AppByClientID(ctx, clientID)
	if err != nil {
		return App{}, ErrUnknownClient
	}
	return a, nil
}

// CheckSecret reports whether secret is the current secret of clientID or
// one still inside its rotation grace period. The comparison is constant
// time over SHA-256 digests.
func (s *Service) CheckSecret(ctx context.Context, clientID, secret string) (bool, error) {
	_, ok, err := s.AuthenticateClient(ctx, clientID, secret)
	return ok, err
}

// AuthenticateClient returns the app of clientID, as LookupClient does,
// and whether secret is its current secret or one still inside its
// rotation grace period (CheckSecret), reading the app once.
func (s *Service) AuthenticateClient(ctx context.Context, clientID, secret string) (App, bool, error) {
	a, err := s.store.AppByClientID(ctx, clientID)
	if err != nil {
		return App{}, false, ErrUnknownClient
	}
	return a, s.secretMatches(&a, secret), nil
}

// secretMatches is CheckSecret's comparison, on an app already read.
func (s *Service) secretMatches(a *App, secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	now := s.clockOf(a.Tenant).Now()
	ok := false
	for _, sec := range a.Secrets {
		live := sec.ExpiresAt.IsZero() || now.Before(sec.ExpiresAt)
		if subtle.ConstantTimeCompare(sum[:], sec.Hash[:]) == 1 && live {
			ok = true
		}
	}
	return ok
}

// ApprovedValues lists the values of items that are approved.
func ApprovedValues(items []Item) []string { return values(items, Approved) }
