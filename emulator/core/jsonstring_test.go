package core

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONStringIsJSONMarshal(t *testing.T) {
	for _, s := range []string{"", "acme", "evt_0123456789", `a"b`, `back\slash`, "<b>&</b>", "tab\there", "\x00\x1f\x7f",
		"é", "\u2028\u2029", "\xff\xfe invalid", "emoji 🎉", "~ !#$%'()*+,-./:;=?@[]^_`{|}"} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendJSONString(%q) = %s, want x%s", s, got, want)
		}
	}
}
