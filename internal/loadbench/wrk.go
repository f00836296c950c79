package loadbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// wrkScript sets the request and prints one machine-readable summary
// line, so nothing depends on wrk's human output. wrk counts statuses >= 400
// as errors; no response hook narrows that to the wanted status because
// one makes wrk parse every response in Lua, which would load the shared
// cores (every measured request wants a 2xx, so a 4xx or 5xx is still
// counted).
const wrkScript = `
wrk.method = %q
wrk.body = %s
wrk.headers = {}
%s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("LOADBENCH requests=%%d duration_us=%%d errors=%%d p50_us=%%d p99_us=%%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99)))
end
`

// WrkPath returns the wrk binary on PATH, or "" when it is not installed.
func WrkPath() string {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return ""
	}
	return p
}

// LoadWrk runs the same closed-loop load as Load with wrk (a C generator
// that costs the shared cores far less than a Go client), after the same
// warm-up.
func LoadWrk(ctx context.Context, wrk string, req Request, concurrency int, d time.Duration) (Result, error) {
	if _, err := wrkOnce(ctx, wrk, req, concurrency, d/10+200*time.Millisecond); err != nil {
		return Result{}, err
	}
	return wrkOnce(ctx, wrk, req, concurrency, d)
}

// wrkOnce runs wrk once, without warm-up.
func wrkOnce(ctx context.Context, wrk string, req Request, concurrency int, d time.Duration) (Result, error) {
	dir, err := os.MkdirTemp("", "loadbench-wrk")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "req.lua")
	if err := os.WriteFile(script, []byte(luaFor(req)), 0o600); err != nil {
		return Result{}, err
	}
	return runWrk(ctx, wrk, script, req.URL, concurrency, d)
}

func luaFor(req Request) string {
	var hdr strings.Builder
	for k, vs := range req.Header {
		if len(vs) > 0 {
			fmt.Fprintf(&hdr, "wrk.headers[%q] = %q\n", k, vs[0])
		}
	}
	body := "nil"
	if req.Body != nil {
		body = strconv.Quote(string(req.Body))
	}
	return fmt.Sprintf(wrkScript, req.Method, body, hdr.String())
}

func runWrk(ctx context.Context, wrk, script, url string, concurrency int, d time.Duration) (Result, error) {
	threads := min(runtime.NumCPU(), concurrency)
	secs := max(1, int((d+time.Second/2)/time.Second))
	cmd := exec.CommandContext(ctx, wrk, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(concurrency),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "10s", "-s", script, url)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("wrk: %w: %s", err, errOut.String())
	}
	return parseWrk(out.String())
}

// parseWrk reads the LOADBENCH line printed by the script's done hook.
func parseWrk(out string) (Result, error) {
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "LOADBENCH ")
		if !ok {
			continue
		}
		v := map[string]int64{}
		for _, kv := range strings.Fields(rest) {
			k, s, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return Result{}, fmt.Errorf("wrk summary %q: %w", line, err)
			}
			v[k] = n
		}
		r := Result{Requests: int(v["requests"]), Errors: int(v["errors"]),
			Elapsed: time.Duration(v["duration_us"]) * time.Microsecond,
			P50:     time.Duration(v["p50_us"]) * time.Microsecond, P99: time.Duration(v["p99_us"]) * time.Microsecond}
		if r.Errors > 0 {
			r.FirstError = fmt.Sprintf("%d requests failed or answered another status than expected", r.Errors)
		}
		return r, nil
	}
	return Result{}, fmt.Errorf("wrk printed no summary:\n%s", out)
}
