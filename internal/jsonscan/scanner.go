package jsonscan

import "encoding/json"

// Scanner reads JSON text one value or punctuation mark at a time. Each
// method skips the whitespace before what it reads and reports false as
// soon as the text is not what it reads; the position is then undefined,
// and the caller gives up (or falls back to a full decoder).
type Scanner struct {
	data []byte
	pos  int
	// broken: More met something other than a comma or the closing
	// bracket, which its false does not tell apart from the end.
	broken bool
}

// NewScanner returns a Scanner at the start of data.
func NewScanner(data []byte) Scanner { return Scanner{data: data} }

// Space skips whitespace (RFC 8259 §2).
func (s *Scanner) Space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// Peek skips whitespace and returns the byte that follows, 0 at the end:
// '{', '[', '"', 'n' and so on tell the kind of the value there.
func (s *Scanner) Peek() byte {
	s.Space()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// Open reads the bracket c ('{' or '[') that opens an object or array.
func (s *Scanner) Open(c byte) bool {
	if s.Peek() != c {
		return false
	}
	s.pos++
	return true
}

// More reports whether another member or element follows in the object or
// array being read, whose closing bracket is closer: it reads the comma
// before it, or the closing bracket. first is true before the first
// member. A false means the end, unless the text had something else there:
// then End reports false too.
//
//	for first := true; s.More('}', first); first = false {
//		key, ok := s.Key() ...
//	}
func (s *Scanner) More(closer byte, first bool) bool {
	s.Space()
	if s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c == closer:
			s.pos++
			return false
		case first:
			return true // a member, which its reader checks
		case c == ',':
			s.pos++
			return true
		}
	}
	s.broken = true
	return false
}

// Broken reports whether a More has met something other than a comma or a
// closing bracket.
func (s *Scanner) Broken() bool { return s.broken }

// PlainKey reads an object member's name and the colon after it, when the
// name is plain (see PlainString): its raw bytes are returned, valid until
// data changes. Any other name reports false, as a caller comparing names
// byte for byte would misread it.
func (s *Scanner) PlainKey() ([]byte, bool) {
	if s.Peek() != '"' {
		return nil, false
	}
	end, ok := PlainString(s.data, s.pos)
	if !ok {
		return nil, false
	}
	key := s.data[s.pos+1 : end]
	s.pos = end + 1
	return key, s.colon()
}

// Key reads an object member's name, decoded as Unquote decodes it, and
// the colon after it.
func (s *Scanner) Key() (string, bool) {
	key, ok := s.Unquote()
	return key, ok && s.colon()
}

func (s *Scanner) colon() bool {
	if s.Peek() != ':' {
		return false
	}
	s.pos++
	return true
}

// Unquote reads a string value and returns it decoded as encoding/json
// decodes it. It reports false for a string that is not one and for one
// encoding/json would repair (bytes that are not UTF-8, half a surrogate
// pair), whose value the caller leaves to encoding/json.
func (s *Scanner) Unquote() (string, bool) {
	if s.Peek() != '"' {
		return "", false
	}
	v, next, ok := unquote(s.data, s.pos)
	s.pos = next
	return v, ok
}

// Null reads the literal null. Anything else reports false and leaves
// the scanner where it was, to read the value otherwise.
func (s *Scanner) Null() bool { return s.Peek() == 'n' && s.literal("null") }

