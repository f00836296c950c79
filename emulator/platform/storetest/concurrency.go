package storetest

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/internal/racetest"
)

// writers is how many goroutines race in each concurrent case.
const writers = racetest.Writers

var errDecided = errors.New("already decided")

// runConcurrency races creations and read-modify-write updates: one
// creation of a key wins, no update is lost, and a decision taken inside
// an update is taken once.
func runConcurrency(t *testing.T, s platform.Store, app platform.App) {
	ctx := context.Background()
	var created atomic.Int32
	racetest.Run(writers, func(i int) {
		a := app
		a.ClientID = "cli_" + strconv.Itoa(i)
		switch err := s.CreateApp(ctx, a); {
		case err == nil:
			created.Add(1)
		case !errors.Is(err, platform.ErrConflict):
			t.Error(err)
		}
	})
	if n := created.Load(); n != 1 {
		t.Fatalf("%d creations of one app succeeded, want 1", n)
	}

	racetest.Run(2*writers, func(i int) {
		if i%2 == 1 {
			if _, err := s.GetApp(ctx, app.Tenant, app.ID); err != nil {
				t.Error(err)
			}
			return
		}
		if _, err := s.UpdateApp(ctx, app.Tenant, app.ID, func(a *platform.App) error {
			a.Secrets = append(a.Secrets, platform.Secret{ID: "sec_" + strconv.Itoa(i)})
			return nil
		}); err != nil {
			t.Error(err)
		}
	})
	if got, _ := s.GetApp(ctx, app.Tenant, app.ID); len(got.Secrets) != len(app.Secrets)+writers {
		t.Errorf("%d secrets after %d concurrent additions: updates were lost", len(got.Secrets), writers)
	}

	_ = s.CreateAccessRequest(ctx, platform.AccessRequest{ID: "areq_race", Tenant: app.Tenant, Status: platform.RequestSubmitted})
	var decided atomic.Int32
	racetest.Run(writers, func(i int) {
		_, err := s.UpdateAccessRequest(ctx, "areq_race", func(r *platform.AccessRequest) error {
			if r.Status != platform.RequestSubmitted {
				return errDecided
			}
			r.Status, r.DecisionReason = platform.RequestApproved, strconv.Itoa(i)
			return nil
		})
		switch {
		case err == nil:
			decided.Add(1)
		case !errors.Is(err, errDecided):
			t.Error(err)
		}
	})
	if n := decided.Load(); n != 1 {
		t.Errorf("an access request was decided %d times, want once", n)
	}
}
