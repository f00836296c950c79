package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// DefaultMaxBodyBytes bounds every request body unless RouterConfig says
// otherwise.
const DefaultMaxBodyBytes = 1 << 20

// API is one OpenAPI document of specs/ and the handlers of its operations,
// keyed by operationId.
type API struct {
	// Name is the document's name; the spec is served at /openapi/NAME.yaml.
	Name string
	// Doc is the parsed document (see LoadSpec).
	Doc *openapi3.T
	// Handlers maps every operationId of Doc to its handler.
	Handlers map[string]http.Handler
	// Errors writes request errors (validation, authentication) in the
	// surface's wire format; nil means problem+json.
	Errors ErrorWriter
	// Security overrides RouterConfig.Security for this API's schemes (for
	// example an access-token verifier that checks this resource's audience).
	Security map[string]Authenticator
	// LenientQuery lets undeclared query parameters through (RFC 6749
	// §3.1 and §3.2: an authorization server ignores unrecognised
	// parameters). Elsewhere they are refused, as are repeated scalars.
	LenientQuery bool
}

// ErrorWriter writes a RequestError in a surface's wire format.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, e *RequestError)

// RequestError is a request refused before its handler ran.
type RequestError struct {
	Status int
	// Code is the machine-readable reason: invalid_request,
	// unsupported_media_type, request_too_large, invalid_token,
	// insufficient_scope, not_found, method_not_allowed,
	// misdirected_request.
	Code   string
	Detail string
	// Fields names the offending fields, at most MaxProblemErrors of
	// them; Omitted counts the others.
	Fields  []FieldError
	Omitted int
	// Scope lists the scopes that would satisfy the operation
	// (insufficient_scope).
	Scope string
	// Header is added to the response (WWW-Authenticate, Allow).
	Header http.Header
}

// Problem converts e to a problem+json body.
func (e *RequestError) Problem() *Problem {
	p := NewProblem(e.Status, e.Code, http.StatusText(e.Status), e.Detail)
	p.Errors, p.ErrorsOmitted = e.Fields, e.Omitted
	p.Header = e.Header
	return p
}

// WriteRequestProblem is the default ErrorWriter: problem+json.
func WriteRequestProblem(w http.ResponseWriter, r *http.Request, e *RequestError) {
	WriteProblem(w, r, e.Problem())
}

// Authenticator turns a bearer token into a Principal for one security
// scheme. It returns an error wrapping ErrInvalidToken when the token is not
// acceptable.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, token string) (*Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, token string) (*Principal, error) {
	return f(ctx, token)
}

// ErrInvalidToken is wrapped by authenticators that refuse a token.
var ErrInvalidToken = errors.New("invalid token")

// OperationInfo describes the operation a handler serves, for middleware.
type OperationInfo struct {
	API         string
	OperationID string
	Method      string
	Path        string
	// Errors is the API's error writer (API.Errors, WriteRequestProblem
	// when that is nil), so middleware that answers for the operation
	// (an injected fault) speaks the surface's wire format.
	Errors ErrorWriter
}

// RouterConfig configures NewRouter.
type RouterConfig struct {
	APIs []API
	// Security maps a security scheme name of the specs to its authenticator.
	Security map[string]Authenticator
	// MaxBodyBytes bounds request bodies (DefaultMaxBodyBytes when zero).
	MaxBodyBytes int64
	Logger       *slog.Logger
	IDs          *IDs
	// Wrap, when set, wraps each operation's handler after authentication
	// and validation (the fault injector hooks in here).
	Wrap func(op OperationInfo, next http.Handler) http.Handler
	// CheckResponse, when set, validates every response against the spec
	// and reports mismatches (used by the test suites).
	CheckResponse func(r *http.Request, op string, err error)
	// AllowHost, when set, is asked about every request's Host header;
	// a refused host is answered 421 misdirected_request before routing
	// (the defence of a loopback listener against DNS rebinding).
	AllowHost func(host string) bool
	// Observe, when set, is called once for every request after it has
	// been answered (the request journal). It runs on the request's
	// goroutine, so it must be quick; it must not keep rec.Body.
	Observe func(r *http.Request, rec RequestRecord)
	// TenantLocale, when set, returns a tenant's locale: the language of
	// its callers' error text when Accept-Language matches no supported
	// locale (see Locale).
	TenantLocale func(tenant string) string
}

// refusableMethods are the methods answered 405 on a path that does not
// offer them (RFC 9110 §9 plus PATCH).
var refusableMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace}

