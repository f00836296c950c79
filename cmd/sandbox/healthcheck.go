package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// healthcheck probes /healthz; the container's HEALTHCHECK runs it, since
// the image has no shell or curl. The target is a base URL argument, or
// --addr ADDR, or ARGUS_SANDBOX_ADDR (the way the image sets the address,
// so the check and the server agree).
func healthcheck(ctx context.Context, args []string, stderr io.Writer) int {
	fs := pflag.NewFlagSet("healthcheck", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("ADDR", "127.0.0.1:8080"), "address the sandbox listens on")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	base := "http://" + publicAddr(*addr)
	switch fs.NArg() {
	case 0:
	case 1:
		base = strings.TrimSuffix(fs.Arg(0), "/")
		if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
			fmt.Fprintf(stderr, "healthcheck: %q is not an http(s) base URL\n", fs.Arg(0))
			return exitUsage
		}
	default:
		fmt.Fprintln(stderr, "healthcheck: usage: sandbox healthcheck [--addr ADDR | BASE_URL]")
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return exitUsage
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return exitRuntime
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "healthcheck: status", resp.Status)
		return exitRuntime
	}
	return exitOK
}
