package core

import (
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// requestValidator checks a request against its operation of the specs
// once the router has authenticated it and read its body, and words what
// it refuses.
type requestValidator interface {
	validate(r *http.Request, body requestBody) *RequestError
}

// requestBody is what the router read of a body before validation.
type requestBody struct {
	// read: the router read the body into data and put it back in r.Body.
	read bool
	data []byte
	// validJSON: data is JSON that passed the router's checks and is
	// valid (checkJSONValid).
	validJSON bool
}

var (
	_ requestValidator = (*kinValidator)(nil)
	_ requestValidator = (*fastAccept)(nil)
)

// newRequestValidator returns the validator of route: kin-openapi, behind
// the fast check when the operation has one.
//
// The router authenticates; kin-openapi's own security pass (with a no-op
// authenticator) only costs time, so both validate a copy of the
// operation without security requirements.
func newRequestValidator(route *routers.Route) requestValidator {
	bare := *route.Operation
	bare.Security = &openapi3.SecurityRequirements{}
	valRoute := *route
	valRoute.Operation = &bare
	kin := newKinValidator(&valRoute)
	if fc := newFastCheck(&valRoute); fc != nil {
		return &fastAccept{check: fc, next: kin}
	}
	return kin
}

// kinValidator validates with openapi3filter.ValidateRequest, whose errors
// name each offending field.
type kinValidator struct {
	route *routers.Route
	// pathParams are the names of the operation's path parameters.
	pathParams []string
}

func newKinValidator(route *routers.Route) *kinValidator {
	v := &kinValidator{route: route}
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInPath {
				v.pathParams = append(v.pathParams, p.Value.Name)
			}
		}
	}
	return v
}

func (v *kinValidator) validate(r *http.Request, _ requestBody) *RequestError {
	params := make(map[string]string, len(v.pathParams))
	for _, n := range v.pathParams {
		params[n] = r.PathValue(n)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: v.route, Options: validationOptions}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		return requestErrorFrom(err)
	}
	return nil
}

// fastAccept accepts the requests its fastCheck proves next would accept,
// and hands every other one to next, so that each refusal is next's.
type fastAccept struct {
	check *fastCheck
	next  requestValidator
}

func (v *fastAccept) validate(r *http.Request, body requestBody) *RequestError {
	if v.check.accept(r, v.check.judgeBody(r, body)) {
		return nil
	}
	return v.next.validate(r, body)
}

// judgeBody reports whether body is one the operation's schema accepts as
// fc can tell: a JSON object fc.json accepts, or a form that parses when
// fc.form. The parsed form is left in r.PostForm, where Request.ParseForm
// would put it, so that the handler need not parse it again.
func (fc *fastCheck) judgeBody(r *http.Request, body requestBody) bool {
	if !body.read {
		return false
	}
	switch ct := r.Header.Get("Content-Type"); {
	case fc.json != nil && ct == jsonMediaType:
		return body.validJSON && fc.json.accepts(body.data)
	case fc.form && ct == formMediaType:
		vals, ok := parseForm(body.data)
		if ok {
			r.PostForm = vals
		}
		return ok
	}
	return false
}

// readBody bounds r's body and reads the ones the router judges before
// validation: a JSON body, which must pass the router's checks
// (checkJSONMediaType, checkJSONValid); a form, which the validator may
// judge without reading it again; and a body sent to an operation that
// takes none, which kin-openapi refuses by its length (read, a chunked one
// has a length too). hasBody says the operation takes a body.
func readBody(w http.ResponseWriter, r *http.Request, hasBody bool, maxBytes int64) (requestBody, *RequestError) {
	if r.Body == nil || r.Body == http.NoBody {
		if !hasBody {
			r.Body = http.NoBody
		}
		return requestBody{}, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
	ct := r.Header.Get("Content-Type")
	isJSONBody := hasBody && isJSON(ct)
	switch {
	case isJSONBody:
		if rerr := checkJSONMediaType(ct); rerr != nil {
			return requestBody{}, rerr
		}
	case hasBody && ct != formMediaType:
		return requestBody{}, nil // kin-openapi reads it
	}
	data, rerr := bufferBody(r)
	if rerr != nil {
		return requestBody{}, rerr
	}
	body := requestBody{read: true, data: data}
	if isJSONBody {
		fe, valid := checkJSONValid(data)
		if fe != nil {
			return requestBody{}, &RequestError{Status: http.StatusBadRequest, Code: "invalid_request", Fields: []FieldError{*fe},
				Detail: "the request body is refused at " + fe.Field + ": " + fe.Reason}
		}
		body.validJSON = valid
	}
	return body, nil
}
