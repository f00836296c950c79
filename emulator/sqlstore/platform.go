package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/platform"
)

// PlatformStore is the platform.Store of a DB.
type PlatformStore struct {
	db     *DB
	limits platform.Limits
}

var _ platform.Store = (*PlatformStore)(nil)

// Platform returns the platform.Store of d enforcing limits (zero fields:
// the defaults).
func (d *DB) Platform(limits platform.Limits) *PlatformStore {
	return &PlatformStore{db: d, limits: limits.WithDefaults()}
}

// Limits reports the limits the store enforces.
func (s *PlatformStore) Limits() platform.Limits { return s.limits }

func platformErr(err error) error {
	if errors.Is(err, errNoRecord) {
		return platform.ErrNotFound
	}
	return err
}

// exists reports whether a record of kind has id, or alt when alt is set.
func (c conn) exists(ctx context.Context, kind, parent, id, alt string) (bool, error) {
	var n int
	err := c.queryRow(ctx, `SELECT COUNT(*) FROM records WHERE kind = ? AND ((parent = ? AND id = ?) OR (? <> '' AND alt = ?))`,
		kind, parent, id, alt, alt).Scan(&n)
	return n > 0, err
}

// CreateApp stores a new app; the tenant's count is checked under the
// tenant's app lock, inside the insert's transaction.
func (s *PlatformStore) CreateApp(ctx context.Context, a platform.App) error {
	return s.db.write(ctx, []string{"app:" + a.Tenant}, func(c conn) error {
		if dup, err := c.exists(ctx, kindApp, "", a.ID, a.ClientID); err != nil || dup {
			return errors.Join(err, conflictUnless(err, platform.ErrConflict))
		}
		n, err := c.count(ctx, kindApp, a.Tenant)
		if err != nil {
			return err
		}
		if n >= s.limits.AppsPerTenant {
			return &core.LimitError{Limit: "apps per tenant", Max: s.limits.AppsPerTenant, Hint: "delete an app first"}
		}
		if err := s.limits.CheckApp(&a); err != nil {
			return err
		}
		seq, err := c.next(ctx, "app:"+a.Tenant)
		if err != nil {
			return err
		}
		ok, err := c.insert(ctx, row{kind: kindApp, id: a.ID, tenant: a.Tenant, alt: nullable(a.ClientID), seq: seq, doc: a})
		if err == nil && !ok {
			err = platform.ErrConflict
		}
		return err
	})
}

// conflictUnless is conflict when err is nil: the helper of a duplicate
// check that may itself fail.
func conflictUnless(err, conflict error) error {
	if err != nil {
		return nil
	}
	return conflict
}

// GetApp returns the app id of tenant.
func (s *PlatformStore) GetApp(ctx context.Context, tenant, id string) (platform.App, error) {
	return s.db.cachedApp(ctx, appIDKey(tenant, id), "SELECT doc FROM records WHERE kind = ? AND parent = '' AND id = ? AND tenant = ?", kindApp, id, tenant)
}

// AppByClientID returns the app with clientID in any tenant.
func (s *PlatformStore) AppByClientID(ctx context.Context, clientID string) (platform.App, error) {
	return s.db.cachedApp(ctx, clientIDKey(clientID), "SELECT doc FROM records WHERE kind = ? AND alt = ?", kindApp, clientID)
}

// ListApps returns a page of tenant's apps in creation order; an app's
// position is its seq.
func (s *PlatformStore) ListApps(ctx context.Context, tenant string, after, limit int) ([]platform.App, int, error) {
	return seqPage[platform.App](ctx, s.db.read(), kindApp, tenant, after, limit, nil)
}

// UpdateApp applies fn to the stored app in one transaction holding its
// row; fn's error or a result past the limits leaves it unchanged.
func (s *PlatformStore) UpdateApp(ctx context.Context, tenant, id string, fn func(*platform.App) error) (platform.App, error) {
	var out platform.App
	err := s.db.authWrite(ctx, []string{"app:" + tenant}, func(c conn) error {
		var a platform.App
		if err := c.getTenant(ctx, &a, kindApp, "", tenant, id); err != nil {
			return platformErr(err)
		}
		key := a
		if err := fn(&a); err != nil {
			return err
		}
		if err := s.limits.CheckApp(&a); err != nil {
			return err
		}
		a.ID, a.ClientID, a.Tenant = key.ID, key.ClientID, key.Tenant
		out = a
		return c.replace(ctx, row{kind: kindApp, id: id, doc: a})
	})
	if err != nil {
		return platform.App{}, err
	}
	return out, nil
}

