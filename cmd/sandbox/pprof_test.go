package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPprofServesOnItsOwnListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--pprof", "127.0.0.1:0", "--log-level", "info"}, outW, errW)
		outW.Close()
		errW.Close()
	}()
	pprofURL := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`url=(\S+)`)
		sc := bufio.NewScanner(errR)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(sc.Text(), "pprof listening") {
				pprofURL <- m[1]
			}
		}
	}()
	banner, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	base := strings.TrimSpace(strings.TrimPrefix(banner, "argus-sandbox listening on "))
	var profiles string
	select {
	case profiles = <-pprofURL:
	case <-time.After(10 * time.Second):
		t.Fatal("no pprof listening line on stderr")
	}
	tests := []struct {
		name string
		url  string
		want int
	}{
		{"pprof listener serves the profiles", profiles + "cmdline", http.StatusOK},
		{"pprof listener serves the index", profiles, http.StatusOK},
		{"API listener does not expose pprof", base + "/debug/pprof/", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("GET %s = %d, want %d", tt.url, resp.StatusCode, tt.want)
			}
		})
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code after shutdown = %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop after cancellation")
	}
}

func TestPprofRefusesRemoteAddresses(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"every interface", []string{"--pprof", "0.0.0.0:6060"}, `--pprof "0.0.0.0:6060"`},
		{"empty host", []string{"--pprof", ":6060"}, `--pprof ":6060"`},
		{"a LAN address", []string{"--pprof", "192.0.2.10:6060"}, "--pprof-allow-remote"},
		{"a name", []string{"--pprof", "profiles.example:6060"}, "--pprof-allow-remote"},
		{"loopback", []string{"--pprof", "127.0.0.1:6060"}, ""},
		{"IPv6 loopback", []string{"--pprof", "[::1]:6060"}, ""},
		{"localhost", []string{"--pprof", "localhost:6060"}, ""},
		{"forced", []string{"--pprof", "0.0.0.0:6060", "--pprof-allow-remote"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			o, err := parseFlags(tt.args, io.Discard, &stderr)
			if err != nil {
				t.Fatal(err)
			}
			_, err = o.config(newLogger("text", "error", io.Discard))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	// Cancelled: a sandbox that wrongly starts stops again at once.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stderr strings.Builder
	if code := run(ctx, []string{"--addr", "127.0.0.1:0", "--pprof", "0.0.0.0:0"}, io.Discard, &stderr); code != exitUsage {
		t.Errorf("exit code = %d, want %d; stderr %s", code, exitUsage, stderr.String())
	}
}

// TestPprofCmdlineHidesSecrets reads /debug/pprof/cmdline of a sandbox
// given its operator token as a flag.
func TestPprofCmdlineHidesSecrets(t *testing.T) {
	args := []string{"--addr", "127.0.0.1:0", "--pprof", "127.0.0.1:0", "--log-level", "info",
		"--operator-token=op_equals_secret", "--operator-token", "op_spaced_secret"}
	orig := os.Args
	os.Args = append([]string{"sandbox"}, args...)
	t.Cleanup(func() { os.Args = orig })
	s := startRun(t, args...)
	m := regexp.MustCompile(`"pprof listening" url=(\S+)`).FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no pprof listening line in %s", s.stderr)
	}
	resp, err := http.Get(m[1] + "cmdline")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	cmdline := string(raw)
	if strings.Contains(cmdline, "secret") {
		t.Errorf("cmdline shows the operator token: %q", cmdline)
	}
	if !strings.Contains(cmdline, "--pprof\x00127.0.0.1:0") || !strings.Contains(cmdline, "--operator-token") {
		t.Errorf("cmdline lost the other arguments: %q", cmdline)
	}
}
