package graphql

import (
	"net/http"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/vektah/gqlparser/v2/ast"
)

// Error codes of the Idempotency-Key layer, which refuses through the
// API's error writer (writeRequestError).
const (
	CodeIdempotencyKeyReused     = "IDEMPOTENCY_KEY_REUSED"
	CodeIdempotencyKeyInProgress = "IDEMPOTENCY_KEY_IN_PROGRESS"
)

// Mutates reports whether a POST /v1/graphql body runs a mutation: only
// mutations honour an Idempotency-Key (a query changes nothing, so it is
// never replayed). A body that selects no valid operation is not a
// mutation: it fails the same way however often it is sent. body is the
// request the router has read; the parsed document comes from the same
// cache the request then uses.
func (s *Service) Mutates(r *http.Request, body []byte) bool {
	var req gqlRequest
	if decodeRequest(body, &req) != nil {
		return false
	}
	p := core.PrincipalFrom(r.Context())
	if p == nil {
		return false
	}
	_, prep, _, refused := s.document(r.Context(), p, &req)
	if refused != nil || prep == nil || prep.doc == nil || len(prep.errors) > 0 {
		return false
	}
	op, gerr := selectOperation(prep.doc, req.OperationName)
	return gerr == nil && op.Operation == ast.Mutation
}