func (s *Scanner) literal(lit string) bool {
	if len(s.data)-s.pos >= len(lit) && string(s.data[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return true
	}
	return false
}

// Skip reads one value of any kind as the grammar of RFC 8259 has it,
// with objects and arrays nested at most maxDepth deep, and allocates
// nothing for text nested up to 32 deep. Like json.Valid, it does not
// require strings to be UTF-8 (Check does).
func (s *Scanner) Skip(maxDepth int) bool {
	var buf [32]byte
	open := buf[:0] // the closing brackets of the values being read, innermost last
	for {
		// A value.
		switch c := s.Peek(); {
		case c == '{' || c == '[':
			if len(open) >= maxDepth {
				return false
			}
			s.pos++
			closer := c + 2 // '{' + 2 is '}', '[' + 2 is ']'
			if s.Peek() == closer {
				s.pos++
				break
			}
			open = append(open, closer)
			if c == '{' && !s.skipKey() {
				return false
			}
			continue
		case c == '"':
			if s.pos = skipString(s.data, s.pos); s.pos < 0 {
				return false
			}
		case c == '-' || c >= '0' && c <= '9':
			if s.pos = numberEnd(s.data, s.pos); s.pos < 0 {
				return false
			}
		case c == 't':
			if !s.literal("true") {
				return false
			}
		case c == 'f':
			if !s.literal("false") {
				return false
			}
		case c == 'n':
			if !s.literal("null") {
				return false
			}
		default:
			return false
		}
		// After a value: the brackets it closes, then the comma before
		// the next one.
		for {
			if len(open) == 0 {
				return true
			}
			closer := open[len(open)-1]
			if c := s.Peek(); c == closer {
				s.pos++
				open = open[:len(open)-1]
				continue
			} else if c != ',' {
				return false
			}
			s.pos++
			if closer == '}' && !s.skipKey() {
				return false
			}
			break
		}
	}
}

// skipKey reads an object member's name and the colon after it.
func (s *Scanner) skipKey() bool {
	if s.Peek() != '"' {
		return false
	}
	if s.pos = skipString(s.data, s.pos); s.pos < 0 {
		return false
	}
	return s.colon()
}

// Any reads one value as encoding/json decodes it into an any with
// UseNumber: map[string]any, []any, string, json.Number, bool or nil (a
// repeated key keeps its last value). Objects and arrays nest at most
// maxDepth deep. Text encoding/json would repair reports false, as in
// Unquote.
func (s *Scanner) Any(maxDepth int) (any, bool) {
	switch c := s.Peek(); {
	case c == '{':
		if maxDepth <= 0 {
			return nil, false
		}
		s.pos++
		m := map[string]any{}
		for first := true; s.More('}', first); first = false {
			key, ok := s.Key()
			if !ok {
				return nil, false
			}
			v, ok := s.Any(maxDepth - 1)
			if !ok {
				return nil, false
			}
			m[key] = v
		}
		return m, !s.broken
	case c == '[':
		if maxDepth <= 0 {
			return nil, false
		}
		s.pos++
		list := []any{}
		for first := true; s.More(']', first); first = false {
			v, ok := s.Any(maxDepth - 1)
			if !ok {
				return nil, false
			}
			list = append(list, v)
		}
		return list, !s.broken
	case c == '"':
		// Read v after the call: in one return statement the Go spec
		// leaves the order of the two unspecified.
		v, ok := s.Unquote()
		return v, ok
	case c == '-' || c >= '0' && c <= '9':
		start := s.pos
		if s.pos = numberEnd(s.data, s.pos); s.pos < 0 {
			return nil, false
		}
		return json.Number(s.data[start:s.pos]), true
	case s.literal("true"):
		return true, true
	case s.literal("false"):
		return false, true
	case s.literal("null"):
		return nil, true
	}
	return nil, false
}

// End reports whether only whitespace is left and every More met a comma
// or a closing bracket.
func (s *Scanner) End() bool {
	s.Space()
	return !s.broken && s.pos == len(s.data)
}

// Valid reports whether data is one JSON value, with whitespace around it,
// nested at most maxDepth deep: json.Valid with the bound at 10000.
func Valid(data []byte, maxDepth int) bool {
	s := NewScanner(data)
	return s.Skip(maxDepth) && s.End()
}

// numberEnd returns the index just past the number at data[i] (RFC 8259
// §6), or -1 when there is none.
func numberEnd(data []byte, i int) int {
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		i = digits(data, i+1)
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// digits returns the index past the decimal digits at data[i:].
func digits(data []byte, i int) int {
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	return i
}
