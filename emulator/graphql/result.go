package graphql

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// response is one GraphQL response (spec §7.1). hasData distinguishes a
// request error (no "data" entry at all) from an execution whose data
// became null through non-null propagation.
type response struct {
	errors  []*gqlError
	data    any
	hasData bool
}

// object is a result map that keeps the order of the selection set, as the
// spec requires of serialized responses (§7.2.2, ordered maps).
type object struct {
	entries []entry
}

type entry struct {
	key string
	val any
}

func (o *object) set(k string, v any) {
	o.entries = append(o.entries, entry{k, v})
}

// appendJSON writes the executor's result values: nil, bool, string,
// int64, float64, []any and *object.
func appendJSON(buf *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case string:
		appendString(buf, x)
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case float64:
		raw, _ := json.Marshal(x)
		buf.Write(raw)
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			appendJSON(buf, e)
		}
		buf.WriteByte(']')
	case *object:
		if x == nil {
			buf.WriteString("null")
			return
		}
		buf.WriteByte('{')
		for i, e := range x.entries {
			if i > 0 {
				buf.WriteByte(',')
			}
			appendString(buf, e.key)
			buf.WriteByte(':')
			appendJSON(buf, e.val)
		}
		buf.WriteByte('}')
	default:
		raw, err := json.Marshal(x)
		if err != nil {
			buf.WriteString("null")
			return
		}
		buf.Write(raw)
	}
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string (RFC 8259 §7), escaping control
// characters, quotes, backslashes and the HTML-sensitive <, > and & the way
// encoding/json does, and replacing invalid UTF-8.
func appendString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			buf.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case '\t':
				buf.WriteString(`\t`)
			default:
				buf.WriteString(`\u00`)
				buf.WriteByte(hexDigits[c>>4])
				buf.WriteByte(hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf.WriteString(s[start:i])
			buf.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf.WriteString(s[start:i])
			buf.WriteString(`\u202`)
			buf.WriteByte(hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}
