package jsonwrite_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/knogin/argus-sandbox/internal/jsonwrite"
)

// encodingJSON is s as encoding/json writes it.
func encodingJSON(t testing.TB, s string, escapeHTML bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func check(t testing.TB, s string) {
	t.Helper()
	for _, html := range []bool{false, true} {
		got := jsonwrite.AppendString([]byte("x"), s, html)
		if want := append([]byte("x"), encodingJSON(t, s, html)...); !bytes.Equal(got, want) {
			t.Fatalf("escapeHTML %v: AppendString(%q) = %s, encoding/json %s", html, s, got, want)
		}
	}
}

func TestAppendStringIsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "\x00\x01\b\f\n\r\t\x1f\x7f", `"quoted" \back\slash`, "<a href='x'>&amp;</a>",
		"é \U0001F600 \u2028\u2029", "\xff\xfe bad \xc3", "end\xe2\x80"} {
		check(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("<\u2028\xff\"\\\x00é")
	f.Fuzz(func(t *testing.T, s string) { check(t, s) })
}
