package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
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
