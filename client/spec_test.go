package client

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/knogin/argus-sandbox/specs"
)

// form marks a request sent as a form; its keys are checked against the
// schema's properties.
type form url.Values

// publicForm is f as a public client sends it, with its client_id.
func publicForm(f url.Values) form {
	return form(Credentials{ClientID: "c"}.authenticated(call{form: f}).form)
}

// operations binds every operation of the specs to the Go types the client
// sends (in) and decodes from its success answer (out); nil for none.
var operations = []struct {
	doc, op string
	in, out any
}{
	{"sandbox.yaml", "getHealth", nil, Health{}},
	{"sandbox.yaml", "getSpecFile", nil, nil},
	{"sandbox.yaml", "resetSandbox", resetRequest{}, ResetResult{}},
	{"sandbox.yaml", "getClock", nil, ClockState{}},
	{"sandbox.yaml", "updateClock", ClockUpdate{}, ClockState{}},
	{"sandbox.yaml", "triggerEvent", EventTrigger{}, EventTriggered{}},
	{"sandbox.yaml", "rotateSigningKey", KeyRotationRequest{}, KeyRotation{}},
	{"sandbox.yaml", "decideAccessRequest", AccessDecisionRequest{}, AccessDecision{}},
	{"sandbox.yaml", "createSandboxWebhook", SandboxWebhookRequest{}, SandboxWebhook{}},
	{"sandbox.yaml", "waitWebhooksIdle", nil, WebhooksIdle{}},
	{"sandbox.yaml", "createFaultRule", FaultRule{}, FaultRuleStatus{}},
	{"sandbox.yaml", "listFaultRules", nil, list[FaultRuleStatus]{}},
	{"sandbox.yaml", "clearFaultRules", nil, nil},
	{"sandbox.yaml", "listFaultEvents", nil, list[FaultEvent]{}},
	{"sandbox.yaml", "getFaultRule", nil, FaultRuleStatus{}},
	{"sandbox.yaml", "deleteFaultRule", nil, nil},
	{"sandbox.yaml", "listRequests", nil, RequestPage{}},
	{"sandbox.yaml", "clearRequests", nil, nil},
	{"sandbox.yaml", "streamSandbox", nil, nil},
	{"sandbox.yaml", "createTenant", TenantCreate{Policy: &TenantPolicySpec{}, Users: []TenantUser{{}}}, TenantCreated{}},
	{"sandbox.yaml", "listTenants", nil, Page[Tenant]{}},
	{"sandbox.yaml", "getTenant", nil, Tenant{}},
	{"sandbox.yaml", "deleteTenant", nil, nil},
	{"sandbox.yaml", "rotateTenantToken", tenantTokenRequest{}, TenantToken{}},

	{"platform.yaml", "createApp", AppCreate{}, AppWithSecret{}},
	{"platform.yaml", "listApps", nil, Page[App]{}},
	{"platform.yaml", "getApp", nil, App{}},
	{"platform.yaml", "updateApp", AppUpdate{}, App{}},
	{"platform.yaml", "deleteApp", nil, nil},
	{"platform.yaml", "reviewApp", Review{}, App{}},
	{"platform.yaml", "rotateAppSecret", SecretRotation{}, RotatedClientSecret{}},
	{"platform.yaml", "listAppSecrets", nil, list[ClientSecret]{}},
	{"platform.yaml", "createServiceToken", ServiceTokenCreate{}, MintedServiceToken{}},
	{"platform.yaml", "listServiceTokens", nil, list[ServiceToken]{}},
	{"platform.yaml", "revokeServiceToken", nil, nil},
	{"platform.yaml", "listScopes", nil, list[ScopeInfo]{}},
	{"platform.yaml", "listAuditEvents", nil, Page[AuditEvent]{}},
	{"platform.yaml", "createAccessRequest", AccessRequestCreate{}, AccessRequest{}},
	{"platform.yaml", "listAccessRequests", nil, list[AccessRequest]{}},
	{"platform.yaml", "getAccessRequest", nil, AccessRequest{}},
	{"platform.yaml", "getPolicy", nil, TenantPolicy{}},
	{"platform.yaml", "exportAuditEvents", nil, nil}, // NDJSON of AuditEvent, checked by listAuditEvents
	{"platform.yaml", "createEnvironment", EnvironmentCreate{}, Environment{}},
	{"platform.yaml", "listEnvironments", nil, list[Environment]{}},
	{"platform.yaml", "getEnvironment", nil, Environment{}},
	{"platform.yaml", "getFederationMetadata", nil, FederationMetadata{}},

	{"oauth.yaml", "token", publicForm(TokenRequest{GrantType: "g", Scope: "s", Code: "c", RedirectURI: "r", CodeVerifier: "v",
		RefreshToken: "t", Resource: []string{"u"}}.form()), Token{}},
	{"oauth.yaml", "revoke", publicForm(tokenForm("t", "h")), nil},
	{"oauth.yaml", "introspect", publicForm(tokenForm("t", "h")), Introspection{}},
	{"oauth.yaml", "userinfo", nil, UserInfo{}},
	{"oauth.yaml", "userinfoPost", nil, UserInfo{}},
	{"oauth.yaml", "jwks", nil, JWKS{}},
	{"oauth.yaml", "authorizationServerMetadata", nil, ServerMetadata{}},

	{"webhooks.yaml", "createWebhook", WebhookCreate{}, WebhookWithSecret{}},
	{"webhooks.yaml", "listWebhooks", nil, Page[Webhook]{}},
	{"webhooks.yaml", "listEventTypes", nil, list[EventType]{}},
	{"webhooks.yaml", "getWebhook", nil, Webhook{}},
	{"webhooks.yaml", "updateWebhook", WebhookUpdate{}, Webhook{}},
	{"webhooks.yaml", "deleteWebhook", nil, nil},
	{"webhooks.yaml", "rotateWebhookSecret", WebhookSecretRotation{}, RotatedWebhookSecret{}},
	{"webhooks.yaml", "testWebhook", nil, TestResult{}},
	{"webhooks.yaml", "listDeliveries", nil, Page[DeliverySummary]{}},
	{"webhooks.yaml", "getDelivery", nil, Delivery{}},
	{"webhooks.yaml", "redeliverDelivery", nil, Delivery{}},
	{"webhooks.yaml", "recoverWebhook", RecoverRequest{}, Recovery{}},

	{"graphql.yaml", "graphql", GraphQLRequest{}, graphQLResponse{}},
}

