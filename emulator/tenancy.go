package emulator

import (
	"context"
	"errors"

	"github.com/knogin/argus-sandbox/emulator/control"
)

// tenantData removes and resets one tenant's data across the surfaces for
// the control plane (DELETE /_sandbox/tenants/{id}, a tenant's reset).
type tenantData struct{ sb *Sandbox }

var _ control.TenantData = tenantData{}

// DeleteTenant removes everything the tenant holds. The registry has
// forgotten the tenant first, so its tokens no longer authenticate; its
// apps go, so the access tokens they were issued stop verifying at once.
func (d tenantData) DeleteTenant(ctx context.Context, tenant string) error {
	sb := d.sb
	err := errors.Join(
		sb.webhooks.DeleteTenant(ctx, tenant),
		sb.platform.DeleteTenant(ctx, tenant, false),
		sb.oauth.DeleteTenant(ctx, tenant),
		sb.graphql.DeleteTenant(ctx, tenant),
	)
	if sb.replicas != nil {
		err = errors.Join(err, sb.replicas.forget(ctx, tenant))
	}
	err = errors.Join(err, sb.idem.ResetTenant(ctx, tenant))
	return errors.Join(err, sb.journal.Clear(ctx, tenant))
}

// ResetTenant returns the tenant's data to its initial state: no
// webhooks, deliveries, audit trail or access requests, the fixture cases
// (none for a tenant created at run time), and no apps or grants unless
// keepApps.
func (d tenantData) ResetTenant(ctx context.Context, tenant string, keepApps bool) error {
	sb := d.sb
	errs := []error{
		sb.webhooks.DeleteTenant(ctx, tenant),
		sb.platform.DeleteTenant(ctx, tenant, keepApps),
		sb.graphql.ResetTenant(ctx, tenant, d.template(ctx, tenant)),
	}
	if !keepApps {
		errs = append(errs, sb.oauth.DeleteTenant(ctx, tenant))
	}
	errs = append(errs, sb.idem.ResetTenant(ctx, tenant))
	return errors.Join(errs...)
}

// template is the fixture tenant a tenant was created as a copy of.
func (d tenantData) template(ctx context.Context, tenant string) string {
	t, err := d.sb.tenants.Get(ctx, tenant)
	if err != nil {
		return ""
	}
	return t.Template
}
