package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewError(t *testing.T) {
	tests := []struct {
		name  string
		ctype string
		body  string
		want  Error
		text  string
	}{
		{
			name:  "problem with fields",
			ctype: "application/problem+json",
			body: `{"type":"https://argus.sandbox/problems/invalid_request","title":"Bad Request","status":400,"code":"invalid_request",` +
				`"detail":"the fault rule is invalid: /when/probability","request_id":"req_1","errors":[{"field":"/when/probability","reason":"maximum: got 2, want 1"}]}`,
			want: Error{Status: 400, Code: "invalid_request", Title: "Bad Request", Detail: "the fault rule is invalid: /when/probability",
				RequestID: "req_1", Errors: []FieldError{{Field: "/when/probability", Reason: "maximum: got 2, want 1"}}},
			text: "POST /x: 400 invalid_request: the fault rule is invalid: /when/probability (/when/probability: maximum: got 2, want 1)",
		},
		{
			name:  "RFC 6749 error",
			ctype: "application/json;charset=UTF-8",
			body:  `{"error":"invalid_client","error_description":"unknown client or wrong secret"}`,
			want:  Error{Status: 401, Code: "invalid_client", Detail: "unknown client or wrong secret"},
			text:  "POST /x: 401 invalid_client: unknown client or wrong secret",
		},
		{
			name:  "GraphQL error",
			ctype: "application/json",
			body:  `{"errors":[{"message":"a valid bearer access token is required","extensions":{"code":"UNAUTHENTICATED"}}]}`,
			want:  Error{Status: 401, Code: "UNAUTHENTICATED", Detail: "a valid bearer access token is required"},
			text:  "POST /x: 401 UNAUTHENTICATED: a valid bearer access token is required",
		},
		{
			name:  "gateway page",
			ctype: "text/html",
			body:  "<html><body>502 Bad Gateway</body></html>\n",
			want:  Error{Status: 502, Body: "<html><body>502 Bad Gateway</body></html>"},
			text:  "POST /x: 502: <html><body>502 Bad Gateway</body></html>",
		},
		{
			name:  "malformed JSON",
			ctype: "application/json",
			body:  `{"code":`,
			want:  Error{Status: 500, Body: `{"code":`},
			text:  `POST /x: 500: {"code":`,
		},
		{
			name:  "long body cut to valid text",
			ctype: "text/plain",
			body:  "a" + strings.Repeat("é", 400),
			want:  Error{Status: 503, Body: "a" + strings.Repeat("é", (bodyShown-1)/2)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.want.Status, Header: http.Header{"Content-Type": {tt.ctype}}}
			got := newError(http.MethodPost, "/x", resp, []byte(tt.body))
			tt.want.Method, tt.want.Path = http.MethodPost, "/x"
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tt.text != "" && got.Error() != tt.text {
				t.Errorf("Error() = %q, want %q", got.Error(), tt.text)
			}
			var e *Error
			if !errors.As(fmt.Errorf("wrapped: %w", got), &e) || e != got {
				t.Error("errors.As does not find the *Error")
			}
		})
	}
}

func TestWebhookSecretKey(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		wantLen int
		wantErr string
	}{
		{name: "24 bytes", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wantLen: 24},
		{name: "no prefix", secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wantErr: "whsec_"},
		{name: "not base64", secret: "whsec_!!notbase64", wantErr: "illegal base64"},
		{name: "too short", secret: "whsec_c2hvcnQ=", wantErr: "not 5"},
		{name: "too long", secret: "whsec_" + strings.Repeat("QUFB", 22), wantErr: "not 66"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := WebhookSecretKey(tt.secret)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrWebhookSecret) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrWebhookSecret mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(key) != tt.wantLen {
				t.Fatalf("key of %d bytes, err %v; want %d bytes", len(key), err, tt.wantLen)
			}
		})
	}
}
