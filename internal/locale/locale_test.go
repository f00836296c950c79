package locale

import (
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name, header, fallback, want string
	}{
		{"empty header, no fallback", "", "", "en"},
		{"empty header, tenant locale", "", "ja", "ja"},
		{"unsupported tenant locale", "", "pt", "en"},
		{"exact", "de", "", "de"},
		{"case-insensitive", "FR", "", "fr"},
		{"region truncated", "fr-CA", "", "fr"},
		{"script and region truncated", "ja-Jpan-JP", "", "ja"},
		{"quality order", "fr;q=0.5, de;q=0.9", "", "de"},
		{"header order among equal q", "ja, fr", "", "ja"},
		{"unsupported then supported", "pt-BR, es;q=0.9, de;q=0.1", "", "de"},
		{"nothing supported falls back to the tenant", "pt-BR, es", "fr", "fr"},
		{"q=0 is not acceptable", "fr;q=0, de;q=0.2", "", "de"},
		{"q=0 on everything falls back", "fr;q=0", "ja", "ja"},
		{"wildcard is the fallback", "*", "de", "de"},
		{"wildcard after a supported range", "ja;q=0.8, *;q=0.1", "de", "ja"},
		{"malformed q ignores the range", "fr;q=2, de;q=abc, ja;q=0.0001, en;q=0.3", "fr", "en"},
		{"q=1.000", "ja;q=1.000", "", "ja"},
		{"prefix is no match", "f, fra", "", "en"},
		{"garbage", ";;,,;q=,", "", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Negotiate(tt.header, tt.fallback); got != tt.want {
				t.Errorf("Negotiate(%q, %q) = %q, want %q", tt.header, tt.fallback, got, tt.want)
			}
		})
	}
}

func TestNegotiateBoundsTheRanges(t *testing.T) {
	header := strings.Repeat("xx, ", 10000) + "ja"
	if got := Negotiate(header, ""); got != "en" {
		t.Errorf("a range past the first %d was used: got %q", maxRanges, got)
	}
}

func TestDetailKeepsValuesVerbatim(t *testing.T) {
	tests := []struct {
		name, lang, code, detail, want string
		ok                             bool
	}{
		{"field names", "fr", "invalid_request", "the request does not match the operation's schema: /url, query.limit",
			"la requête ne correspond pas au schéma de l'opération : /url, query.limit", true},
		{"reordered values", "ja", "method_not_allowed", "DELETE is not allowed on /v1/apps; allowed: GET, POST",
			"/v1/apps では DELETE は許可されていません。許可: GET, POST", true},
		{"two values with a separator inside the last", "de", "invalid_request", "the request body is refused at /events/0: value: not a topic",
			"der Anfragetext wird bei /events/0 abgelehnt: value: not a topic", true},
		{"limit with a hint", "fr", "limit_reached", "the limit of 50 apps per tenant is reached; delete an app first",
			"la limite de 50 (apps per tenant) est atteinte ; delete an app first", true},
		{"limit without a hint", "ja", "limit_reached", "the limit of 50 apps per tenant is reached",
			"上限 50（apps per tenant）に達しました", true},
		{"English stays", "en", "invalid_request", "the query string does not parse: x", "", false},
		{"unknown detail", "fr", "invalid_request", "something else", "", false},
		{"empty value", "fr", "insufficient_scope", "the token is valid but lacks the scope this operation requires: ", "", false},
		{"unknown code", "fr", "teapot", "the request body exceeds 5 bytes", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Detail(tt.lang, tt.code, tt.detail)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Detail = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestEveryMessageIsTranslated keeps the tables whole: a code with a title
// or a detail in one locale has it in all of them, with every value.
func TestEveryMessageIsTranslated(t *testing.T) {
	for _, lang := range Supported[1:] {
		for code := range titles {
			if _, ok := Title(lang, code, 0); !ok {
				t.Errorf("%s: no title for %s", lang, code)
			}
		}
		for code, ts := range details {
			for _, tpl := range ts {
				s, ok := tpl.in(lang)
				if !ok {
					t.Errorf("%s: %s: %q is not translated", lang, code, tpl.en)
				}
				for i := 0; strings.Contains(tpl.en, "{"+string(rune('0'+i))+"}"); i++ {
					if ph := "{" + string(rune('0'+i)) + "}"; !strings.Contains(s, ph) {
						t.Errorf("%s: %s: %q drops %s", lang, code, s, ph)
					}
				}
			}
		}
	}
	if _, ok := Title("en", "not_found", 404); ok {
		t.Error("an English title is translated; the caller's own title must stay")
	}
	if got, _ := Title("de", "no_such_code", 503); got != "Dienst nicht verfügbar" {
		t.Errorf("status fallback = %q", got)
	}
}

func FuzzCapture(f *testing.F) {
	f.Add("the limit of {0} {1} is reached; {2}", "the limit of 1 x y is reached; z")
	f.Add("{0} is not allowed on {1}; allowed: {2}", "A is not allowed on B; allowed: C")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		args, ok := capture(pattern, s)
		if !ok {
			return
		}
		out := pattern
		for i, a := range args {
			if a == "" {
				t.Fatalf("empty capture %d of %q in %q", i, pattern, s)
			}
			out = strings.Replace(out, "{"+string(rune('0'+i))+"}", a, 1)
		}
		if out != s {
			t.Fatalf("capture(%q, %q) = %q rebuilds %q", pattern, s, args, out)
		}
	})
}
