package core

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrLimitReached is matched (errors.Is) by every *LimitError: a store
// refused a write that would take a tenant past one of its documented
// limits.
var ErrLimitReached = errors.New("limit reached")

// LimitError is a store's refusal of a write past a limit. Stores decide it
// inside the write (under their lock or in their update closure), so
// concurrent writers cannot all slip under the limit; surfaces render it
// with Problem.
type LimitError struct {
	// Limit names what is bounded the way the README's limits table does,
	// e.g. "apps per tenant".
	Limit string
	// Max is the limit's value.
	Max int
	// Hint tells the caller how to make room, e.g. "delete an app first".
	Hint string
}

// Error names the limit and its value.
func (e *LimitError) Error() string {
	msg := fmt.Sprintf("the limit of %d %s is reached", e.Max, e.Limit)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Is makes errors.Is(err, ErrLimitReached) hold.
func (e *LimitError) Is(target error) bool { return target == ErrLimitReached }

// Problem is the REST answer to e: 409 limit_reached, the detail naming the
// limit and its value.
func (e *LimitError) Problem() *Problem {
	return NewProblem(http.StatusConflict, "limit_reached", "Limit reached", e.Error())
}
