package emulator_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// localeRequest is one request of TestMachineReadablePartsAreCanonical and
// how to take its display text out.
type localeRequest struct {
	name, method, path, ctype, token, body string
	want                                   int
	// text names the display-text members: of the top-level object
	// ("title", "detail") or of each entry of data ("data.name").
	text []string
}

func (e *sandboxEnv) localized(t *testing.T, rq localeRequest, acceptLanguage string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(rq.method, e.url+rq.path, strings.NewReader(rq.body))
	req.Header.Set("X-Request-Id", "req_locale_test")
	if rq.ctype != "" {
		req.Header.Set("Content-Type", rq.ctype)
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != rq.want {
		t.Fatalf("%s (%s): %d %.300s, want %d", rq.name, acceptLanguage, resp.StatusCode, raw, rq.want)
	}
	return resp, raw
}

// split separates an answer into its machine-readable part (re-encoded
// with every other member's bytes kept) and its display text.
func split(t *testing.T, raw []byte, text []string) (machine string, display []string) {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("not a JSON object: %.300s", raw)
	}
	for _, k := range text {
		if member, ok := strings.CutPrefix(k, "data."); ok {
			var data []map[string]json.RawMessage
			if err := json.Unmarshal(top["data"], &data); err != nil {
				t.Fatalf("data is not a list of objects: %.300s", raw)
			}
			for _, d := range data {
				display = append(display, string(d[member]))
				delete(d, member)
			}
			top["data"], _ = json.Marshal(data)
			continue
		}
		display = append(display, string(top[k]))
		delete(top, k)
	}
	out, _ := json.Marshal(maps.Clone(top))
	return string(out), display
}

// TestMachineReadablePartsAreCanonical asks every locale for an error of
// each kind, the event catalog and a GraphQL query of the Japanese tenant:
// without their display text the answers are byte for byte the English
// ones, and the display text differs in fr, de and ja.
func TestMachineReadablePartsAreCanonical(t *testing.T) {
	e := newSandbox(t)
	const kaisha = "sandbox_admin_kaisha"
	_, app := e.post(t, "/v1/platform/apps", "application/json", kaisha,
		`{"name":"Locale test","grant_types":["client_credentials"],"requested_scopes":["cases:read","webhooks:read"]}`)
	resp, tok := e.post(t, "/v1/oauth/token", "application/x-www-form-urlencoded", "",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {app["client_id"].(string)}, "client_secret": {app["client_secret"].(string)}}.Encode())
	if resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	reader := tok["access_token"].(string)
	problem := []string{"title", "detail"}
	requests := []localeRequest{
		{"catalog", "GET", "/v1/webhooks/event-types", "", kaisha, "", 200, []string{"data.name", "data.description"}},
		{"invalid_request", "POST", "/v1/webhooks", "application/json", kaisha, `{"url":"https://kaisha.example/hook","events":["case.created"],"colour":"red"}`, 400, problem},
		{"unauthorized", "GET", "/v1/webhooks", "", "", "", 401, problem},
		{"invalid_token", "GET", "/v1/webhooks", "", "forged", "", 401, problem},
		{"insufficient_scope", "POST", "/v1/webhooks", "application/json", reader, `{"url":"https://kaisha.example/hook","events":["case.created"]}`, 403, problem},
		{"not_found, resource", "GET", "/v1/webhooks/wh_00000000000000000000", "", kaisha, "", 404, problem},
		{"not_found, route", "GET", "/v1/nothing", "", kaisha, "", 404, problem},
		{"method_not_allowed", "PUT", "/v1/webhooks", "", kaisha, "", 405, problem},
		{"unsupported_media_type", "POST", "/v1/webhooks", "text/plain", kaisha, `{}`, 415, problem},
		{"request_too_large", "POST", "/v1/webhooks", "application/json", kaisha, `{"url":"` + strings.Repeat("a", 2<<20) + `"}`, 413, problem},
		{"graphql", "POST", "/v1/graphql", "application/json", reader, `{"query":"{ cases(first: 5) { nodes { id number title status priority tags } } }"}`, 200, nil},
	}
	for _, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			_, enRaw := e.localized(t, rq, "en")
			enMachine, enText := split(t, enRaw, rq.text)
			for _, lang := range []string{"fr-CH, fr;q=0.9, en;q=0.5", "de", "ja"} {
				resp, raw := e.localized(t, rq, lang)
				machine, text := split(t, raw, rq.text)
				if machine != enMachine {
					t.Errorf("%s: the machine-readable part differs from English:\n got %.400s\nwant %.400s", lang, machine, enMachine)
				}
				if rq.text == nil {
					if !strings.Contains(string(raw), "海外口座") {
						t.Errorf("the Japanese case titles are not served as stored: %.300s", raw)
					}
					continue
				}
				if got := resp.Header.Get("Content-Language"); got != lang[:2] {
					t.Errorf("%s: Content-Language = %q", lang, got)
				}
				for i := range text {
					if text[i] == enText[i] {
						t.Errorf("%s: display text %s is not translated", lang, text[i])
					}
				}
			}
		})
	}
}

// TestDisplayTextFallsBackToTheTenantLocale: without Accept-Language each
// tenant's callers get its fixture locale, and English when it has none.
func TestDisplayTextFallsBackToTheTenantLocale(t *testing.T) {
	e := newSandbox(t)
	for token, want := range map[string]string{"sandbox_admin_acme": "en", "sandbox_admin_globex": "de", "sandbox_admin_kaisha": "ja"} {
		for _, path := range []string{"/v1/webhooks/event-types", "/v1/webhooks/wh_00000000000000000000"} {
			resp, _ := e.call(t, "GET", path, token, "")
			if got := resp.Header.Get("Content-Language"); got != want {
				t.Errorf("%s %s: Content-Language = %q, want %q", token, path, got, want)
			}
		}
	}
}
