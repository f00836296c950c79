package core

import "encoding/json"

// AppendJSONString appends s as a JSON string, byte for byte what
// json.Marshal writes: printable ASCII that encoding/json leaves alone is
// copied between quotes; anything else (escapes, the HTML characters <, >
// and &, non-ASCII, invalid UTF-8) is encoded by encoding/json itself.
// Hand-assembled JSON on hot paths (token claims, webhook events) uses it.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
