package graphql

import (
	"context"
	"errors"
	"testing"
	"time"
)

// testStore is the behaviour every Store implementation must have; a
// durable backend passes the same suite.
func testStore(t *testing.T, newStore func() Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seed := []Case{
		{ID: "c1", Tenant: "a", Number: "A-1", Tags: []string{"x"}, Version: 1, CreatedAt: t0},
		{ID: "c2", Tenant: "a", Number: "A-2", Version: 1, CreatedAt: t0.Add(time.Hour), Notes: []Note{{ID: "n1", Body: "b"}}},
		{ID: "c3", Tenant: "b", Number: "B-1", Version: 1, CreatedAt: t0},
	}
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		run     func(s Store) (any, error)
		want    any
		wantErr error
	}{
		{name: "get", run: func(s Store) (any, error) { c, err := s.Case(ctx, "a", "c1"); return c.Number, err }, want: "A-1"},
		{name: "get in another tenant", run: func(s Store) (any, error) { _, err := s.Case(ctx, "b", "c1"); return nil, err }, wantErr: ErrNotFound},
		{name: "list newest first", run: func(s Store) (any, error) {
			cs, err := s.Cases(ctx, "a")
			var ids []string
			for _, c := range cs {
				ids = append(ids, c.ID)
			}
			return ids, err
		}, want: []string{"c2", "c1"}},
		{name: "update", run: func(s Store) (any, error) {
			if _, err := s.Update(ctx, "a", []string{"c1"}, func(cs []*Case) error { cs[0].Title = "t"; cs[0].Version++; return nil }); err != nil {
				return nil, err
			}
			c, err := s.Case(ctx, "a", "c1")
			return []any{c.Title, c.Version}, err
		}, want: []any{"t", 2}},
		{name: "update is all or nothing", run: func(s Store) (any, error) {
			_, err := s.Update(ctx, "a", []string{"c1", "c2"}, func(cs []*Case) error { cs[0].Title = "t"; return errBoom })
			c, _ := s.Case(ctx, "a", "c1")
			return c.Title, err
		}, want: "", wantErr: errBoom},
		{name: "update with a missing id changes nothing", run: func(s Store) (any, error) {
			called := false
			_, err := s.Update(ctx, "a", []string{"c1", "c3"}, func(cs []*Case) error { called = true; return nil })
			return called, err
		}, want: false, wantErr: ErrNotFound},
		{name: "returned copies are not shared", run: func(s Store) (any, error) {
			c, _ := s.Case(ctx, "a", "c2")
			c.Tags = append(c.Tags, "mutated")
			c.Notes[0].Body = "mutated"
			again, err := s.Case(ctx, "a", "c2")
			return []any{len(again.Tags), again.Notes[0].Body}, err
		}, want: []any{0, "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore()
			if err := s.Reset(ctx, seed); err != nil {
				t.Fatal(err)
			}
			got, err := tt.run(s)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			diff(t, tt.want, got)
		})
	}
}

func TestMemoryStore(t *testing.T) {
	testStore(t, func() Store { return NewMemoryStore() })
}
