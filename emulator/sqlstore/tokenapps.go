package sqlstore

import (
	"context"

	"github.com/knogin/argus-sandbox/emulator/platform"
)

// AccessActiveApp is AccessActive(jti, recorded) and AppByClientID(clientID)
// in one statement: the access token's record with its grant's, and the
// app, each joined to one row that always exists. It is what a bearer
// token costs a request: active is false for a revoked token (app is then
// not read), and an active token whose app is gone is
// platform.ErrNotFound. An active token's answer is remembered (authCache)
// until a write that could change it: a request presenting it again then
// costs no statement.
func (s *OAuthStore) AccessActiveApp(ctx context.Context, jti string, recorded bool, clientID string) (active bool, app platform.App, err error) {
	key := tokenKey(jti, recorded, clientID)
	if a, ok := s.db.lookup(key); ok {
		return true, a, nil
	}
	gen := s.db.auth.gen()
	active, app, err = s.accessActiveApp(ctx, jti, recorded, clientID)
	if err == nil && active {
		s.db.auth.put(key, gen, &app)
	}
	return active, app, err
}

func (s *OAuthStore) accessActiveApp(ctx context.Context, jti string, recorded bool, clientID string) (active bool, app platform.App, err error) {
	var status, grantID, grantStatus, doc *string
	err = s.db.read().queryRow(ctx, `SELECT a.status, a.k1, g.status, p.doc FROM (SELECT 1 AS one) o
		LEFT JOIN records a ON a.kind = ? AND a.parent = '' AND a.id = ?
		LEFT JOIN records g ON g.kind = ? AND g.parent = '' AND g.id = a.k1
		LEFT JOIN records p ON p.kind = ? AND p.alt = ?`,
		kindAccess, jti, kindGrant, kindApp, clientID).Scan(&status, &grantID, &grantStatus, &doc)
	if err != nil {
		return false, platform.App{}, err
	}
	switch {
	case status == nil:
		active = !recorded
	case *status == revoked:
		active = false
	case grantID != nil && *grantID != "" && (grantStatus == nil || *grantStatus == revoked):
		active = false
	default:
		active = true
	}
	if !active {
		return false, platform.App{}, nil
	}
	if doc == nil {
		return true, platform.App{}, platform.ErrNotFound
	}
	app, err = s.db.apps.decode(*doc)
	return true, app, err
}