// DeleteApp removes the app and returns it.
func (s *PlatformStore) DeleteApp(ctx context.Context, tenant, id string) (platform.App, error) {
	var a platform.App
	err := s.db.authWrite(ctx, []string{"app:" + tenant}, func(c conn) error {
		if err := c.getTenant(ctx, &a, kindApp, "", tenant, id); err != nil {
			return platformErr(err)
		}
		_, err := c.remove(ctx, kindApp, "", id)
		return err
	})
	if err != nil {
		return platform.App{}, err
	}
	return a, nil
}

// AppendAudit assigns e the next position of its tenant's trail, stores
// it, and drops what falls out of the retention, in one transaction.
func (s *PlatformStore) AppendAudit(ctx context.Context, e platform.AuditEvent) error {
	return s.db.write(ctx, []string{"audit:" + e.Tenant}, func(c conn) error {
		seq, err := c.next(ctx, "audit:"+e.Tenant)
		if err != nil {
			return err
		}
		e.Seq = int(seq)
		if _, err := c.insert(ctx, row{kind: kindAudit, parent: e.Tenant, id: strconv.FormatInt(seq, 10),
			tenant: e.Tenant, seq: seq, doc: e}); err != nil {
			return err
		}
		_, err = c.exec(ctx, "DELETE FROM records WHERE kind = ? AND tenant = ? AND seq <= ?",
			kindAudit, e.Tenant, seq-int64(s.limits.AuditEventsPerTenant))
		return err
	})
}

// ListAudit returns a page of the tenant's trail, oldest first. A target
// is matched on the decoded events, so a page filtered by one reads at
// most the trail's retention.
func (s *PlatformStore) ListAudit(ctx context.Context, tenant string, q platform.AuditQuery) ([]platform.AuditEvent, int, error) {
	var match func(*platform.AuditEvent) bool
	if q.Target != "" {
		match = q.Match
	}
	return seqPage(ctx, s.db.read(), kindAudit, tenant, q.After, q.Limit, match)
}

// CreateAccessRequest stores r, refusing past the tenant's limit.
func (s *PlatformStore) CreateAccessRequest(ctx context.Context, r platform.AccessRequest) error {
	return s.db.write(ctx, []string{"access_request:" + r.Tenant}, func(c conn) error {
		if dup, err := c.exists(ctx, kindRequest, "", r.ID, ""); err != nil || dup {
			return errors.Join(err, conflictUnless(err, platform.ErrConflict))
		}
		n, err := c.count(ctx, kindRequest, r.Tenant)
		if err != nil {
			return err
		}
		if n >= s.limits.AccessRequestsPerTenant {
			return &core.LimitError{Limit: "access requests per tenant", Max: s.limits.AccessRequestsPerTenant,
				Hint: "requests are kept until POST /_sandbox/reset"}
		}
		seq, err := c.next(ctx, "access_request:"+r.Tenant)
		if err != nil {
			return err
		}
		ok, err := c.insert(ctx, row{kind: kindRequest, id: r.ID, tenant: r.Tenant, seq: seq, doc: r})
		if err == nil && !ok {
			err = platform.ErrConflict
		}
		return err
	})
}

// GetAccessRequest returns tenant's request id.
func (s *PlatformStore) GetAccessRequest(ctx context.Context, tenant, id string) (platform.AccessRequest, error) {
	var r platform.AccessRequest
	err := s.db.read().getTenant(ctx, &r, kindRequest, "", tenant, id)
	return r, platformErr(err)
}

// AccessRequestByID returns request id of any tenant.
func (s *PlatformStore) AccessRequestByID(ctx context.Context, id string) (platform.AccessRequest, error) {
	var r platform.AccessRequest
	_, err := s.db.read().get(ctx, &r, kindRequest, "", id)
	return r, platformErr(err)
}

// ListAccessRequests returns tenant's requests, oldest first.
func (s *PlatformStore) ListAccessRequests(ctx context.Context, tenant string) ([]platform.AccessRequest, error) {
	return list[platform.AccessRequest](ctx, s.db.read(), "SELECT doc FROM records WHERE kind = ? AND tenant = ? ORDER BY seq", kindRequest, tenant)
}

