package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/knogin/argus-sandbox/internal/jsonscan"
)

// queryRules lists an operation's declared query parameters and which of
// them may repeat (arrays).
type queryRules struct {
	declared map[string]bool
	repeat   map[string]bool
}

func newQueryRules(route *routers.Route) queryRules {
	q := queryRules{declared: map[string]bool{}, repeat: map[string]bool{}}
	add := func(ps openapi3.Parameters) {
		for _, p := range ps {
			if p.Value == nil || p.Value.In != openapi3.ParameterInQuery {
				continue
			}
			q.declared[p.Value.Name] = true
			if s := p.Value.Schema; s != nil && s.Value != nil && s.Value.Type.Is(openapi3.TypeArray) {
				q.repeat[p.Value.Name] = true
			}
		}
	}
	add(route.PathItem.Parameters)
	add(route.Operation.Parameters)
	return q
}

// checkRaw parses a query string, refusing one that does not parse, and,
// unless lenient, checks its parameters.
func (q queryRules) checkRaw(raw string, lenient bool) *RequestError {
	if raw == "" {
		return nil
	}
	vals, rerr := parseQuery(raw)
	if rerr == nil && !lenient {
		rerr = q.check(vals)
	}
	return rerr
}

// check refuses query parameters the operation does not declare and
// repeated ones that are not arrays: a misspelt filter must not silently
// return unfiltered data. access_token is refused earlier with its own
// message. The first MaxProblemErrors offenders in name order are named.
func (q queryRules) check(query url.Values) *RequestError {
	type offence struct {
		name     string
		repeated bool
	}
	var bad []offence
	for name, vals := range query {
		switch {
		case name == "access_token":
		case !q.declared[name]:
			bad = append(bad, offence{name: name})
		case len(vals) > 1 && !q.repeat[name]:
			bad = append(bad, offence{name: name, repeated: true})
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Slice(bad, func(i, j int) bool { return bad[i].name < bad[j].name })
	var fields fieldList
	for _, b := range bad {
		reason := "unknown query parameter"
		if b.repeated {
			reason = "given more than once"
		}
		fields.add(FieldError{Field: "query." + b.name, Reason: reason})
	}
	return &RequestError{Status: http.StatusBadRequest, Code: "invalid_request", Fields: fields.list, Omitted: fields.omitted,
		Detail: "the request does not match the operation's parameters: " + fields.names()}
}

// parseQuery parses a query string as url.ParseQuery does, but refuses
// one that does not parse rather than dropping the pairs it cannot read
// (a garbled filter would list everything), naming the first such pair.
func parseQuery(raw string) (url.Values, *RequestError) {
	vals, err := url.ParseQuery(raw)
	if err == nil {
		return vals, nil
	}
	reason := err.Error()
	for pair := range strings.SplitSeq(raw, "&") {
		if strings.Contains(pair, ";") {
			reason = "a semicolon does not separate parameters (use &)"
		} else if k, v, _ := strings.Cut(pair, "="); !validEscapes(k) || !validEscapes(v) {
			reason = "invalid percent-encoding"
		} else {
			continue
		}
		const maxQuoted = 64
		if len(pair) > maxQuoted {
			pair = pair[:maxQuoted] + "..."
		}
		reason = strconv.Quote(pair) + ": " + reason
		break
	}
	return nil, &RequestError{Status: http.StatusBadRequest, Code: "invalid_request",
		Detail: "the query string does not parse: " + reason, Fields: []FieldError{{Field: "query", Reason: reason}}}
}

// validEscapes reports whether url.QueryUnescape accepts s.
func validEscapes(s string) bool {
	_, err := url.QueryUnescape(s)
	return err == nil
}

// isJSON reports whether a Content-Type names JSON as kin-openapi reads
// it: the media type before any parameters, case-insensitively,
// application/json or a +json type (RFC 6839). Whatever kin-openapi would
// decode as JSON must pass the router's checks first, even when its
// parameters do not parse.
func isJSON(ct string) bool {
	switch ct {
	case jsonMediaType:
		return true
	case "", formMediaType:
		return false
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == jsonMediaType || strings.HasSuffix(mt, "+json")
}

// errDuplicateKey and errTrailingData are refusals of checkJSON.
var (
	errDuplicateKey = errors.New("duplicate key")
	errTrailingData = errors.New("data after the JSON value")
)

// checkJSON refuses what encoding/json would silently accept: data after
// the value and duplicate object keys (RFC 8259 §4 says names SHOULD be
// unique; which duplicate wins differs between parsers, so the contract
// refuses them). Before anything else, checkText refuses bodies nested
// deeper than MaxJSONDepth or not in UTF-8, valid JSON or not. Malformed
// JSON is otherwise left to the schema validator.
//
// Almost every body is valid JSON whose keys are plain ASCII:
// jsonscan.Valid and plainUniqueKeys clear those without allocating;
// anything else (a duplicate, an escaped or non-ASCII key, malformed JSON)
// is examined token by token by scanJSON, which names the offending field.
func checkJSON(data []byte) *FieldError {
	fe, _ := checkJSONValid(data)
	return fe
}

// checkJSONValid is checkJSON, also reporting whether data is valid JSON
// (json.Valid), which the router's fast check relies on. Past checkText,
// data nests at most MaxJSONDepth deep, and jsonscan.Valid is json.Valid.
func checkJSONValid(data []byte) (fe *FieldError, valid bool) {
	if fe := checkText(data); fe != nil {
		return fe, false
	}
	valid = jsonscan.Valid(data, MaxJSONDepth)
	if valid && plainUniqueKeys(data) {
		return nil, true
	}
	return scanJSON(data), valid
}

// maxPlainKeys bounds the keys of one object that plainUniqueKeys
// compares pairwise; a larger object's keys are sorted when it closes, and
// equal neighbours are duplicates.
const maxPlainKeys = 64

// plainUniqueKeys reports whether data, which must be valid JSON, has no
// two equal keys in one object, all its keys being printable ASCII without
// escapes (whose decoded form is then the raw bytes). It reports false
// when unsure.
func plainUniqueKeys(data []byte) bool {
	type frame struct {
		object bool
		start  int // of the object's keys in keys
	}
	var framesBuf [16]frame
	var keysBuf [32][]byte
	frames, keys := framesBuf[:0], keysBuf[:0]
	expectKey := false
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			frames = append(frames, frame{object: true, start: len(keys)})
			expectKey = true
		case '[':
			frames = append(frames, frame{start: len(keys)})
		case '}', ']':
			if own := keys[frames[len(frames)-1].start:]; len(own) > maxPlainKeys && sortedDuplicate(own) {
				return false
			}
			keys = keys[:frames[len(frames)-1].start]
			frames = frames[:len(frames)-1]
			expectKey = false
		case ',':
			expectKey = frames[len(frames)-1].object
		case '"':
			if !expectKey {
				i = jsonscan.StringEnd(data, i)
				continue
			}
			j, plain := jsonscan.PlainString(data, i)
			if !plain {
				return false
			}
			f := frames[len(frames)-1]
			key := data[i+1 : j]
			if len(keys)-f.start < maxPlainKeys {
				for _, k := range keys[f.start:] {
					if bytes.Equal(k, key) {
						return false
					}
				}
			}
			keys = append(keys, key)
			expectKey = false
			i = j
		}
	}
	return true
}

// sortedDuplicate sorts keys and reports whether two are equal.
func sortedDuplicate(keys [][]byte) bool {
	slices.SortFunc(keys, bytes.Compare)
	for i := 1; i < len(keys); i++ {
		if bytes.Equal(keys[i-1], keys[i]) {
			return true
		}
	}
	return false
}

// scanJSON is checkJSON's duplicate and trailing-data rules on any input,
// token by token. It keeps the path to the current value as its keys and
// indices, and builds a JSON pointer only for the error it reports.
func scanJSON(data []byte) *FieldError {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var path []pathSegment
	fe, err := scanValue(dec, &path)
	if err != nil {
		return nil // malformed: the validator names it
	}
	if fe != nil {
		return fe
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &FieldError{Field: "/", Reason: errTrailingData.Error()}
	}
	return nil
}

// scanValue reads one JSON value at *path, reporting the first duplicate
// key with its JSON pointer (RFC 6901).
func scanValue(dec *json.Decoder, path *[]pathSegment) (*FieldError, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		keys := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := kt.(string)
			*path = append(*path, pathSegment{key: key, isKey: true})
			if keys[key] {
				return &FieldError{Field: jsonPointer(*path), Reason: errDuplicateKey.Error()}, nil
			}
			keys[key] = true
			if fe, err := scanValue(dec, path); fe != nil || err != nil {
				return fe, err
			}
			*path = (*path)[:len(*path)-1]
		}
		_, err = dec.Token()
		return nil, err
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			*path = append(*path, pathSegment{index: i})
			if fe, err := scanValue(dec, path); fe != nil || err != nil {
				return fe, err
			}
			*path = (*path)[:len(*path)-1]
		}
		_, err = dec.Token()
		return nil, err
	}
	return nil, nil
}
