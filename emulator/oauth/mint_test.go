package oauth

import (
	"encoding/json"
	"testing"
)

// TestAccessClaimsJSON checks the hand-written claim encoding against
// encoding/json.
func TestAccessClaimsJSON(t *testing.T) {
	tests := []struct {
		name string
		c    accessClaims
	}{
		{"client credentials", accessClaims{Issuer: "http://127.0.0.1:8080", Subject: "cli_x", Audience: []string{"http://127.0.0.1:8080/v1/platform", "http://127.0.0.1:8080/v1/graphql"},
			Expires: 1700003600, IssuedAt: 1700000000, NotBef: 1700000000, JTI: "at_0123", ClientID: "cli_x", Scope: "cases:read cases:write", Tenant: "acme"}},
		{"user with auth_time", accessClaims{Issuer: "https://argus.example", Subject: "usr_1", Audience: []string{"a"}, Expires: -5, IssuedAt: 0, NotBef: 1,
			JTI: "at_1", ClientID: "cli_y", Scope: "", Tenant: "globex", AuthTime: 1699999999}},
		{"no audience", accessClaims{Issuer: "i", Subject: "s"}},
		{"empty audience", accessClaims{Issuer: "i", Subject: "s", Audience: []string{}}},
		{"characters to escape", accessClaims{Issuer: `http://x/"q"\<a>&b`, Subject: "tab\there\nnl", Audience: []string{"é日本\u2028", "\x00\x7f"},
			JTI: "bad\xffutf8", ClientID: "'single'", Scope: "a/b", Tenant: "\U0001F600"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.c.appendJSON(nil); string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}
