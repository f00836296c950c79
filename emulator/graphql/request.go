package graphql

import (
	"bytes"
	"encoding/json"

	"github.com/knogin/argus-sandbox/internal/jsonscan"
)

// decodeRequest decodes a GraphQL-over-HTTP request body into req, with
// integers kept exact (json.Number) for Int and ID coercion.
//
// The usual body, an object of query, variables and operationName, is read
// by a small scanner that decodes it as encoding/json would; any other body
// (extensions, keys spelled otherwise, text encoding/json would repair,
// trailing data, malformed JSON) goes to encoding/json, whose answer
// stands.
func decodeRequest(body []byte, req *gqlRequest) error {
	if s := (requestScanner{b: body}); s.request(req) {
		return nil
	}
	*req = gqlRequest{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(req)
}

// requestScanner reads the common request shape; request returns false as
// soon as the input leaves it, and the caller falls back to encoding/json.
type requestScanner struct {
	b []byte
}

// maxScanDepth bounds the nesting of variables the scanner follows before
// handing the body to encoding/json.
const maxScanDepth = 32

// request reads the body into req. Field names are compared exactly, where
// encoding/json would also match other spellings of them (in another case
// or with escapes): those bodies, and repeated or unknown fields, take the
// fallback.
func (rs requestScanner) request(req *gqlRequest) bool {
	s := jsonscan.NewScanner(rs.b)
	if !s.Open('{') {
		return false
	}
	var seenQuery, seenVars, seenName bool
	for first := true; s.More('}', first); first = false {
		key, ok := s.PlainKey()
		if !ok {
			return false
		}
		null := s.Null()
		switch {
		case string(key) == "query" && !seenQuery:
			seenQuery = true
			if !null {
				if req.Query, ok = s.Unquote(); !ok {
					return false
				}
			}
		case string(key) == "operationName" && !seenName:
			seenName = true
			if !null {
				if req.OperationName, ok = s.Unquote(); !ok {
					return false
				}
			}
		case string(key) == "variables" && !seenVars:
			seenVars = true
			if !null {
				if s.Peek() != '{' {
					return false
				}
				v, ok := s.Any(maxScanDepth)
				if !ok {
					return false
				}
				req.Variables = v.(map[string]any)
			}
		default:
			return false
		}
	}
	return s.End()
}
