package emulator_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/internal/pgtest"
)

// curlCommand is one curl invocation parsed from the README.
type curlCommand struct {
	line    string
	method  string
	url     string
	headers [][2]string
	data    []string
	user    string
	// stream is curl -N: the answer is a Server-Sent Events stream that
	// does not end, so the test reads its opening frame only.
	stream bool
	// status is the answer the README's trailing comment promises
	// ("# 404 ..."); 0 means any 2xx.
	status int
}

// readmeCurls returns the curl commands of the README section whose heading
// starts with heading, up to the next heading of its level or above.
func readmeCurls(t *testing.T, heading string) []curlCommand {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\n"+heading)
	if start < 0 {
		t.Fatalf("README has no section %q", heading)
	}
	level := heading[:strings.IndexByte(heading, ' ')+1]
	text = text[start+len(heading)+1:]
	for _, stop := range []string{"\n## ", "\n" + level} {
		if end := strings.Index(text, stop); end >= 0 {
			text = text[:end]
		}
	}
	var cmds []curlCommand
	for _, block := range strings.Split(text, "```sh\n")[1:] {
		block = block[:strings.Index(block, "```")]
		joined := strings.ReplaceAll(block, "\\\n", " ")
		for _, line := range strings.Split(joined, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "curl ") {
				continue
			}
			cmds = append(cmds, parseCurl(t, line))
		}
	}
	if len(cmds) == 0 {
		t.Fatalf("no curl commands in README section %q", heading)
	}
	return cmds
}

var promisedStatus = regexp.MustCompile(`^([45][0-9][0-9]) [a-z_]+`)

func parseCurl(t *testing.T, line string) curlCommand {
	words, comment := shellWords(t, line)
	c := curlCommand{line: line, method: "GET"}
	if m := promisedStatus.FindStringSubmatch(comment); m != nil {
		c.status, _ = strconv.Atoi(m[1])
	}
	for i := 1; i < len(words); i++ {
		switch w := words[i]; w {
		case "-X":
			i++
			c.method = words[i]
		case "-H":
			i++
			k, v, _ := strings.Cut(words[i], ":")
			c.headers = append(c.headers, [2]string{k, strings.TrimSpace(v)})
		case "-d", "--data":
			i++
			c.data = append(c.data, words[i])
			if c.method == "GET" {
				c.method = "POST"
			}
		case "-u":
			i++
			c.user = words[i]
		case "|": // a pipe to grep: the test reads the whole answer itself
			return c
		case "-N":
			c.stream = true
		case "-s", "-S", "-sS", "-i", "-si", "-O", "-J", "-OJ":
		default:
			if strings.HasPrefix(w, "-") {
				t.Fatalf("README curl uses an option this test does not understand: %s", w)
			}
			c.url = w
		}
	}
	return c
}