// Router serves every operation of a set of APIs: it matches the route from
// the specs, authenticates by the operation's security requirements,
// validates the request with kin-openapi and only then calls the handler.
type Router struct {
	mux *http.ServeMux
	cfg RouterConfig
	log *slog.Logger
	ops []OperationInfo
}

var unregisterDecoders sync.Once

// NewRouter builds the router. It fails when an operation has no handler,
// a handler has no operation, or a security scheme has no authenticator.
func NewRouter(cfg RouterConfig) (*Router, error) {
	unregisterDecoders.Do(func() {
		// Only JSON and form bodies are part of the contract.
		for _, ct := range []string{"application/zip", "multipart/form-data", "application/octet-stream", "application/x-yaml", "application/yaml", "text/csv", "text/plain"} {
			openapi3filter.UnregisterBodyDecoder(ct)
		}
	})
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rt := &Router{mux: http.NewServeMux(), cfg: cfg, log: cfg.Logger}
	var problems []string
	paths := map[string][]string{}
	pathErr := map[string]ErrorWriter{}
	for _, api := range cfg.APIs {
		seen := map[string]bool{}
		for _, path := range api.Doc.Paths.InMatchingOrder() {
			item := api.Doc.Paths.Value(path)
			for method, op := range item.Operations() {
				if op.OperationID == "" {
					problems = append(problems, fmt.Sprintf("%s: %s %s has no operationId", api.Name, method, path))
					continue
				}
				seen[op.OperationID] = true
				h, ok := api.Handlers[op.OperationID]
				if !ok {
					problems = append(problems, fmt.Sprintf("%s: operation %s (%s %s) has no handler", api.Name, op.OperationID, method, path))
					continue
				}
				for _, req := range effectiveSecurity(api.Doc, op) {
					for scheme := range req {
						if rt.authenticator(api, scheme) == nil {
							problems = append(problems, fmt.Sprintf("%s: security scheme %q of %s has no authenticator", api.Name, scheme, op.OperationID))
						}
					}
				}
				info := OperationInfo{API: api.Name, OperationID: op.OperationID, Method: method, Path: path, Errors: api.Errors}
				if info.Errors == nil {
					info.Errors = WriteRequestProblem
				}
				rt.ops = append(rt.ops, info)
				route := &routers.Route{Spec: api.Doc, Path: path, PathItem: item, Method: method, Operation: op}
				rt.mux.Handle(method+" "+path, rt.operation(api, route, info, h))
				paths[path] = append(paths[path], method)
				pathErr[path] = info.Errors
			}
		}
		for id := range api.Handlers {
			if !seen[id] {
				problems = append(problems, fmt.Sprintf("%s: handler %q has no operation in the spec", api.Name, id))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("routes do not match the specs:\n  %s", strings.Join(problems, "\n  "))
	}
	for path, methods := range paths {
		slices.Sort(methods)
		allow := strings.Join(methods, ", ")
		write := pathErr[path]
		notAllowed := func(w http.ResponseWriter, r *http.Request) {
			write(w, r, &RequestError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
				Detail: fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, path, allow),
				Header: http.Header{"Allow": {allow}}})
		}
		// One pattern per refused method: a method-less "/a/b" would conflict
		// in ServeMux with "PATCH /a/{id}" (more methods, more specific path).
		for _, m := range refusableMethods {
			if slices.Contains(methods, m) || (m == http.MethodHead && slices.Contains(methods, http.MethodGet)) {
				continue
			}
			rt.mux.HandleFunc(m+" "+path, notAllowed)
		}
	}
	rt.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteRequestProblem(w, r, &RequestError{Status: http.StatusNotFound, Code: "not_found", Detail: "no operation of the Argus contract matches " + r.URL.Path})
	})
	sort.Slice(rt.ops, func(i, j int) bool { return rt.ops[i].OperationID < rt.ops[j].OperationID })
	return rt, nil
}

func (rt *Router) authenticator(api API, scheme string) Authenticator {
	if a, ok := api.Security[scheme]; ok {
		return a
	}
	return rt.cfg.Security[scheme]
}

// Operations lists every routed operation, sorted by operationId.
func (rt *Router) Operations() []OperationInfo { return rt.ops }

