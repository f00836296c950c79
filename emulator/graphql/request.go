package graphql

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// decodeRequest decodes a GraphQL-over-HTTP request body into req, with
// integers kept exact (json.Number) for Int and ID coercion.
//
// The usual body, an object of query, variables and operationName, is read
// by a small scanner that decodes it as encoding/json would; any other body
// (extensions, keys spelled otherwise, \u escapes, invalid UTF-8, trailing
// data, malformed JSON) goes to encoding/json, whose answer stands.
func decodeRequest(body []byte, req *gqlRequest) error {
	if s := (requestScanner{b: body}); s.request(req) {
		return nil
	}
	*req = gqlRequest{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(req)
}

// requestScanner reads the common request shape; each method returns false
// as soon as the input leaves it, and the caller falls back to
// encoding/json.
type requestScanner struct {
	b []byte
	i int
}

// maxScanDepth bounds the nesting the scanner follows before handing the
// body to encoding/json.
const maxScanDepth = 32

func (s *requestScanner) request(req *gqlRequest) bool {
	if !s.byte('{') {
		return false
	}
	var seenQuery, seenVars, seenName bool
	for first := true; ; first = false {
		s.space()
		if first && s.peek() == '}' {
			s.i++
			break
		}
		key, ok := s.plainKey()
		if !ok || !s.byte(':') {
			return false
		}
		s.space()
		null := s.null()
		switch {
		case key == "query" && !seenQuery:
			seenQuery = true
			if !null && !s.str(&req.Query) {
				return false
			}
		case key == "operationName" && !seenName:
			seenName = true
			if !null && !s.str(&req.OperationName) {
				return false
			}
		case key == "variables" && !seenVars:
			seenVars = true
			if !null {
				if s.peek() != '{' {
					return false
				}
				v, ok := s.value(0)
				if !ok {
					return false
				}
				req.Variables = v.(map[string]any)
			}
		default:
			return false
		}
		if more, ok := s.next('}'); !ok {
			return false
		} else if !more {
			break
		}
	}
	s.space()
	return s.i == len(s.b)
}

func (s *requestScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// space skips JSON whitespace (RFC 8259 §2).
func (s *requestScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte skips whitespace and then c.
func (s *requestScanner) byte(c byte) bool {
	s.space()
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

func (s *requestScanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

func (s *requestScanner) null() bool { return s.literal("null") }

// plainKey reads an object key without escapes; keys are compared
// exactly, where encoding/json would also match other spellings of a
// field's name (those bodies take the fallback).
func (s *requestScanner) plainKey() (string, bool) {
	if s.peek() != '"' {
		return "", false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			return string(s.b[start:j]), true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return "", false
		}
	}
	return "", false
}

// str reads a string into dst, decoding the escapes of RFC 8259 §7 other
// than \u.
func (s *requestScanner) str(dst *string) bool {
	if s.peek() != '"' {
		return false
	}
	s.i++
	start := s.i
	// Fast path: no escapes, copy the bytes once.
	esc := start
	for ; esc < len(s.b); esc++ {
		c := s.b[esc]
		if c == '"' {
			if !utf8.Valid(s.b[start:esc]) {
				return false // encoding/json would replace the bad bytes
			}
			*dst = string(s.b[start:esc])
			s.i = esc + 1
			return true
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return false
		}
	}
	// The decoded string is at most as long as the rest of it, but sizing
	// the buffer by the rest of the body would allocate the body again for
	// every escaped string in it: start from the part read and let append
	// grow it.
	out := append(make([]byte, 0, esc-start+16), s.b[start:esc]...)
	for j := esc; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return false
			}
			*dst = string(out)
			s.i = j + 1
			return true
		case c < 0x20:
			return false
		case c != '\\':
			out = append(out, c)
			continue
		}
		if j+1 >= len(s.b) {
			return false
		}
		j++
		switch s.b[j] {
		case '"', '\\', '/':
			out = append(out, s.b[j])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default: // \u (surrogate pairs and their repair) and invalid escapes
			return false
		}
	}
	return false
}

// value reads any JSON value as encoding/json decodes it into an any with
// UseNumber: map[string]any, []any, string, json.Number, bool or nil.
func (s *requestScanner) value(depth int) (any, bool) {
	if depth > maxScanDepth {
		return nil, false
	}
	s.space()
	switch c := s.peek(); {
	case c == '{':
		s.i++
		m := map[string]any{}
		s.space()
		if s.peek() == '}' {
			s.i++
			return m, true
		}
		for {
			s.space()
			key, ok := s.plainKey()
			if !ok || !s.byte(':') {
				return nil, false
			}
			v, ok := s.value(depth + 1)
			if !ok {
				return nil, false
			}
			m[key] = v // a repeated key keeps its last value, as in encoding/json
			if more, ok := s.next('}'); !ok {
				return nil, false
			} else if !more {
				return m, true
			}
		}
	case c == '[':
		s.i++
		list := []any{}
		s.space()
		if s.peek() == ']' {
			s.i++
			return list, true
		}
		for {
			v, ok := s.value(depth + 1)
			if !ok {
				return nil, false
			}
			list = append(list, v)
			if more, ok := s.next(']'); !ok {
				return nil, false
			} else if !more {
				return list, true
			}
		}
	case c == '"':
		// Read str after the call: in one return statement the Go spec
		// leaves the order of the two unspecified.
		var str string
		ok := s.str(&str)
		return str, ok
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case s.literal("true"):
		return true, true
	case s.literal("false"):
		return false, true
	case s.null():
		return nil, true
	}
	return nil, false
}

// number reads a number of the JSON grammar (RFC 8259 §6) as json.Number.
func (s *requestScanner) number() (any, bool) {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return nil, false
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return nil, false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return nil, false
		}
	}
	return json.Number(s.b[start:s.i]), true
}

// next reads what follows a member of an object or an element of an
// array: a comma (more follows) or the closing bracket.
func (s *requestScanner) next(closing byte) (more, ok bool) {
	s.space()
	switch s.peek() {
	case ',':
		s.i++
		return true, true
	case closing:
		s.i++
		return false, true
	}
	return false, false
}

// digits skips one or more decimal digits.
func (s *requestScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
