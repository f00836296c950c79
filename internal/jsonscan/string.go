package jsonscan

import (
	"unicode/utf16"
	"unicode/utf8"
)

// StringEnd returns the index of the quote closing the string opened at
// data[i] (len(data) when there is none), whatever the string holds: a
// backslash escapes the byte after it.
func StringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '"':
			return j
		case '\\':
			j++
		}
	}
	return len(data)
}

// PlainString reads the string opened at data[i] when it is plain: bytes
// 0x20 to 0x7f other than the backslash, so that its raw bytes are its
// value, as every decoder reads it. It returns the index of the closing
// quote, or false at the first byte that is not plain and when the string
// does not end.
func PlainString(data []byte, i int) (end int, ok bool) {
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return j, true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return j, false
		}
	}
	return len(data), false
}

// inString marks the bytes that end the plain run of a string for
// skipString: the quote, the backslash and the control characters that
// RFC 8259 §7 requires to be escaped.
var inString = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// skipString returns the index just past the string opened at data[i], or
// -1 when it breaks the grammar of RFC 8259 §7: a control character, an
// escape other than \" \\ \/ \b \f \n \r \t and \u with four hex digits,
// or no closing quote. As in json.Valid, the bytes need not be UTF-8.
func skipString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		c := data[j]
		if !inString[c] {
			continue
		}
		switch c {
		case '"':
			return j + 1
		case '\\':
			if j+1 >= len(data) {
				return -1
			}
			j++
			switch data[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, ok := hex4(data, j+1); !ok {
					return -1
				}
				j += 4
			default:
				return -1
			}
		default:
			return -1 // a control character
		}
	}
	return -1
}

// unquote decodes the string opened at data[i] as encoding/json does and
// returns it with the index just past it. It reports false for a string
// that breaks the grammar and for one encoding/json would repair: bytes
// that are not UTF-8, or a \u escape of half a surrogate pair, which it
// would turn into U+FFFD.
func unquote(data []byte, i int) (s string, next int, ok bool) {
	start := i + 1
	// Without escapes the value is the bytes, copied once.
	esc := start
	for ; esc < len(data); esc++ {
		c := data[esc]
		if !inString[c] {
			continue
		}
		if c != '"' {
			break
		}
		if !utf8.Valid(data[start:esc]) {
			return "", 0, false
		}
		return string(data[start:esc]), esc + 1, true
	}
	if esc >= len(data) || data[esc] != '\\' {
		return "", 0, false
	}
	// The decoded string is at most as long as the rest of it, but sizing
	// the buffer by the rest of the text would allocate the text again for
	// every escaped string in it: start from the part read and let append
	// grow it.
	out := append(make([]byte, 0, esc-start+16), data[start:esc]...)
	for j := esc; j < len(data); j++ {
		c := data[j]
		switch {
		case c == '"':
			// Decoded runes are whole UTF-8 sequences, so out is UTF-8
			// exactly when the raw bytes around them are.
			if !utf8.Valid(out) {
				return "", 0, false
			}
			return string(out), j + 1, true
		case c < 0x20:
			return "", 0, false
		case c != '\\':
			out = append(out, c)
			continue
		}
		if j+1 >= len(data) {
			return "", 0, false
		}
		j++
		switch e := data[j]; e {
		case '"', '\\', '/':
			out = append(out, e)
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
		case 'u':
			r, ok := hex4(data, j+1)
			switch {
			case !ok || isLowSurrogate(r):
				return "", 0, false
			case isHighSurrogate(r):
				lo, ok := hex4(data, j+7)
				if !ok || data[j+5] != '\\' || data[j+6] != 'u' || !isLowSurrogate(lo) {
					return "", 0, false
				}
				r = utf16.DecodeRune(r, lo)
				j += 6
			}
			out = utf8.AppendRune(out, r)
			j += 4
		default:
			return "", 0, false
		}
	}
	return "", 0, false
}