// ServeHTTP assigns a request ID, recovers panics and dispatches. A panic
// is answered by the error writer of the operation that was being served
// (problem+json outside any operation), so a GraphQL or OAuth client gets
// its own error format even then.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 128 {
		id = rt.cfg.IDs.Token("req", 10)
	}
	w.Header().Set("X-Request-Id", id)
	st := &requestState{Context: r.Context(), id: id}
	r = r.WithContext(st)
	if rt.observing(st) {
		// Registered first, so it runs after the recovery below has
		// answered a panic.
		start := time.Now()
		st.w.ResponseWriter = w
		w = &st.w
		defer rt.finish(st, r, start)
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			Logger(r.Context(), rt.log).Error("handler panic", "panic", fmt.Sprint(v), "path", r.URL.Path)
			write := st.errors
			if write == nil {
				write = WriteRequestProblem
			}
			write(w, r, &RequestError{Status: http.StatusInternalServerError, Code: "internal_error",
				Detail: "the sandbox failed while serving this request; quote the request_id when reporting it"})
		}
	}()
	if rt.cfg.AllowHost != nil && !rt.cfg.AllowHost(r.Host) {
		Logger(r.Context(), rt.log).Info("request for a host not allowed", "host", r.Host, "path", r.URL.Path)
		WriteRequestProblem(w, r, &RequestError{Status: http.StatusMisdirectedRequest, Code: "misdirected_request",
			Detail: fmt.Sprintf("this sandbox does not answer for host %q; add it to the allowed hosts (--allowed-hosts)", r.Host)})
		return
	}
	rt.mux.ServeHTTP(w, r)
}

func effectiveSecurity(doc *openapi3.T, op *openapi3.Operation) openapi3.SecurityRequirements {
	if op.Security != nil {
		return *op.Security
	}
	return doc.Security
}

var validationOptions = &openapi3filter.Options{
	AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
	RejectWhenRequestBodyNotSpecified: true,
	MultiError:                        true,
}

func (rt *Router) operation(api API, route *routers.Route, info OperationInfo, h http.Handler) http.Handler {
	writeErr := info.Errors
	security := rt.compileSecurity(api, effectiveSecurity(api.Doc, route.Operation))
	hasBody := route.Operation.RequestBody != nil
	query := newQueryRules(route)
	validator := newRequestValidator(route)
	next := h
	if rt.cfg.Wrap != nil {
		next = rt.cfg.Wrap(info, h)
	}
	if rt.cfg.CheckResponse != nil {
		next = rt.checkResponses(route, info, next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Router.ServeHTTP put a requestState in the context; the principal
		// is recorded there rather than in a new context layer, which would
		// copy the request again.
		st, own := r.Context().(*requestState)
		if !own {
			st = &requestState{Context: r.Context(), id: RequestIDFrom(r.Context())}
			r = r.WithContext(st)
		}
		st.errors, st.op, st.tenantLocale = writeErr, &info, rt.cfg.TenantLocale
		if len(security.alts) > 0 {
			p, rerr := security.authenticate(st, r)
			if rerr != nil {
				refuse(st, w, r, writeErr, rerr)
				return
			}
			st.principal = p
		}
		if rerr := query.checkRaw(r.URL.RawQuery, api.LenientQuery); rerr != nil {
			refuse(st, w, r, writeErr, rerr)
			return
		}
		body, rerr := readBody(w, r, hasBody, rt.cfg.MaxBodyBytes)
		if rerr != nil {
			refuse(st, w, r, writeErr, rerr)
			return
		}
		st.body = body.data
		if rerr := validator.validate(r, body); rerr != nil {
			refuse(st, w, r, writeErr, rerr)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuse answers a request the router refuses, noting the error's code
// for the journal and the log.
func refuse(st *requestState, w http.ResponseWriter, r *http.Request, write ErrorWriter, rerr *RequestError) {
	st.errCode = rerr.Code
	write(w, r, rerr)
}

// bufferBody reads the (bounded) body, as kin-openapi would, and puts it
// back for validation and the handler.
func bufferBody(r *http.Request) ([]byte, *RequestError) {
	data, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, requestErrorFrom(&openapi3filter.RequestError{Reason: "reading failed", Err: err})
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(data)), int64(len(data))
	return data, nil
}

// requestErrorFrom maps a kin-openapi validation error to a RequestError
// naming the offending fields, the first MaxProblemErrors of them: past
// those, errors are only counted.
func requestErrorFrom(err error) *RequestError {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &RequestError{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large",
			Detail: fmt.Sprintf("the request body exceeds %d bytes", mbe.Limit)}
	}
	out := &RequestError{Status: http.StatusBadRequest, Code: "invalid_request"}
	var fields fieldList
	var errs []error
	var me openapi3.MultiError
	if errors.As(err, &me) {
		errs = me
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var re *openapi3filter.RequestError
		if !errors.As(e, &re) {
			fields.add(FieldError{Field: "request", Reason: e.Error()})
			continue
		}
		if errors.As(re.Err, &mbe) {
			return requestErrorFrom(mbe)
		}
		switch {
		case strings.Contains(re.Reason, "Content-Type") || strings.Contains(re.Reason, "unsupported content type"):
			out.Status, out.Code = http.StatusUnsupportedMediaType, "unsupported_media_type"
			fields.add(FieldError{Field: "header.Content-Type", Reason: re.Reason})
		case re.Parameter != nil:
			fields.add(FieldError{Field: re.Parameter.In + "." + re.Parameter.Name, Reason: reasonOf(re)})
		case re.RequestBody != nil:
			bodyFields(&fields, re)
		default:
			fields.add(FieldError{Field: "request", Reason: reasonOf(re)})
		}
	}
	out.Fields, out.Omitted = fields.list, fields.omitted
	if out.Status == http.StatusUnsupportedMediaType {
		out.Detail = "the request's Content-Type is not accepted by this operation"
	} else {
		out.Detail = "the request does not match the operation's schema: " + fields.names()
	}
	return out
}

// fieldList collects field errors, keeping the first MaxProblemErrors and
// counting the others.
type fieldList struct {
	list    []FieldError
	omitted int
}

// full reports whether the list keeps no more errors: a caller then counts
// one without working out its field and reason.
func (l *fieldList) full() bool { return len(l.list) >= MaxProblemErrors }

func (l *fieldList) add(f FieldError) {
	if l.full() {
		l.omitted++
		return
	}
	l.list = append(l.list, f)
}

// names lists the fields for a problem's detail.
func (l *fieldList) names() string {
	names := make([]string, len(l.list))
	for i, f := range l.list {
		names[i] = f.Field
	}
	s := strings.Join(names, ", ")
	if l.omitted > 0 {
		s += fmt.Sprintf(" and %d more", l.omitted)
	}
	return s
}

func reasonOf(re *openapi3filter.RequestError) string {
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		return se.Reason
	}
	if re.Err != nil {
		if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
			return "required"
		}
		return re.Err.Error()
	}
	return re.Reason
}

