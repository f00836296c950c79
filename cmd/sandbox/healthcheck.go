package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheck probes /healthz; the container's HEALTHCHECK runs it, since
// the image has no shell or curl.
func healthcheck(ctx context.Context, args []string, stderr io.Writer) int {
	base := "http://" + publicAddr(env("ADDR", "127.0.0.1:8080"))
	if len(args) > 0 {
		base = args[0]
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
