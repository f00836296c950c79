package graphql

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/vektah/gqlparser/v2/ast"
)

// gqlRequest is the GraphQL-over-HTTP request body (§5.1 of the GraphQL over
// HTTP draft); the router has validated its shape against the OpenAPI spec.
type gqlRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
	Extensions    struct {
		PersistedQuery *persistedQuery `json:"persistedQuery"`
		OperationID    string          `json:"operationId"`
	} `json:"extensions"`
}

// persistedQuery is the automatic-persisted-queries extension
// {"version": 1, "sha256Hash": "<hex>"}.
type persistedQuery struct {
	Version    int    `json:"version"`
	SHA256Hash string `json:"sha256Hash"`
}

// serveHTTP handles POST /v1/graphql.
func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var req gqlRequest
	body := buffers.Get().(*bytes.Buffer)
	_, err := body.ReadFrom(r.Body) // the router has bounded and read it already
	if err == nil {
		err = decodeRequest(body.Bytes(), &req)
	}
	putBuffer(body)
	if err != nil {
		writeResponse(w, r, http.StatusBadRequest, &response{errors: []*gqlError{newError(CodeBadRequest, "the body must be a JSON object")}})
		return
	}
	p := core.PrincipalFrom(r.Context())
	if p == nil { // the router guarantees one; refuse rather than run unscoped
		writeResponse(w, r, http.StatusUnauthorized, &response{errors: []*gqlError{newError(CodeUnauthenticated, "a valid bearer access token for the GraphQL resource is required")}})
		return
	}
	data := getDataBuffer()
	defer putDataBuffer(data)
	status, resp := s.run(r.Context(), p, &req, data)
	// GraphQL over HTTP §6.4: with application/json a well-formed request
	// always answers 200; with application/graphql-response+json a request
	// error (no data) answers 400.
	if status == http.StatusOK && !resp.hasData && mediaType(r) == mediaGraphQLResponse {
		status = http.StatusBadRequest
	}
	writeResponse(w, r, status, resp)
}

func requestError(status int, errs ...*gqlError) (int, *response) {
	return status, &response{errors: errs}
}

// run executes one request for principal p (GraphQL spec §6.1
// ExecuteRequest): pick the document, then execute it. The data entry is
// written into data, which the response then refers to.
func (s *Service) run(ctx context.Context, p *core.Principal, req *gqlRequest, data *[]byte) (int, *response) {
	schema, prep, status, refused := s.document(ctx, p, req)
	if refused != nil {
		return requestError(status, refused)
	}
	return s.execute(ctx, p, schema, prep, req, data)
}

// execute runs the operation req selects from the prepared document of
// schema: select the operation, coerce the variables, check the limits,
// execute.
func (s *Service) execute(ctx context.Context, p *core.Principal, schema *ast.Schema, prep *prepared, req *gqlRequest, data *[]byte) (int, *response) {
	if len(prep.errors) > 0 {
		return requestError(http.StatusOK, prep.errors...)
	}
	op, gerr := selectOperation(prep.doc, req.OperationName)
	if gerr != nil {
		return requestError(http.StatusOK, gerr)
	}
	vars, gerr := coerceVariables(schema, op, req.Variables)
	if gerr != nil {
		return requestError(http.StatusOK, gerr)
	}
	if gerr := s.checkLimits(schema, prep, op, vars); gerr != nil {
		return requestError(http.StatusOK, gerr)
	}
	ex := &execution{ctx: ctx, svc: s, schema: schema, doc: prep.doc, args: prep.args, vars: vars, principal: p,
		out: (*data)[:0]}
	ex.path = ex.pathBuf[:0]
	ex.executeOperation(op)
	*data = ex.out // keep the grown buffer for the pool
	return http.StatusOK, &response{errors: ex.errors, data: ex.out, hasData: true}
}

// document returns the prepared document to run: a persisted operation
// named by extensions, or the query text validated against the public
// schema. refused is set (with its HTTP status) when the request names no
// runnable document.
func (s *Service) document(ctx context.Context, p *core.Principal, req *gqlRequest) (schema *ast.Schema, prep *prepared, status int, refused *gqlError) {
	ext := req.Extensions
	pq := ext.PersistedQuery
	if pq != nil && pq.Version != 1 {
		return nil, nil, http.StatusBadRequest, newError(CodeBadRequest, "extensions.persistedQuery.version must be 1")
	}
	if req.Query != "" {
		if ext.OperationID != "" {
			return nil, nil, http.StatusBadRequest, newError(CodeBadRequest, "send either query or extensions.operationId, not both")
		}
		if pq != nil { // automatic persisted queries: the text must match its hash
			sum := sha256.Sum256([]byte(req.Query))
			if hex.EncodeToString(sum[:]) != pq.SHA256Hash {
				return nil, nil, http.StatusBadRequest, newError(CodeBadRequest, "extensions.persistedQuery.sha256Hash does not match the query")
			}
		}
		if len(req.Query) > s.limits.MaxDocumentBytes {
			return nil, s.prepare(s.public, req.Query), http.StatusOK, nil
		}
		return s.public, s.docs.get(req.Query, func() *prepared { return s.prepare(s.public, req.Query) }), http.StatusOK, nil
	}
	if ext.OperationID == "" && pq == nil {
		return nil, nil, http.StatusBadRequest, newError(CodeBadRequest, "the request has no query (nor a persisted operation in extensions)")
	}
	op := s.approvedOperation(ctx, p, ext.OperationID, pq)
	if op == nil {
		// One answer for unknown ids, unapproved bundles and missing
		// scope, so nothing tells which operations exist.
		return nil, nil, http.StatusOK, newError(CodePersistedNotFound,
			"persisted operation not found: send the query text, or name an operation of a bundle approved for your tenant with a token holding graphql:bundles")
	}
	return s.partner, op.prep, http.StatusOK, nil
}

// selectOperation implements GetOperation (spec §6.1).
func selectOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, *gqlError) {
	if name == "" {
		if len(doc.Operations) != 1 {
			return nil, newError(codeOperationAmbiguous, "the document has several operations: name one with operationName")
		}
		return doc.Operations[0], nil
	}
	op := doc.Operations.ForName(name)
	if op == nil {
		return nil, newError(codeOperationNotFound, "the document has no operation named "+name)
	}
	return op, nil
}