// bodyFields adds the errors of a request body to fields.
func bodyFields(fields *fieldList, re *openapi3filter.RequestError) {
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		fields.add(FieldError{Field: "/", Reason: "a request body is required"})
		return
	}
	var errs []error
	var me openapi3.MultiError
	if errors.As(re.Err, &me) {
		errs = me
	} else {
		errs = []error{re.Err}
	}
	if len(errs) == 0 {
		fields.add(FieldError{Field: "/", Reason: re.Error()})
		return
	}
	for _, e := range errs {
		if fields.full() {
			fields.omitted++
			continue
		}
		var se *openapi3.SchemaError
		if errors.As(e, &se) {
			ptr := "/" + strings.Join(se.JSONPointer(), "/")
			reason := se.Reason
			// additionalProperties: false reports the parent object; name
			// the unknown field itself.
			if name, ok := unsupportedProperty(reason); ok {
				ptr = strings.TrimSuffix(ptr, "/") + "/" + name
				reason = "unknown field"
			}
			fields.add(FieldError{Field: ptr, Reason: reason})
			continue
		}
		msg := "malformed body"
		if e != nil {
			msg = e.Error()
		}
		fields.add(FieldError{Field: "/", Reason: msg})
	}
}

// checkResponses validates each response of an operation against its spec.
func (rt *Router) checkResponses(route *routers.Route, info OperationInfo, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if w.Header().Get(FaultHeader) != "" && rec.status >= 400 {
			// A reply shaped by an injected fault is deliberately outside
			// the contract (a gateway's HTML page, a cut body, a 503).
			return
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, Route: route, Options: validationOptions},
			Status:                 rec.status,
			Header:                 w.Header(),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		in.SetBodyBytes(rec.body.Bytes())
		if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
			rt.cfg.CheckResponse(r, info.OperationID, fmt.Errorf("%s %s → %d: %w\nbody: %s", r.Method, r.URL.Path, rec.status, err, rec.body.String()))
		}
	})
}

type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// unsupportedProperty extracts NAME from kin-openapi's
// `property "NAME" is unsupported`.
func unsupportedProperty(reason string) (string, bool) {
	const pre, post = `property "`, `" is unsupported`
	if strings.HasPrefix(reason, pre) && strings.HasSuffix(reason, post) {
		return reason[len(pre) : len(reason)-len(post)], true
	}
	return "", false
}
