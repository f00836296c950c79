package graphql

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestQueryStringRefusalsNameTheParameter(t *testing.T) {
	h := newHarness(t, Limits{})
	tests := []struct {
		name       string
		query      string
		token      string
		wantStatus int
		wantIn     string
		wantField  string
	}{
		{"token in the query", "access_token=acme-all", "", 400, "accepted only in the Authorization header", "query.access_token"},
		{"token in the query beside the header", "access_token=acme-all", "acme-all", 400, "accepted only in the Authorization header", "query.access_token"},
		{"unknown parameter", "query=%7B%20viewer%20%7B%20clientId%20%7D%20%7D", "acme-all", 400, "query parameters are not accepted: query (unknown query parameter)", "query.query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/graphql?"+tt.query, bytes.NewReader([]byte(`{"query":"{ viewer { clientId } }"}`)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Errors []struct {
					Message    string `json:"message"`
					Extensions struct {
						Code   string `json:"code"`
						Fields []struct {
							Field string `json:"field"`
						} `json:"fields"`
					} `json:"extensions"`
				} `json:"errors"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || len(body.Errors) != 1 {
				t.Fatalf("status = %d with %+v, want %d and one error", resp.StatusCode, body, tt.wantStatus)
			}
			e := body.Errors[0]
			if e.Extensions.Code != CodeBadRequest || !strings.Contains(e.Message, tt.wantIn) || strings.Contains(e.Message, "the body must be") {
				t.Errorf("error = %+v, want BAD_REQUEST saying %q", e, tt.wantIn)
			}
			if len(e.Extensions.Fields) == 0 || e.Extensions.Fields[0].Field != tt.wantField {
				t.Errorf("fields = %+v, want %s", e.Extensions.Fields, tt.wantField)
			}
		})
	}
}
