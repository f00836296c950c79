package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// buildConsumer builds the reference consumer binary once per test.
func buildConsumer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "consumer")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/knogin/argus-sandbox/examples/consumer/cmd/consumer").CombinedOutput()
	if err != nil {
		t.Fatalf("build consumer: %v\n%s", err, out)
	}
	return bin
}

// TestExecRealBinary runs scenarios through --exec against the built
// consumer, restart included, and checks exit codes and report files.
func TestExecRealBinary(t *testing.T) {
	bin := buildConsumer(t)
	tests := []struct {
		name     string
		bug      string
		wantCode int
		wantText string
	}{
		{name: "correct consumer", wantCode: 0, wantText: "3 passed, 0 failed, 0 unverified"},
		{name: "dedupe only in memory", bug: "memory_dedupe", wantCode: 1, wantText: "FAIL       restart-between-duplicates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ARGUS_CONSUMER_BUG", tt.bug)
			dir := t.TempDir()
			jsonFile, junitFile := filepath.Join(dir, "report.json"), filepath.Join(dir, "junit.xml")
			var stdout, stderr strings.Builder
			code := run([]string{"run", "--exec", bin, "--run", "^(restart-between-duplicates|response-lost|single-delivery)$",
				"--json", jsonFile, "--junit", junitFile}, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantText) {
				t.Errorf("report lacks %q:\n%s", tt.wantText, stdout.String())
			}
			// stderr is no terminal here: one plain progress line per
			// scenario, as a CI log shows it.
			if got := regexp.MustCompile(`(?m)^\[\d/3\] \S+ +(pass|fail|unverified) \(`).FindAllString(stderr.String(), -1); len(got) != 3 {
				t.Errorf("stderr has %d progress lines, want 3:\n%s", len(got), stderr.String())
			}
			raw, err := os.ReadFile(jsonFile)
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Scenarios []struct{ Name, Status string }
			}
			if err := json.Unmarshal(raw, &rep); err != nil || len(rep.Scenarios) != 3 {
				t.Errorf("JSON report has %d scenarios (%v), want 3", len(rep.Scenarios), err)
			}
			raw, err = os.ReadFile(junitFile)
			if err != nil {
				t.Fatal(err)
			}
			var suites struct {
				Suites []struct {
					Tests    int `xml:"tests,attr"`
					Failures int `xml:"failures,attr"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal(raw, &suites); err != nil || len(suites.Suites) != 1 || suites.Suites[0].Tests != 3 {
				t.Errorf("JUnit report %+v (%v), want one suite of 3 tests", suites, err)
			}
		})
	}
}

// TestWrongProbePath: a probe path the consumer does not serve is a
// setup error naming the URL and the status, not a green run.
func TestWrongProbePath(t *testing.T) {
	bin := buildConsumer(t)
	var stdout, stderr strings.Builder
	code := run([]string{"run", "--exec", bin, "--probe-path", "/wrong", "--run", "^single-delivery$"}, &stdout, &stderr)
	if code != 2 {
		t.Errorf("exit code %d, want 2\nstdout:\n%s", code, stdout.String())
	}
	for _, w := range []string{"/wrong", "404"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr %q lacks %q", stderr.String(), w)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	// A scenario publishing a topic outside the catalog.
	badTopicDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(badTopicDir, "bad.yaml"), []byte("name: bad\ntitle: t\ndetects: d\nwhy: w\n"+
		"steps: [{publish: {as: e1, topic: case.exploded}}]\nexpect: {applied: {e1: 1}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "no command", args: nil, wantErr: "usage"},
		{name: "no consumer", args: []string{"run"}, wantErr: "no consumer"},
		{name: "target without secret", args: []string{"run", "--target", "http://127.0.0.1:1/hook"}, wantErr: "--secret is required"},
		{name: "both target and exec", args: []string{"run", "--target", "http://x", "--exec", "true"}, wantErr: "not both"},
		{name: "bad regexp", args: []string{"run", "--exec", "true", "--run", "("}, wantErr: "--run"},
		{name: "unknown flag", args: []string{"run", "--bogus"}, wantErr: "unknown flag"},
		{name: "operator token without sandbox", args: []string{"run", "--exec", "true", "--operator-token", "x"}, wantErr: "need --sandbox"},
		{name: "target not a URL", args: []string{"run", "--target", "not-a-url", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, wantErr: `--target "not-a-url"`},
		{name: "secret not base64", args: []string{"run", "--exec", "true", "--secret", "whsec_!!notbase64"}, wantErr: "base64"},
		{name: "secret too short", args: []string{"run", "--exec", "true", "--secret", "whsec_c2hvcnQ="}, wantErr: "24 to 64 bytes"},
		{name: "unknown topic", args: []string{"run", "--exec", "true", "--scenarios", badTopicDir}, wantErr: "case.exploded"},
		{name: "consumer exits at start", args: []string{"run", "--exec", "echo 'listen: address in use' >&2; exit 3"}, wantErr: "listen: address in use"},
		{name: "bad skip regexp", args: []string{"run", "--exec", "true", "--skip", "("}, wantErr: "--skip is not a regular expression"},
		{name: "negative scenario timeout", args: []string{"run", "--exec", "true", "--scenario-timeout", "-1s"}, wantErr: "--scenario-timeout"},
		{name: "consumer slower than --start-timeout", args: []string{"run", "--exec", "sleep 5", "--start-timeout", "1ns"}, wantErr: "did not listen on port"}, // within 1ns,
		{name: "bad scenarios dir", args: []string{"list", "--scenarios", "/nonexistent"}, wantErr: "scenarios"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if code := run(tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

func TestList(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     []string
		excludes []string
	}{
		{name: "all", args: []string{"list"}, want: []string{"restart-between-duplicates", "single-delivery", "requires: restart", "category: acknowledgement"}},
		{name: "selected by --run", args: []string{"list", "--run", "^restart"},
			want:     []string{"restart-between-duplicates", "category: deduplication", "detects: A consumer", "requires: restart"},
			excludes: []string{"single-delivery"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if code := run(tt.args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit code %d: %s", code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("list lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, x := range tt.excludes {
				if strings.Contains(stdout.String(), x) {
					t.Errorf("list has %q:\n%s", x, stdout.String())
				}
			}
		})
	}
}

// TestUnreachableConsumerHint: a consumer the sandbox cannot reach (it
// listens on 127.0.0.1, the sandbox is told 127.0.0.2) exits 2 before any
// scenario, naming --callback-host and how to choose it; the environment
// variables set the two hosts as the flags do.
func TestUnreachableConsumerHint(t *testing.T) {
	bin := buildConsumer(t)
	t.Setenv("ARGUS_CONFORMANCE_CALLBACK_HOST", "127.0.0.2")
	t.Setenv("ARGUS_CONFORMANCE_LISTEN_HOST", "127.0.0.1")
	var stdout, stderr strings.Builder
	code := run([]string{"run", "--exec", bin, "--run", "^single-delivery$"}, &stdout, &stderr)
	if code != 2 {
		t.Fatalf("exit code %d, want 2\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{`--callback-host "127.0.0.2" is not an address the sandbox reaches`, "host.docker.internal", "--listen-host 0.0.0.0"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if strings.Contains(stdout.String(), "passed") {
		t.Errorf("a scenario ran:\n%s", stdout.String())
	}
}
