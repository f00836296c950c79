package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/platform"
)

// extra is how many writes past a limit the concurrent checks send.
const extra = 70

// runLimits checks that a store enforces its Limits inside its writes:
// concurrent writers past a limit store exactly the limit and the rest
// get a *core.LimitError naming it; tenants and apps count separately;
// the audit trail keeps the newest events with positions that keep
// counting.
func runLimits(t *testing.T, newStore func(*testing.T, platform.Limits) platform.Store) {
	ctx := context.Background()
	small := platform.Limits{AppsPerTenant: 3, SecretsPerApp: 2, ServiceTokensPerApp: 2, AccessRequestsPerTenant: 2, AuditEventsPerTenant: 4, EnvironmentsPerTenant: 2}

	t.Run("defaults", func(t *testing.T) {
		want := platform.Limits{AppsPerTenant: platform.DefaultAppsPerTenant, SecretsPerApp: platform.DefaultSecretsPerApp,
			ServiceTokensPerApp: platform.DefaultServiceTokensPerApp, AccessRequestsPerTenant: platform.DefaultAccessRequestsPerTenant,
			AuditEventsPerTenant: platform.DefaultAuditEventsPerTenant, EnvironmentsPerTenant: platform.DefaultEnvironmentsPerTenant}
		if got := newStore(t, platform.Limits{}).Limits(); got != want {
			t.Errorf("Limits() = %+v, want the defaults %+v", got, want)
		}
		if got := newStore(t, small).Limits(); got != small {
			t.Errorf("Limits() = %+v, want %+v", got, small)
		}
	})

	t.Run("environments per tenant", func(t *testing.T) {
		s := newStore(t, small)
		errs := parallel(small.EnvironmentsPerTenant+extra, func(i int) error {
			return s.CreateEnvironment(ctx, platform.Environment{ID: fmt.Sprint("env_", i), Tenant: "acme"})
		})
		checkRefusals(t, errs, small.EnvironmentsPerTenant, "environments per tenant")
		if list, _ := s.ListEnvironments(ctx, "acme"); len(list) != small.EnvironmentsPerTenant {
			t.Errorf("%d environments stored, want %d", len(list), small.EnvironmentsPerTenant)
		}
		if err := s.CreateEnvironment(ctx, platform.Environment{ID: "env_globex", Tenant: "globex"}); err != nil {
			t.Errorf("another tenant refused: %v", err)
		}
		if _, err := s.GetEnvironment(ctx, "acme", "env_globex"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("another tenant's environment = %v, want ErrNotFound", err)
		}
		_ = s.Reset(ctx, true)
		if err := s.CreateEnvironment(ctx, platform.Environment{ID: "env_new", Tenant: "acme"}); err != nil {
			t.Errorf("create after Reset: %v", err)
		}
	})

	t.Run("apps per tenant", func(t *testing.T) {
		s := newStore(t, small)
		errs := parallel(small.AppsPerTenant+extra, func(i int) error {
			return s.CreateApp(ctx, platform.App{ID: fmt.Sprint("app_", i), ClientID: fmt.Sprint("cli_", i), Tenant: "acme"})
		})
		checkRefusals(t, errs, small.AppsPerTenant, "apps per tenant")
		if list, _ := allApps(ctx, s, "acme"); len(list) != small.AppsPerTenant {
			t.Errorf("%d apps stored, want %d", len(list), small.AppsPerTenant)
		}
		if err := s.CreateApp(ctx, platform.App{ID: "app_globex", ClientID: "cli_globex", Tenant: "globex"}); err != nil {
			t.Errorf("another tenant refused: %v", err)
		}
		list, _ := allApps(ctx, s, "acme")
		if _, err := s.DeleteApp(ctx, "acme", list[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateApp(ctx, platform.App{ID: "app_again", ClientID: "cli_again", Tenant: "acme"}); err != nil {
			t.Errorf("create after a delete: %v", err)
		}
		if err := s.CreateApp(ctx, platform.App{ID: "app_past", ClientID: "cli_past", Tenant: "acme"}); !errors.Is(err, platform.ErrLimitReached) {
			t.Errorf("create past the limit = %v, want ErrLimitReached", err)
		}
		_ = s.Reset(ctx, true)
		if err := s.CreateApp(ctx, platform.App{ID: "app_kept", ClientID: "cli_kept", Tenant: "acme"}); !errors.Is(err, platform.ErrLimitReached) {
			t.Errorf("Clear(keepApps) forgot the apps it kept: create = %v", err)
		}
		_ = s.Reset(ctx, false)
		if err := s.CreateApp(ctx, platform.App{ID: "app_new", ClientID: "cli_new", Tenant: "acme"}); err != nil {
			t.Errorf("create after Clear: %v", err)
		}
	})

	t.Run("secrets and service tokens per app", func(t *testing.T) {
		s := newStore(t, small)
		if err := s.CreateApp(ctx, platform.App{ID: "app_1", ClientID: "cli_1", Tenant: "acme"}); err != nil {
			t.Fatal(err)
		}
		errs := parallel(small.SecretsPerApp+extra, func(i int) error {
			_, err := s.UpdateApp(ctx, "acme", "app_1", func(a *platform.App) error {
				a.Secrets = append(a.Secrets, platform.Secret{ID: fmt.Sprint("csec_", i)})
				return nil
			})
			return err
		})
		checkRefusals(t, errs, small.SecretsPerApp, "live client secrets per app")
		errs = parallel(small.ServiceTokensPerApp+extra, func(i int) error {
			_, err := s.UpdateApp(ctx, "acme", "app_1", func(a *platform.App) error {
				a.ServiceTokens = append(a.ServiceTokens, platform.ServiceToken{ID: fmt.Sprint("stk_", i)})
				return nil
			})
			return err
		})
		checkRefusals(t, errs, small.ServiceTokensPerApp, "active service tokens per app")
		a, _ := s.GetApp(ctx, "acme", "app_1")
		if len(a.Secrets) != small.SecretsPerApp || len(a.ServiceTokens) != small.ServiceTokensPerApp {
			t.Errorf("app keeps %d secrets and %d service tokens, want %d and %d",
				len(a.Secrets), len(a.ServiceTokens), small.SecretsPerApp, small.ServiceTokensPerApp)
		}
		a.ID, a.ClientID = "app_2", "cli_2"
		a.Secrets = append(a.Secrets, platform.Secret{ID: "csec_one_too_many"})
		if err := s.CreateApp(ctx, a); !errors.Is(err, platform.ErrLimitReached) {
			t.Errorf("creating an app with too many secrets = %v, want ErrLimitReached", err)
		}
	})

	t.Run("access requests per tenant", func(t *testing.T) {
		s := newStore(t, small)
		errs := parallel(small.AccessRequestsPerTenant+extra, func(i int) error {
			return s.CreateAccessRequest(ctx, platform.AccessRequest{ID: fmt.Sprint("areq_", i), Tenant: "acme", Status: platform.RequestSubmitted})
		})
		checkRefusals(t, errs, small.AccessRequestsPerTenant, "access requests per tenant")
		if list, _ := s.ListAccessRequests(ctx, "acme"); len(list) != small.AccessRequestsPerTenant {
			t.Errorf("%d access requests stored, want %d", len(list), small.AccessRequestsPerTenant)
		}
		if err := s.CreateAccessRequest(ctx, platform.AccessRequest{ID: "areq_globex", Tenant: "globex"}); err != nil {
			t.Errorf("another tenant refused: %v", err)
		}
		_ = s.Reset(ctx, true)
		if err := s.CreateAccessRequest(ctx, platform.AccessRequest{ID: "areq_after_clear", Tenant: "acme"}); err != nil {
			t.Errorf("create after Clear: %v", err)
		}
	})

	t.Run("audit retention", func(t *testing.T) {
		s := newStore(t, small)
		const n = 11
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		for i := 1; i <= n; i++ {
			_ = s.AppendAudit(ctx, platform.AuditEvent{ID: fmt.Sprint("aud_", i), Tenant: "acme", OccurredAt: now})
			if i <= 2 {
				_ = s.AppendAudit(ctx, platform.AuditEvent{ID: fmt.Sprint("aud_globex_", i), Tenant: "globex"})
			}
			list, _ := allAudit(ctx, s, "acme")
			want := min(i, small.AuditEventsPerTenant)
			if len(list) != want {
				t.Fatalf("after %d appends the trail keeps %d events, want %d", i, len(list), want)
			}
			// The newest events, oldest first, each with its position.
			for k, e := range list {
				seq := i - want + 1 + k
				if e.ID != fmt.Sprint("aud_", seq) || e.Seq != seq {
					t.Fatalf("after %d appends event %d is %s (seq %d), want aud_%d (seq %d)", i, k, e.ID, e.Seq, seq, seq)
				}
			}
		}
		if list, _ := allAudit(ctx, s, "globex"); len(list) != 2 || list[1].Seq != 2 {
			t.Errorf("globex trail = %+v, want its own 2 events", list)
		}
		_ = s.Reset(ctx, true)
		_ = s.AppendAudit(ctx, platform.AuditEvent{ID: "aud_after_clear", Tenant: "acme"})
		if list, _ := allAudit(ctx, s, "acme"); len(list) != 1 || list[0].Seq != 1 {
			t.Errorf("trail after Clear = %+v, want one event at position 1", list)
		}
	})
}

// parallel runs n writes at once and returns their errors.
func parallel(n int, write func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = write(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// checkRefusals wants exactly limit successes and every other write
// refused with a LimitError naming the limit.
func checkRefusals(t *testing.T, errs []error, limit int, name string) {
	t.Helper()
	ok := 0
	for _, err := range errs {
		var le *core.LimitError
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, platform.ErrLimitReached) || !errors.As(err, &le) || le.Limit != name || le.Max != limit:
			t.Errorf("refusal = %v, want a LimitError of %d %s", err, limit, name)
			return
		}
	}
	if ok != limit {
		t.Errorf("%d of %d writes succeeded, want exactly the limit of %d %s", ok, len(errs), limit, name)
	}
}
