package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// curlCommand is one curl invocation parsed from the README.
type curlCommand struct {
	method  string
	url     string
	headers [][2]string
	data    string
}

// readmeCurls returns the curl commands of the README's walkthrough section.
func readmeCurls(t *testing.T) []curlCommand {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "## The portal's walkthrough")
	if start < 0 {
		t.Fatal("README has no walkthrough section")
	}
	text = text[start+3:]
	if end := strings.Index(text, "\n## "); end >= 0 {
		text = text[:end]
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
	return cmds
}

func parseCurl(t *testing.T, line string) curlCommand {
	words := shellWords(t, line)
	c := curlCommand{method: "GET"}
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
			c.data = words[i]
			if c.method == "GET" {
				c.method = "POST"
			}
		case "-s", "-S", "-sS", "-i":
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
// quotes (no expansions: README commands use none).
func shellWords(t *testing.T, s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unterminated quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
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
	return words
}

// TestREADMEWalkthrough runs the README's curl examples in order against a
// sandbox, filling the portal's placeholders (<client-id>, <client-secret>,
// <access-token>) from the previous answers.
func TestREADMEWalkthrough(t *testing.T) {
	e := newSandbox(t)
	cmds := readmeCurls(t)
	if len(cmds) == 0 {
		t.Fatal("no curl commands found in the README walkthrough")
	}
	vars := map[string]string{}
	fill := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "<"+k+">", v)
		}
		return strings.ReplaceAll(s, "http://127.0.0.1:8080", e.url)
	}
	for i, c := range cmds {
		req, err := http.NewRequest(c.method, fill(c.url), strings.NewReader(fill(c.data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range c.headers {
			req.Header.Set(h[0], fill(h[1]))
		}
		if strings.Contains(req.Header.Get("Authorization")+req.URL.String()+fill(c.data), "<") {
			t.Fatalf("step %d: unfilled placeholder in %s %s", i+1, c.method, c.url)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("step %d (%s %s): %s\n%s", i+1, c.method, c.url, resp.Status, body)
		}
		var out map[string]any
		_ = json.Unmarshal(body, &out)
		for _, k := range []string{"client_id", "client_secret", "access_token"} {
			if v, ok := out[k].(string); ok {
				vars[strings.ReplaceAll(k, "_", "-")] = v
			}
		}
		t.Logf("step %d: %s %s → %s", i+1, c.method, c.url, resp.Status)
	}
	if vars["client-id"] == "" {
		t.Error("the walkthrough never returned a client_id")
	}
}