// notCovered are the operations the client leaves out on purpose: the
// browser's side of the authorization-code flow (sign-in and consent
// pages, redirects) and the OpenID alias of the server metadata.
var notCovered = []string{"authorize", "authorizeSignIn", "authorizeConsent", "openIDConfiguration"}

// TestWireTypesFollowTheSpecs checks every operation of the specs against
// the client: each is covered (or deliberately not), and the JSON of the Go
// types it sends and decodes has exactly the properties of the operation's
// schemas, with compatible types, so neither side can drift.
func TestWireTypesFollowTheSpecs(t *testing.T) {
	docs := map[string]*openapi3.T{}
	for _, name := range []string{"sandbox.yaml", "platform.yaml", "oauth.yaml", "webhooks.yaml", "graphql.yaml"} {
		doc, err := specs.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = doc
	}
	covered := map[string]bool{}
	for _, o := range operations {
		covered[o.op] = true
	}
	for name, doc := range docs {
		for _, path := range doc.Paths.InMatchingOrder() {
			for method, op := range doc.Paths.Value(path).Operations() {
				if !covered[op.OperationID] && !slices.Contains(notCovered, op.OperationID) {
					t.Errorf("%s: operation %s (%s %s) has no client method", name, op.OperationID, method, path)
				}
			}
		}
	}
	for _, o := range operations {
		t.Run(o.op, func(t *testing.T) {
			op := findOperation(t, docs[o.doc], o.op)
			if o.in != nil {
				var body *openapi3.Schema
				if op.RequestBody != nil {
					for _, mt := range op.RequestBody.Value.Content {
						body = mt.Schema.Value
					}
				}
				if body == nil {
					t.Fatalf("the client sends a body, the spec takes none")
				}
				if f, ok := o.in.(form); ok {
					for key := range f {
						if _, ok := properties(body)[key]; !ok {
							t.Errorf("form parameter %q is not in the spec", key)
						}
					}
				} else {
					compare(t, "request", reflect.TypeOf(o.in), body, true)
				}
			}
			if o.out != nil {
				compare(t, "response", reflect.TypeOf(o.out), successSchema(t, op), false)
			}
		})
	}
}

func findOperation(t *testing.T, doc *openapi3.T, id string) *openapi3.Operation {
	t.Helper()
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(path).Operations() {
			if op.OperationID == id {
				return op
			}
		}
	}
	t.Fatalf("no operation %s", id)
	return nil
}

// successSchema is the JSON schema of the operation's 2xx answer.
func successSchema(t *testing.T, op *openapi3.Operation) *openapi3.Schema {
	t.Helper()
	for code, r := range op.Responses.Map() {
		if strings.HasPrefix(code, "2") && r.Value.Content != nil {
			if mt := r.Value.Content.Get("application/json"); mt != nil {
				return mt.Schema.Value
			}
		}
	}
	t.Fatalf("no JSON success answer")
	return nil
}

