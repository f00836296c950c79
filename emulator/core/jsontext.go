package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/knogin/argus-sandbox/internal/jsonscan"
)

// MaxJSONDepth bounds how deeply a JSON request body may nest objects and
// arrays: no body of the contract comes near it, and a body nested deeper
// is refused before anything decodes it, so neither the router's checks
// nor kin-openapi nor a handler ever walks one.
const MaxJSONDepth = 64

// reasonTooDeep and the other reasons of checkText are the wording of its
// refusals.
var (
	reasonTooDeep   = fmt.Sprintf("nested deeper than %d levels", MaxJSONDepth)
	reasonNotUTF8   = "not UTF-8 (RFC 8259 §8.1)"
	reasonSurrogate = `a \u escape of half a UTF-16 surrogate pair (RFC 8259 §8.2)`
)

// checkText refuses, in one pass over any body, valid JSON or not, what no
// decoder may see (jsonscan.Check): objects and arrays nested deeper than
// MaxJSONDepth, bytes that are not UTF-8, and \u escapes of half a
// surrogate pair, which decoders turn into U+FFFD. It allocates nothing
// unless it refuses; then the offending field's JSON pointer is built by
// pointerAt.
func checkText(data []byte) *FieldError {
	at, flaw := jsonscan.Check(data, MaxJSONDepth)
	if flaw == jsonscan.NoFlaw {
		return nil
	}
	return &FieldError{Field: pointerAt(data, at), Reason: flawReasons[flaw]}
}

// flawReasons words the flaws of checkText.
var flawReasons = map[jsonscan.Flaw]string{
	jsonscan.TooDeep:       reasonTooDeep,
	jsonscan.NotUTF8:       reasonNotUTF8,
	jsonscan.HalfSurrogate: reasonSurrogate,
}

// pathSegment is one step of a JSON pointer: an object member's key, or
// an array index when key is not set.
type pathSegment struct {
	key   string
	index int
	isKey bool
}

// pointerEscaper escapes a key as a JSON pointer reference token (RFC
// 6901 §3).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// jsonPointer writes path as a JSON pointer (RFC 6901); the whole body is
// "/", as in the router's other errors.
func jsonPointer(path []pathSegment) string {
	if len(path) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, s := range path {
		b.WriteByte('/')
		if s.isKey {
			b.WriteString(pointerEscaper.Replace(s.key))
		} else {
			b.WriteString(strconv.Itoa(s.index))
		}
	}
	return b.String()
}

// pointerAt names the value that data[at] belongs to: the member or
// element it is in, or, for a bracket, the object or array it opens. It
// lexes data as checkText does and, called only to word a refusal, may
// allocate; the path it keeps is no deeper than checkText let data[:at]
// nest.
func pointerAt(data []byte, at int) string {
	type frame struct {
		object    bool
		wantKey   bool
		key       []byte // the raw key of the current member, nil before one
		index     int
		keyEscape bool
	}
	frames := make([]frame, 0, MaxJSONDepth)
	for i := 0; i < at; i++ {
		switch data[i] {
		case '"':
			end := jsonscan.StringEnd(data, i)
			if n := len(frames); n > 0 && frames[n-1].object && frames[n-1].wantKey {
				raw := data[i+1 : min(end, len(data))]
				frames[n-1].key, frames[n-1].wantKey = raw, false
				frames[n-1].keyEscape = bytes.IndexByte(raw, '\\') >= 0
			}
			i = end
		case '{':
			frames = append(frames, frame{object: true, wantKey: true})
		case '[':
			frames = append(frames, frame{})
		case '}', ']':
			if len(frames) > 0 {
				frames = frames[:len(frames)-1]
			}
		case ',':
			if n := len(frames); n > 0 && frames[n-1].object {
				frames[n-1].key, frames[n-1].wantKey = nil, true
			} else if n > 0 {
				frames[n-1].index++
			}
		}
	}
	path := make([]pathSegment, 0, len(frames))
	for _, f := range frames {
		switch {
		case !f.object:
			path = append(path, pathSegment{index: f.index})
		case f.key != nil:
			key := string(f.key)
			if f.keyEscape {
				// A key that does not decode (it is malformed) is named
				// as written.
				_ = json.Unmarshal(append(append([]byte{'"'}, f.key...), '"'), &key)
			}
			path = append(path, pathSegment{key: key, isKey: true})
		}
	}
	return jsonPointer(path)
}

// checkJSONMediaType refuses a JSON Content-Type whose parameters do not
// parse or whose charset is not UTF-8: JSON exchanged between systems is
// UTF-8 (RFC 8259 §8.1), and a body declared in another encoding would be
// read as something it is not.
func checkJSONMediaType(ct string) *RequestError {
	if ct == jsonMediaType {
		return nil
	}
	reason := ""
	if _, params, err := mime.ParseMediaType(ct); err != nil {
		reason = "the Content-Type does not parse: " + err.Error()
	} else if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		reason = fmt.Sprintf("charset %q: JSON is UTF-8 (RFC 8259 §8.1)", cs)
	}
	if reason == "" {
		return nil
	}
	return &RequestError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
		Detail: "the request's Content-Type is not accepted by this operation",
		Fields: []FieldError{{Field: "header.Content-Type", Reason: reason}}}
}
