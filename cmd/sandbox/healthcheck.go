package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// healthcheck probes /healthz; the container's HEALTHCHECK runs it, since
// the image has no shell or curl. The target is a base URL argument, or
// --addr ADDR, or ARGUS_SANDBOX_ADDR (the way the image sets the address,
// so the check and the server agree). Against an HTTPS sandbox (an https
// URL, or --tls / ARGUS_SANDBOX_TLS) it trusts the system's roots, the CA
// that --tls keeps in --tls-dir and the --tls-cert certificate, the same
// settings the server reads.
func healthcheck(ctx context.Context, args []string, stderr io.Writer) int {
	fs := pflag.NewFlagSet("healthcheck", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("ADDR", "127.0.0.1:8080"), "address the sandbox listens on")
	useTLS := fs.Bool("tls", env("TLS", "false") == "true" || env("TLS_CERT", "") != "", "the sandbox serves HTTPS")
	tlsDir := fs.String("tls-dir", env("TLS_DIR", defaultTLSDir()), "the sandbox's --tls-dir, whose ca.pem is trusted")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	base := "http://" + publicAddr(*addr)
	if *useTLS {
		base = "https://" + publicAddr(*addr)
	}
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
	client := http.DefaultClient
	if req.URL.Scheme == "https" {
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: sandboxRoots(*tlsDir, env("TLS_CERT", ""))}}}
	}
	resp, err := client.Do(req)
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

// sandboxRoots is the system pool plus the sandbox's own CA and
// certificate, where they exist: a healthcheck trusts what the server was
// told to serve.
func sandboxRoots(tlsDir, certFile string) *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, f := range []string{filepath.Join(tlsDir, caCertFile), certFile} {
		if f == "" {
			continue
		}
		if data, err := os.ReadFile(f); err == nil {
			pool.AppendCertsFromPEM(data)
		}
	}
	return pool
}