// properties merges the properties of s and of its allOf parts.
func properties(s *openapi3.Schema) map[string]*openapi3.Schema {
	out := map[string]*openapi3.Schema{}
	for name, p := range s.Properties {
		out[name] = p.Value
	}
	for _, part := range s.AllOf {
		for name, p := range properties(part.Value) {
			out[name] = p
		}
	}
	return out
}

func required(s *openapi3.Schema) []string {
	out := slices.Clone(s.Required)
	for _, part := range s.AllOf {
		out = append(out, required(part.Value)...)
	}
	return out
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	unmarshalerTy = reflect.TypeFor[json.Unmarshaler]()
)

// field is a JSON member of a Go struct.
type field struct {
	typ       reflect.Type
	omitEmpty bool
}

// jsonFields lists the JSON members of struct type typ, embedded structs
// flattened, as encoding/json sees them.
func jsonFields(typ reflect.Type) map[string]field {
	out := map[string]field{}
	for f := range typ.Fields() {
		tag, has := f.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case tag == "-" || !f.IsExported():
			continue
		case f.Anonymous && !has:
			for n, sub := range jsonFields(f.Type) {
				out[n] = sub
			}
			continue
		case name == "":
			name = f.Name
		}
		out[name] = field{typ: f.Type, omitEmpty: strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")}
	}
	return out
}

// compare checks that Go type typ encodes (request) or decodes (response)
// exactly the JSON schema s, reporting each difference at path.
func compare(t *testing.T, path string, typ reflect.Type, s *openapi3.Schema, request bool) {
	t.Helper()
	nullable := s.Nullable
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
		nullable = false
	}
	if nullable && !request && typ.Kind() != reflect.Slice && typ.Kind() != reflect.Map && typ != rawType && typ.Kind() != reflect.Interface {
		t.Errorf("%s: the spec says it may be null; decode it into a pointer, not %s", path, typ)
	}
	want := ""
	if s.Type != nil && len(*s.Type) == 1 {
		want = (*s.Type)[0]
	}
	props := properties(s)
	switch {
	case typ == rawType || typ.Kind() == reflect.Interface:
	case typ == timeType:
		if want != "string" || s.Format != "date-time" {
			t.Errorf("%s: %s is a time, the spec says %s (%s)", path, typ, want, s.Format)
		}
	case len(s.OneOf) > 0:
		if !reflect.PointerTo(typ).Implements(unmarshalerTy) {
			t.Errorf("%s: the spec allows one of several shapes; %s must decode each", path, typ)
		}
	case reflect.PointerTo(typ).Implements(unmarshalerTy):
		if want != "string" {
			t.Errorf("%s: %s is written as a string, the spec says %q", path, typ, want)
		}
	case typ.Kind() == reflect.Struct:
		if want != "object" && len(s.AllOf) == 0 {
			t.Errorf("%s: %s is an object, the spec says %q", path, typ, want)
		}
		if len(props) == 0 {
			return // a free-form object in the spec: nothing to compare
		}
		fields := jsonFields(typ)
		for name, f := range fields {
			p, ok := props[name]
			if !ok {
				t.Errorf("%s: %s.%s (%q) is not in the spec", path, typ.Name(), name, name)
				continue
			}
			compare(t, path+"/"+name, f.typ, p, request)
			if request && f.omitEmpty == slices.Contains(required(s), name) {
				t.Errorf("%s/%s: required in the spec is %v, omitted when empty in Go is %v",
					path, name, slices.Contains(required(s), name), f.omitEmpty)
			}
		}
		for name := range props {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s: the spec's %q is missing from %s", path, name, typ)
			}
		}
	case typ.Kind() == reflect.Map:
		if want != "object" && want != "" {
			t.Errorf("%s: %s is an object, the spec says %q", path, typ, want)
		}
	case typ.Kind() == reflect.Slice:
		if want != "array" {
			t.Errorf("%s: %s is an array, the spec says %q", path, typ, want)
			return
		}
		if s.Items != nil && s.Items.Value != nil {
			compare(t, path+"/items", typ.Elem(), s.Items.Value, request)
		}
	default:
		kinds := map[reflect.Kind]string{reflect.String: "string", reflect.Bool: "boolean", reflect.Int: "integer",
			reflect.Int64: "integer", reflect.Float64: "number"}
		if got := kinds[typ.Kind()]; got != want && !(got == "integer" && want == "number") {
			t.Errorf("%s: %s is a JSON %s, the spec says %q", path, typ, got, want)
		}
	}
}