// shellWords splits a POSIX shell command line with single and double
// quotes (no expansions: README commands use none), and returns the
// trailing comment apart.
func shellWords(t *testing.T, s string) (words []string, comment string) {
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '#' && !inWord:
			return words, strings.TrimSpace(s[i+1:])
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				t.Fatalf("unterminated quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, ""
}

// readmeSkips are the README curl commands of the sections run here that
// cannot run as written against a fresh in-process sandbox, each with why.
// A command is skipped when its line contains the key.
var readmeSkips = map[string]string{
	// Redelivery is for a settled delivery; the test delivery to a consumer
	// that is not running is still retrying (409 delivery_pending).
	"/redeliver": "the only delivery at hand is still pending",
}

// readmeAnswer is one README command's answer.
type readmeAnswer struct {
	cmd    curlCommand
	status int
	header http.Header
	body   []byte
}

// runREADME runs the curl commands of a README section in order against
// e, filling placeholders (<client-id>, $ID, ...) from vars and from the
// earlier answers, and fails on any answer but the one the README promises
// (2xx, or the status its trailing comment names).
func runREADME(t *testing.T, e *sandboxEnv, heading string, vars map[string]string) []readmeAnswer {
	t.Helper()
	return runREADMESteps(t, e, heading, vars, nil)
}

// runREADMESteps is runREADME calling after, when not nil, with each answer
// as it comes, so a test can look at the sandbox between two steps.
func runREADMESteps(t *testing.T, e *sandboxEnv, heading string, vars map[string]string, after func(readmeAnswer)) []readmeAnswer {
	t.Helper()
	fill := func(s string) string {
		for k, v := range vars {
			if strings.HasPrefix(k, "$") {
				s = strings.ReplaceAll(s, k, v)
			} else {
				s = strings.ReplaceAll(s, "<"+k+">", v)
			}
		}
		return strings.ReplaceAll(s, "http://127.0.0.1:8080", e.url)
	}
	var answers []readmeAnswer
	for i, c := range readmeCurls(t, heading) {
		if skipped := func() bool {
			for k, why := range readmeSkips {
				if strings.Contains(c.line, k) {
					t.Logf("%s step %d skipped: %s", heading, i+1, why)
					return true
				}
			}
			return false
		}(); skipped {
			continue
		}
		data := make([]string, len(c.data))
		for j, d := range c.data {
			data[j] = fill(d)
		}
		body := strings.Join(data, "&")
		var rd io.Reader = http.NoBody
		if len(c.data) > 0 {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(c.method, fill(c.url), rd)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.data) > 0 {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // curl's default for -d
		}
		for _, h := range c.headers {
			req.Header.Set(h[0], fill(h[1]))
		}
		if c.user != "" {
			id, secret, _ := strings.Cut(fill(c.user), ":")
			req.SetBasicAuth(id, secret)
		}
		if unfilled := regexp.MustCompile(`<[a-z][a-z-]*>|\$[A-Z]+`).FindString(req.Header.Get("Authorization") + " " + fill(c.user) + " " + req.URL.String() + " " + body); unfilled != "" {
			t.Fatalf("%s step %d: unfilled placeholder %s in %s", heading, i+1, unfilled, c.line)
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var raw []byte
		if c.stream {
			raw = openingFrame(resp.Body)
		} else {
			raw, _ = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		ok := resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusFound && strings.Contains(c.line, "| grep -i ^location")
		if c.status != 0 {
			ok = resp.StatusCode == c.status
		}
		if !ok {
			t.Fatalf("%s step %d (%s): %s\n%s", heading, i+1, c.line, resp.Status, raw)
		}
		answers = append(answers, readmeAnswer{cmd: c, status: resp.StatusCode, header: resp.Header, body: raw})
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		for k, name := range map[string]string{"client_id": "client-id", "client_secret": "client-secret",
			"access_token": "access-token", "refresh_token": "rt", "delivery_id": "$DLV"} {
			if v, ok := out[k].(string); ok {
				vars[name] = v
			}
		}
		if v, ok := out["access_token"].(string); ok {
			vars["token"] = v
		}
		if id, ok := out["id"].(string); ok {
			switch {
			case strings.HasPrefix(id, "areq_"):
				vars["request-id"] = id
			case strings.HasPrefix(id, "wh_"):
				vars["$ID"] = id
			}
		}
		if loc, err := url.Parse(resp.Header.Get("Location")); err == nil && loc.Query().Get("code") != "" {
			vars["code"] = loc.Query().Get("code")
		}
		t.Logf("%s step %d: %s %s → %s", heading, i+1, c.method, c.url, resp.Status)
		if after != nil {
			after(answers[len(answers)-1])
		}
	}
	return answers
}

// openingFrame reads a Server-Sent Events stream up to the end of its first
// frame (its first blank line): curl -N would go on until interrupted.
func openingFrame(r io.Reader) []byte {
	var frame []byte
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		frame = append(frame, line...)
		if err != nil || len(bytes.TrimSpace(line)) == 0 {
			return frame
		}
	}
}

// noRedirects is curl without -L: a redirect is the answer.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestREADMEWalkthrough runs the README's curl examples in order against a
// sandbox, filling the portal's placeholders (<client-id>, <client-secret>,
// <access-token>) from the previous answers.
func TestREADMEWalkthrough(t *testing.T) {
	vars := map[string]string{}
	runREADME(t, newSandbox(t), "## The portal's walkthrough", vars)
	if vars["client-id"] == "" {
		t.Error("the walkthrough never returned a client_id")
	}
}

// TestREADMEWalkthroughDurable runs the walkthrough on the durable stores:
// SQLite in a data directory and PostgreSQL (a database of its own).
func TestREADMEWalkthroughDurable(t *testing.T) {
	for name, set := range map[string]func(t *testing.T, c *emulator.Config){
		"data dir":     func(t *testing.T, c *emulator.Config) { c.DataDir = t.TempDir() },
		"database URL": func(t *testing.T, c *emulator.Config) { c.DatabaseURL = pgtest.Database(t) },
	} {
		t.Run(name, func(t *testing.T) {
			vars := map[string]string{}
			runREADME(t, newSandboxWith(t, func(c *emulator.Config) { set(t, c) }), "## The portal's walkthrough", vars)
			if vars["client-id"] == "" {
				t.Error("the walkthrough never returned a client_id")
			}
		})
	}
}

// TestREADMEContractExamples runs the curl examples of the contract's
// sections, each against a fresh sandbox, and checks what each promises
// beyond a 2xx.
func TestREADMEContractExamples(t *testing.T) {
	t.Run("idempotency", func(t *testing.T) {
		a := runREADME(t, newSandbox(t), "### Idempotency keys", map[string]string{})
		if len(a) != 2 || a[0].header.Get("Idempotent-Replayed") != "" || a[1].header.Get("Idempotent-Replayed") != "true" ||
			string(a[0].body) != string(a[1].body) {
			t.Errorf("the second create is not a replay of the first: %+v", a)
		}
	})
	t.Run("locales", func(t *testing.T) {
		a := runREADME(t, newSandbox(t), "### Locales", map[string]string{})
		if len(a) != 2 || a[0].header.Get("Content-Language") != "de" || a[1].header.Get("Content-Language") != "ja" {
			t.Errorf("Content-Language: %q, %q; want de, ja", a[0].header.Get("Content-Language"), a[1].header.Get("Content-Language"))
		}
	})
	t.Run("platform policy and partner surfaces", func(t *testing.T) {
		a := runREADME(t, newSandbox(t), "### Platform apps API", map[string]string{})
		last := a[len(a)-1]
		if !strings.Contains(last.header.Get("Content-Disposition"), "attachment") || !strings.Contains(string(last.body), `"access_request.`) {
			t.Errorf("audit export: %s %q\n%s", last.header.Get("Content-Type"), last.header.Get("Content-Disposition"), last.body)
		}
	})
	t.Run("oauth", func(t *testing.T) {
		a := runREADME(t, newSandbox(t), "### OAuth 2 tokens", map[string]string{})
		var info map[string]any
		_ = json.Unmarshal(a[len(a)-1].body, &info)
		if info["email"] != "alice@acme.example" {
			t.Errorf("userinfo: %s", a[len(a)-1].body)
		}
	})
	t.Run("control plane and virtual clock", func(t *testing.T) {
		e := newSandbox(t)
		token, _, _ := e.clientToken(t, "cases:read")
		_, areq := e.call(t, http.MethodPost, "/v1/platform/access-requests", "sandbox_admin_acme",
			`{"capability":"advanced_platform_apis","use_case":"Export the audit trail to our SIEM nightly."}`)
		areqID, _ := areq["id"].(string)
		var stored map[string]any // case_acme_1001 as GraphQL answers after the bound trigger
		runREADMESteps(t, e, "## Control plane and virtual clock", map[string]string{"areq-id": areqID}, func(a readmeAnswer) {
			var out map[string]any
			_ = json.Unmarshal(a.body, &out)
			line := a.cmd.line
			switch {
			case strings.Contains(line, `"id":"case_acme_1001"`):
				stored = e.graphqlCase(t, token, "case_acme_1001")
				if stored["title"] != "Wire transfer confirmed as fraud" || stored["version"] != 2.0 {
					t.Errorf("the bound case.updated trigger left the stored case at %v", stored)
				}
			case strings.Contains(line, `"count":100`):
				ids, _ := out["event_ids"].([]any)
				seen := map[any]bool{}
				for _, id := range ids {
					seen[id] = true
				}
				if len(ids) != 100 || len(seen) != 100 {
					t.Errorf("count 100 answered %d event ids, %d distinct", len(ids), len(seen))
				}
			case strings.Contains(line, `"synthetic":true`):
				if c := e.graphqlCase(t, token, "case_external_42"); c != nil {
					t.Errorf("a synthetic case event stored a case: %v", c)
				}
				if c := e.graphqlCase(t, token, "case_acme_1001"); c["version"] != stored["version"] {
					t.Errorf("a synthetic case event changed case_acme_1001: %v, was %v", c, stored)
				}
			case strings.Contains(line, "/decision"):
				if out["status"] != "approved" {
					t.Errorf("decision answered %s", a.body)
				}
			case strings.Contains(line, "/_sandbox/reset"):
				if c := e.graphqlCase(t, token, "case_acme_1001"); c["version"] != 1.0 {
					t.Errorf("after the reset case_acme_1001 is %v, want the fixture's version 1", c)
				}
			case strings.Contains(line, "/webhooks/idle"):
				if out["idle"] != true {
					t.Errorf("idle answered %s", a.body)
				}
			case a.cmd.stream:
				if a.header.Get("Content-Type") != "text/event-stream" || !strings.HasPrefix(string(a.body), ": stream open") {
					t.Errorf("stream answered %q %q", a.header.Get("Content-Type"), a.body)
				}
			}
		})
	})
	t.Run("webhooks", func(t *testing.T) {
		e := newSandbox(t)
		since := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
		runREADME(t, e, "### Webhooks", map[string]string{"RFC 3339 time, at most 14 days ago": since})
	})
}

// TestREADMEHostingManyPartners runs the shared-sandbox walkthrough: the
// tokens of the tenant it creates fill <admin-token> and <control-token>.
func TestREADMEHostingManyPartners(t *testing.T) {
	vars := map[string]string{"operator-token": "operator"}
	e := newSandbox(t)
	answers := runREADMESteps(t, e, "## Hosting one sandbox for many partners", vars, func(a readmeAnswer) {
		var out map[string]any
		_ = json.Unmarshal(a.body, &out)
		if tok, ok := out["admin_token"].(string); ok {
			vars["admin-token"], vars["control-token"] = tok, out["control_token"].(string)
		}
	})
	if n := len(answers); n != 12 {
		t.Fatalf("%d steps ran, want 12", n)
	}
	if got := answers[len(answers)-1].status; got != http.StatusNoContent {
		t.Errorf("the tenant's deletion answered %d", got)
	}
	var clock struct {
		Tenant string `json:"tenant"`
		Offset string `json:"offset"`
	}
	if err := json.Unmarshal(answers[3].body, &clock); err != nil || clock.Tenant != "partner-a" || !strings.HasPrefix(clock.Offset, "2h") {
		t.Errorf("the control token's clock advance answered %s", answers[3].body)
	}
	resp, err := http.Get(e.url + "/_sandbox/tenants/partner-a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the deleted tenant answers %d, want 404", resp.StatusCode)
	}
}
