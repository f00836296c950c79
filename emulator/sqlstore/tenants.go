package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/knogin/argus-sandbox/emulator/tenants"
)

// Record kinds of the tenant registry: a tenant, and one record per token
// digest (id the digest, tenant its owner, status the token's kind), so a
// bearer is found by its digest through the primary key.
const (
	kindTenant      = "tenant"
	kindTenantToken = "tenant_token"
)

// TenantStore is the tenants.Store of a DB. Every change bumps the shared
// version (DB.SharedVersion), so replicas caching tenants reload them.
type TenantStore struct {
	db *DB
}

var _ tenants.Store = (*TenantStore)(nil)

// Tenants returns the tenants.Store of d.
func (d *DB) Tenants() *TenantStore { return &TenantStore{db: d} }

func tenantRow(t tenants.Tenant) row {
	return row{kind: kindTenant, id: t.ID, tenant: t.ID, at: micros(t.CreatedAt), doc: t}
}

// putDigests stores the token records of t.
func putDigests(ctx context.Context, c conn, t tenants.Tenant) error {
	for _, d := range []struct{ digest, kind string }{{t.AdminTokenDigest, tenants.KindAdmin}, {t.ControlTokenDigest, tenants.KindControl}} {
		if d.digest == "" {
			continue
		}
		if _, err := c.insert(ctx, row{kind: kindTenantToken, id: d.digest, tenant: t.ID, status: d.kind, doc: struct{}{}}); err != nil {
			return err
		}
	}
	return nil
}

func dropDigests(ctx context.Context, c conn, id string) error {
	_, err := c.exec(ctx, "DELETE FROM records WHERE kind = ? AND tenant = ?", kindTenantToken, id)
	return err
}

// CreateTenant implements tenants.Store.
func (s *TenantStore) CreateTenant(ctx context.Context, t tenants.Tenant) error {
	return s.db.write(ctx, []string{"tenant:" + t.ID}, func(c conn) error {
		ok, err := c.insert(ctx, tenantRow(t))
		if err != nil {
			return err
		}
		if !ok {
			return tenants.ErrExists
		}
		if err := putDigests(ctx, c, t); err != nil {
			return err
		}
		_, err = c.next(ctx, stateCounter)
		return err
	})
}

// GetTenant implements tenants.Store.
func (s *TenantStore) GetTenant(ctx context.Context, id string) (tenants.Tenant, error) {
	var t tenants.Tenant
	if _, err := s.db.read().get(ctx, &t, kindTenant, "", id); err != nil {
		if errors.Is(err, errNoRecord) {
			return tenants.Tenant{}, tenants.ErrNotFound
		}
		return tenants.Tenant{}, err
	}
	return t, nil
}

// TenantByTokenDigest implements tenants.Store: one query, the digest's
// record joined to its tenant's.
func (s *TenantStore) TenantByTokenDigest(ctx context.Context, digest string) (tenants.Tenant, string, error) {
	if digest == "" {
		return tenants.Tenant{}, "", tenants.ErrNotFound
	}
	var kind, doc string
	err := s.db.read().queryRow(ctx, `SELECT k.status, t.doc FROM records k
		JOIN records t ON t.kind = ? AND t.parent = '' AND t.id = k.tenant
		WHERE k.kind = ? AND k.parent = '' AND k.id = ?`, kindTenant, kindTenantToken, digest).Scan(&kind, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return tenants.Tenant{}, "", tenants.ErrNotFound
	}
	if err != nil {
		return tenants.Tenant{}, "", err
	}
	var t tenants.Tenant
	if err := decode(doc, &t); err != nil {
		return tenants.Tenant{}, "", err
	}
	return t, kind, nil
}

// ListTenants implements tenants.Store: the page after the cursor, by the
// index records_at (kind, at), limit+1 rows (the last tells whether
// another page follows).
func (s *TenantStore) ListTenants(ctx context.Context, after tenants.Cursor, limit int) ([]tenants.Tenant, tenants.Cursor, error) {
	limit = max(limit, 1)
	var (
		page []tenants.Tenant
		err  error
	)
	if after == (tenants.Cursor{}) {
		page, err = list[tenants.Tenant](ctx, s.db.read(), "SELECT doc FROM records WHERE kind = ? ORDER BY at, id LIMIT ?",
			kindTenant, limit+1)
	} else {
		page, err = list[tenants.Tenant](ctx, s.db.read(), `SELECT doc FROM records WHERE kind = ? AND at >= ? AND (at > ? OR id > ?)
			ORDER BY at, id LIMIT ?`, kindTenant, after.At, after.At, after.ID, limit+1)
	}
	if err != nil || len(page) <= limit {
		return page, tenants.Cursor{}, err
	}
	return page[:limit], tenants.CursorOf(page[limit-1]), nil
}

// UpdateTenant implements tenants.Store.
func (s *TenantStore) UpdateTenant(ctx context.Context, id string, fn func(*tenants.Tenant) error) (tenants.Tenant, error) {
	var out tenants.Tenant
	err := s.db.write(ctx, []string{"tenant:" + id}, func(c conn) error {
		var t tenants.Tenant
		if _, err := c.get(ctx, &t, kindTenant, "", id); err != nil {
			if errors.Is(err, errNoRecord) {
				return tenants.ErrNotFound
			}
			return err
		}
		if err := fn(&t); err != nil {
			return err
		}
		t.ID = id
		if err := c.replace(ctx, tenantRow(t)); err != nil {
			return err
		}
		if err := dropDigests(ctx, c, id); err != nil {
			return err
		}
		if err := putDigests(ctx, c, t); err != nil {
			return err
		}
		out = t
		_, err := c.next(ctx, stateCounter)
		return err
	})
	return out, err
}

// DeleteTenant implements tenants.Store.
func (s *TenantStore) DeleteTenant(ctx context.Context, id string) error {
	return s.db.write(ctx, []string{"tenant:" + id}, func(c conn) error {
		ok, err := c.remove(ctx, kindTenant, "", id)
		if err != nil {
			return err
		}
		if !ok {
			return tenants.ErrNotFound
		}
		if err := dropDigests(ctx, c, id); err != nil {
			return err
		}
		_, err = c.next(ctx, stateCounter)
		return err
	})
}