// UpdateAccessRequest applies fn to the request in one transaction
// holding its row.
func (s *PlatformStore) UpdateAccessRequest(ctx context.Context, id string, fn func(*platform.AccessRequest) error) (platform.AccessRequest, error) {
	var out platform.AccessRequest
	err := s.db.write(ctx, nil, func(c conn) error {
		var r platform.AccessRequest
		if _, err := c.get(ctx, &r, kindRequest, "", id); err != nil {
			return platformErr(err)
		}
		key := r
		if err := fn(&r); err != nil {
			return err
		}
		r.ID, r.Tenant = key.ID, key.Tenant
		out = r
		return c.replace(ctx, row{kind: kindRequest, id: id, doc: r})
	})
	if err != nil {
		return platform.AccessRequest{}, err
	}
	return out, nil
}

// CreateEnvironment stores e, refusing past the tenant's limit.
func (s *PlatformStore) CreateEnvironment(ctx context.Context, e platform.Environment) error {
	return s.db.write(ctx, []string{"environment:" + e.Tenant}, func(c conn) error {
		n, err := c.count(ctx, kindEnvironment, e.Tenant)
		if err != nil {
			return err
		}
		if dup, err := c.exists(ctx, kindEnvironment, e.Tenant, e.ID, ""); err != nil || dup {
			return errors.Join(err, conflictUnless(err, platform.ErrConflict))
		}
		if n >= s.limits.EnvironmentsPerTenant {
			return &core.LimitError{Limit: "environments per tenant", Max: s.limits.EnvironmentsPerTenant,
				Hint: "environments are kept until POST /_sandbox/reset"}
		}
		seq, err := c.next(ctx, "environment:"+e.Tenant)
		if err != nil {
			return err
		}
		_, err = c.insert(ctx, row{kind: kindEnvironment, parent: e.Tenant, id: e.ID, tenant: e.Tenant, seq: seq, doc: e})
		return err
	})
}

// GetEnvironment returns tenant's environment id.
func (s *PlatformStore) GetEnvironment(ctx context.Context, tenant, id string) (platform.Environment, error) {
	var e platform.Environment
	err := s.db.read().getTenant(ctx, &e, kindEnvironment, tenant, tenant, id)
	return e, platformErr(err)
}

// ListEnvironments returns tenant's environments, oldest first.
func (s *PlatformStore) ListEnvironments(ctx context.Context, tenant string) ([]platform.Environment, error) {
	return list[platform.Environment](ctx, s.db.read(), "SELECT doc FROM records WHERE kind = ? AND tenant = ? ORDER BY seq", kindEnvironment, tenant)
}

// Reset removes everything the store keeps, or all but the apps when
// keepApps; audit positions start again at 1.
func (s *PlatformStore) Reset(ctx context.Context, keepApps bool) error {
	return s.db.authWrite(ctx, nil, func(c conn) error {
		kinds := []string{kindAudit, kindRequest, kindEnvironment}
		if !keepApps {
			kinds = append(kinds, kindApp)
		}
		for _, k := range kinds {
			if _, err := c.exec(ctx, "DELETE FROM records WHERE kind = ?", k); err != nil {
				return err
			}
		}
		_, err := c.exec(ctx, "DELETE FROM counters WHERE name LIKE 'audit:%'")
		return err
	})
}

func nullable(s string) (n sql.NullString) {
	if s == "" {
		return n
	}
	return sql.NullString{String: s, Valid: true}
}

// DeleteTenant removes the tenant's records (but its apps when keepApps)
// and restarts its audit numbering, as the memory store does.
func (s *PlatformStore) DeleteTenant(ctx context.Context, tenant string, keepApps bool) error {
	return s.db.authWrite(ctx, []string{"app:" + tenant}, func(c conn) error {
		kinds := []string{kindAudit, kindRequest, kindEnvironment}
		if !keepApps {
			kinds = append(kinds, kindApp)
		}
		for _, k := range kinds {
			if _, err := c.exec(ctx, "DELETE FROM records WHERE kind = ? AND tenant = ?", k, tenant); err != nil {
				return err
			}
		}
		_, err := c.exec(ctx, "DELETE FROM counters WHERE name = ?", "audit:"+tenant)
		return err
	})
}
