package core

import (
	"errors"
	"fmt"
	"testing"
)

func TestLimitError(t *testing.T) {
	err := fmt.Errorf("create app: %w", &LimitError{Limit: "apps per tenant", Max: 500, Hint: "delete an app first"})
	if !errors.Is(err, ErrLimitReached) {
		t.Error("a wrapped LimitError does not match ErrLimitReached")
	}
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatal("errors.As finds no LimitError")
	}
	p := le.Problem()
	if p.Status != 409 || p.Code != "limit_reached" || p.Detail != "the limit of 500 apps per tenant is reached; delete an app first" {
		t.Errorf("problem = %d %s %q", p.Status, p.Code, p.Detail)
	}
}
