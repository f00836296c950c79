package client

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// GraphQLAPI is POST /v1/graphql (specs/graphql.yaml, schema
// specs/schema.graphql), called with an access token (WithToken).
type GraphQLAPI struct{ c *Client }

// GraphQLRequest is one GraphQL-over-HTTP request: a Query, or a persisted
// operation of an approved bundle in Extensions.
type GraphQLRequest struct {
	Query         string         `json:"query,omitempty"`
	Variables     map[string]any `json:"variables,omitempty"`
	OperationName string         `json:"operationName,omitempty"`
	Extensions    map[string]any `json:"extensions,omitempty"`
}

// GraphQLError is one entry of a response's errors (GraphQL specification
// §7.1.2).
type GraphQLError struct {
	Message   string `json:"message"`
	Locations []struct {
		Line   int `json:"line"`
		Column int `json:"column"`
	} `json:"locations,omitempty"`
	// Path holds response keys (strings) and list indexes (numbers).
	Path []any `json:"path,omitempty"`
	// Extensions carries the stable "code" (FORBIDDEN, NOT_FOUND…).
	Extensions map[string]any `json:"extensions"`
}

// Code is the error's extensions.code.
func (e GraphQLError) Code() string {
	c, _ := e.Extensions["code"].(string)
	return c
}

// GraphQLErrors are the errors of an executed operation; a field in error
// is null in the data, the rest is there.
type GraphQLErrors []GraphQLError

// Error lists each error as "CODE: message".
func (es GraphQLErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Code() + ": " + e.Message
	}
	return "graphql: " + strings.Join(parts, "; ")
}

// graphQLResponse is the body of a 200 answer.
type graphQLResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors GraphQLErrors   `json:"errors"`
}

// Do executes r and decodes the response's data into data (when not nil).
// Errors of the executed operation are returned as GraphQLErrors, after
// whatever data came back was decoded; a request refused before execution
// (401, 400) is an *Error.
func (g GraphQLAPI) Do(ctx context.Context, r GraphQLRequest, data any) error {
	var out graphQLResponse
	if err := g.c.tenant(ctx, http.MethodPost, "/v1/graphql", nil, r, http.StatusOK, &out); err != nil {
		return err
	}
	if data != nil && len(out.Data) > 0 && string(out.Data) != "null" {
		if err := json.Unmarshal(out.Data, data); err != nil {
			return err
		}
	}
	if len(out.Errors) > 0 {
		return out.Errors
	}
	return nil
}
