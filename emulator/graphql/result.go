package graphql

import (
	"sync"
	"unicode/utf8"
)

// response is one GraphQL response (spec §7.1). hasData distinguishes a
// request error (no "data" entry at all) from an execution whose data
// became null through non-null propagation. data is the JSON of the data
// entry, written by the executor.
type response struct {
	errors  []*gqlError
	data    []byte
	hasData bool
}

// dataBuffers recycles the buffers the executor writes results into.
var dataBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getDataBuffer() *[]byte { return dataBuffers.Get().(*[]byte) }

// putDataBuffer gives b back to dataBuffers, unless it grew beyond
// maxPooledBuffer.
func putDataBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		*b = (*b)[:0]
		dataBuffers.Put(b)
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string (RFC 8259 §7), escaping control
// characters, quotes, backslashes and the HTML-sensitive <, > and & the way
// encoding/json does, and replacing invalid UTF-8.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
