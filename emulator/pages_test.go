package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
)

// TestTenantPagesFollowTheirCursor pages through GET /_sandbox/tenants on
// the memory and SQLite stores: a tenant deleted between two pages shifts
// no other (an offset cursor would skip one), and a garbled cursor is the
// documented 400 naming query.cursor.
func TestTenantPagesFollowTheirCursor(t *testing.T) {
	for _, store := range []string{"memory", "sqlite"} {
		t.Run(store, func(t *testing.T) {
			cfg := emulator.Config{OperatorToken: "operator-secret", Loopback: true}
			if store == "sqlite" {
				cfg.DataDir = t.TempDir()
			}
			env := newSandboxConfig(t, cfg)
			ctx := context.Background()
			op := client.New(env.url, client.WithOperatorToken("operator-secret"))
			var all []string
			for cursor := ""; ; {
				page, err := op.Sandbox().Tenants(ctx, client.ListOptions{Limit: 100, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range page.Data {
					all = append(all, x.ID)
				}
				if page.NextCursor == nil {
					break
				}
				cursor = *page.NextCursor
			}
			for i := range 5 {
				id := fmt.Sprintf("paged-%d", i)
				if _, err := op.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: id, Name: id}); err != nil {
					t.Fatal(err)
				}
				all = append(all, id)
			}
			n := len(all) - 3 // the page ends at paged-1
			first, err := op.Sandbox().Tenants(ctx, client.ListOptions{Limit: n})
			if err != nil || len(first.Data) != n || first.Data[n-1].ID != "paged-1" || first.NextCursor == nil {
				t.Fatalf("first page: %+v, %v", first, err)
			}
			for _, id := range []string{"paged-1", "paged-2"} {
				if err := op.Sandbox().DeleteTenant(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			rest, err := op.Sandbox().Tenants(ctx, client.ListOptions{Limit: 5, Cursor: *first.NextCursor})
			var ids []string
			for _, x := range rest.Data {
				ids = append(ids, x.ID)
			}
			if err != nil || !slices.Equal(ids, []string{"paged-3", "paged-4"}) || rest.NextCursor != nil {
				t.Errorf("page after deletes = %v (next %v), %v; want paged-3, paged-4, the last page", ids, rest.NextCursor, err)
			}
			// Not base64; too short for a time and an id; an id not UTF-8.
			for _, bad := range []string{"!!", "AAAA", "AAAAAAAAAAA", "AAAAAAAAAAD_"} {
				_, err := op.Sandbox().Tenants(ctx, client.ListOptions{Cursor: bad})
				var ce *client.Error
				if !errors.As(err, &ce) || ce.Status != 400 || ce.Code != "invalid_request" || len(ce.Errors) == 0 || ce.Errors[0].Field != "query.cursor" {
					t.Errorf("cursor %q: %v, want 400 invalid_request naming query.cursor", bad, err)
				}
			}
		})
	}
}
