// Package jsonscan is the lexical machinery of the module's JSON scanners
// (RFC 8259): whitespace; strings (where they end, whether they are UTF-8
// without half surrogate pairs, whether their bytes are their value, their
// decoded value); numbers and literals; values skipped or decoded within a
// nesting bound; the members of an object. It reads a byte slice and
// allocates only for what it decodes.
//
// Where it reads the same text as encoding/json it answers alike (Valid is
// json.Valid; Scanner.Any is Unmarshal into an any with UseNumber), and
// where encoding/json would repair the text (invalid UTF-8, half a
// surrogate pair) it refuses, so a caller falls back to encoding/json and
// its answer stands. Each caller keeps its own policy: which keys it
// refuses, which fields it reads, what it proves without a full decoder.
// It imports nothing of the module, so the router's core and the surfaces
// share it.
package jsonscan

import "unicode/utf8"

// Flaw is what Check finds in text that no decoder may be given.
type Flaw uint8

// The flaws Check reports.
const (
	// NoFlaw: Check found nothing.
	NoFlaw Flaw = iota
	// TooDeep: objects and arrays nest deeper than the bound.
	TooDeep
	// NotUTF8: a byte that is not part of UTF-8 text (RFC 8259 §8.1).
	NotUTF8
	// HalfSurrogate: a \u escape of half a UTF-16 surrogate pair (RFC 8259
	// §8.2), which decoders turn into U+FFFD.
	HalfSurrogate
)

// Check looks through any text, valid JSON or not, in one pass for what
// no decoder may see: objects and arrays nested deeper than maxDepth,
// bytes that are not UTF-8, and \u escapes of half a surrogate pair. It
// returns the index of the first flaw, or -1 and NoFlaw. Brackets inside
// strings are not nesting; malformed text is lexed as far as it goes,
// counting every bracket outside a string, which never undercounts what a
// decoder would nest. It allocates nothing.
func Check(data []byte, maxDepth int) (at int, flaw Flaw) {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			end, bad, f := checkString(data, i)
			if f != NoFlaw {
				return bad, f
			}
			i = end
		case c == '{' || c == '[':
			if depth++; depth > maxDepth {
				return i, TooDeep
			}
		case c == '}' || c == ']':
			if depth > 0 {
				depth--
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return i, NotUTF8
			}
			i += size - 1
		}
	}
	return -1, NoFlaw
}

// checkString reads the string whose opening quote is at data[i] and
// returns the index of its closing quote (len(data) when there is none),
// or, at bad, where it has a flaw of Check. A malformed escape is passed
// over: the validator that reads the text names it.
func checkString(data []byte, i int) (end, bad int, flaw Flaw) {
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return j, -1, NoFlaw
		case c == '\\':
			if j+1 >= len(data) {
				return len(data), -1, NoFlaw
			}
			if data[j+1] != 'u' {
				if data[j+1] < utf8.RuneSelf {
					j++ // an escaped quote or backslash is no delimiter
				}
				continue
			}
			v, ok := hex4(data, j+2)
			switch {
			case !ok:
				j++
			case isHighSurrogate(v): // a low one must follow
				if lo, ok := hex4(data, j+8); ok && data[j+6] == '\\' && data[j+7] == 'u' && isLowSurrogate(lo) {
					j += 11
					continue
				}
				return j, j, HalfSurrogate
			case isLowSurrogate(v):
				return j, j, HalfSurrogate
			default:
				j += 5
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(data[j:])
			if r == utf8.RuneError && size == 1 {
				return j, j, NotUTF8
			}
			j += size - 1
		}
	}
	return len(data), -1, NoFlaw
}

func isHighSurrogate(r rune) bool { return r >= 0xd800 && r < 0xdc00 }
func isLowSurrogate(r rune) bool  { return r >= 0xdc00 && r < 0xe000 }

// hex4 decodes the four hex digits at data[i:], as a \u escape has them.
func hex4(data []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(data) {
		return 0, false
	}
	var v rune
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}
