package journal

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// secretFields are the form fields and JSON members whose values never
// reach the journal: client and webhook secrets, passwords, tokens,
// authorization codes, PKCE verifiers and client assertions.
var secretFields = map[string]bool{
	"client_secret": true, "secret": true, "password": true, "token": true,
	"access_token": true, "refresh_token": true, "id_token": true,
	"code": true, "code_verifier": true, "assertion": true,
}

// unreadable stands for a body that could not be parsed, so could not be
// redacted field by field: it is not recorded at all.
const unreadable = "[redacted: the body could not be parsed]"

// RedactBody returns body as the journal keeps it: secret form fields and
// JSON members (at any depth) replaced with core.RedactedValue, cut to
// MaxBody bytes (truncated is then true). A body that is neither a form
// nor JSON, or does not parse, is replaced whole: a secret in a malformed
// body is still a secret.
func RedactBody(contentType string, body []byte) (string, bool) {
	mt, _, _ := mime.ParseMediaType(contentType)
	var out string
	switch {
	case mt == "application/x-www-form-urlencoded":
		out = redactForm(body)
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		out = redactJSON(body)
	default:
		out = unreadable
	}
	if len(out) <= MaxBody {
		return out, false
	}
	cut := MaxBody
	for cut > 0 && !utf8.RuneStart(out[cut]) {
		cut--
	}
	return out[:cut], true
}

// redactForm rewrites the secret fields of a form in place, keeping the
// order and encoding of the others.
func redactForm(body []byte) string {
	var b strings.Builder
	for i, pair := range strings.Split(string(body), "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		k, _, hasValue := strings.Cut(pair, "=")
		if name, err := url.QueryUnescape(k); err == nil && hasValue && secretFields[strings.ToLower(name)] {
			b.WriteString(k)
			b.WriteString("=" + core.RedactedValue)
			continue
		}
		b.WriteString(pair)
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// redactJSON replaces the secret members of a JSON body. The body is
// re-encoded (members in key order), so the journal shows valid JSON.
func redactJSON(body []byte) string {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return unreadable
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return unreadable
	}
	return string(out)
}

func redactValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, m := range v {
			if secretFields[strings.ToLower(k)] {
				v[k] = core.RedactedValue
				continue
			}
			v[k] = redactValue(m)
		}
	case []any:
		for i, m := range v {
			v[i] = redactValue(m)
		}
	}
	return v
}

// isForm reports whether a Content-Type is a URL-encoded form.
func isForm(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/x-www-form-urlencoded"
}

// formClient finds client_id and whether client_secret is present in a
// form body.
func formClient(body []byte) (clientID string, secret bool) {
	for pair := range strings.SplitSeq(string(body), "&") {
		k, v, _ := strings.Cut(pair, "=")
		switch formUnescape(k) {
		case "client_id":
			clientID = formUnescape(v)
		case "client_secret":
			secret = true
		}
	}
	return clientID, secret
}

func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
