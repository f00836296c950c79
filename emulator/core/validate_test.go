package core

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/specs"
)

// refuseAll is a requestValidator that refuses every request and counts
// them.
type refuseAll struct{ calls int }

func (v *refuseAll) validate(*http.Request, requestBody) *RequestError {
	v.calls++
	return &RequestError{Status: http.StatusBadRequest, Code: "invalid_request"}
}

// TestFastAcceptDelegatesWhatItCannotProve checks the fast-accept
// decorator: it answers the requests its check proves valid itself and
// hands every other one to the validator it wraps, whose answer stands.
func TestFastAcceptDelegatesWhatItCannotProve(t *testing.T) {
	doc, err := specs.LoadSpec("t.yaml", []byte(fastSpec))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, op, method, target, ctype, body string
		id                                    string
		validJSON                             bool
		delegated                             bool
	}{
		{name: "parameter with a default", op: "getItem", method: "GET", target: "/items/it_ab", id: "it_ab", delegated: true},
		{name: "integer parameter", op: "getItem", method: "GET", target: "/items/it_ab?limit=1", id: "it_ab", delegated: true},
		{name: "path parameter off its pattern", op: "postItem", method: "POST", target: "/items/it_a", id: "it_a", ctype: formMediaType, body: `a=1`, delegated: true},
		{name: "plain JSON object", op: "graphqlLike", method: "POST", target: "/graphql", ctype: jsonMediaType, body: `{"q":"x","v":{"a":[1]}}`, validJSON: true},
		{name: "JSON field of another kind", op: "graphqlLike", method: "POST", target: "/graphql", ctype: jsonMediaType, body: `{"q":1}`, validJSON: true, delegated: true},
		{name: "JSON not known to be valid", op: "graphqlLike", method: "POST", target: "/graphql", ctype: jsonMediaType, body: `{"q":"x"}`, delegated: true},
		{name: "JSON with parameters in its media type", op: "graphqlLike", method: "POST", target: "/graphql", ctype: jsonMediaType + "; charset=utf-8", body: `{"q":"x"}`, validJSON: true, delegated: true},
		{name: "form that parses", op: "postItem", method: "POST", target: "/items/it_ab", id: "it_ab", ctype: formMediaType, body: `a=1&r=2&r=3`},
		{name: "form that does not parse", op: "postItem", method: "POST", target: "/items/it_ab", id: "it_ab", ctype: formMediaType, body: `a=%zz`, delegated: true},
		{name: "optional header parameter absent", op: "withHeader", method: "GET", target: "/header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := &refuseAll{}
			v := newRequestValidator(routeOf(t, doc, tt.op))
			if fa, ok := v.(*fastAccept); ok {
				fa.next = next
			} else {
				v = next // no fast check: every request is the wrapped validator's
			}
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.id != "" {
				r.SetPathValue("id", tt.id)
			}
			body := requestBody{}
			if tt.body != "" {
				r.Header.Set("Content-Type", tt.ctype)
				body = requestBody{read: true, data: []byte(tt.body), validJSON: tt.validJSON}
			}
			rerr := v.validate(r, body)
			if got := next.calls == 1; got != tt.delegated || (rerr != nil) != tt.delegated {
				t.Errorf("delegated %v (error %v), want %v", got, rerr, tt.delegated)
			}
			if tt.ctype == formMediaType && !tt.delegated && r.PostForm.Get("a") != "1" {
				t.Errorf("the accepted form is not left in r.PostForm: %v", r.PostForm)
			}
		})
	}
}

// TestRouterValidatesRequestsWithoutBody: a request built in process
// without a body (a nil Body, as http.NewRequest leaves it) is validated
// like one with an empty body, not read.
func TestRouterValidatesRequestsWithoutBody(t *testing.T) {
	doc, err := specs.LoadSpec("t.yaml", []byte(routerSpec))
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	auth := AuthenticatorFunc(func(context.Context, string) (*Principal, error) {
		return &Principal{Kind: KindAdmin, Tenant: "acme"}, nil
	})
	rt, err := NewRouter(RouterConfig{Security: map[string]Authenticator{"bearer": auth}, IDs: NewIDs(nil),
		APIs: []API{{Name: "t", Doc: doc, Handlers: map[string]http.Handler{"getItem": ok, "updateItem": ok, "deleteItem": ok}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"POST", "DELETE"} {
		r, _ := http.NewRequest(method, "/items/it_a", nil)
		r.Header.Set("Content-Type", jsonMediaType)
		r.Header.Set("Authorization", "Bearer x")
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		want := http.StatusOK
		if method == "POST" {
			want = http.StatusBadRequest // a request body is required
		}
		if w.Code != want {
			t.Errorf("%s without a body = %d %s, want %d", method, w.Code, w.Body, want)
		}
	}
}
