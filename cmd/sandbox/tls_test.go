package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// poolOf is a pool holding only the PEM certificates of file.
func poolOf(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("%s holds no certificate", file)
	}
	return pool
}

func clientTrusting(pool *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// getJSON fetches url with c and decodes the JSON answer.
func getJSON(t *testing.T, c *http.Client, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: not JSON: %s", req.URL, raw)
	}
	return resp.StatusCode, out
}

// tokenFlow registers a client_credentials app with the admin token and
// runs the x/oauth2 client_credentials flow over c; it returns the token's
// claims.
func tokenFlow(t *testing.T, c *http.Client, base string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/platform/apps",
		strings.NewReader(`{"name":"TLS client","grant_types":["client_credentials"],"requested_scopes":["cases:read"]}`))
	req.Header.Set("Authorization", "Bearer sandbox_admin_acme")
	req.Header.Set("Content-Type", "application/json")
	st, app := getJSON(t, c, req)
	if st != http.StatusCreated {
		t.Fatalf("create app: %d %v", st, app)
	}
	cc := clientcredentials.Config{ClientID: app["client_id"].(string), ClientSecret: app["client_secret"].(string),
		TokenURL: base + "/v1/oauth/token", Scopes: []string{"cases:read"}}
	tok, err := cc.Token(context.WithValue(context.Background(), oauth2.HTTPClient, c))
	if err != nil {
		t.Fatalf("client_credentials over TLS: %v", err)
	}
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT: %q", tok.AccessToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestTLSGeneratedCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	s := startRun(t, "--addr", "127.0.0.1:0", "--tls", "--tls-dir", dir)
	if !strings.HasPrefix(s.base, "https://127.0.0.1:") {
		t.Fatalf("banner names %q, want https://127.0.0.1:PORT", s.base)
	}
	caPath := filepath.Join(dir, "ca.pem")
	printed := strings.Join(s.stdout, "")
	if !strings.Contains(printed, caPath) || !strings.Contains(printed, "SHA-256 fingerprint") {
		t.Errorf("start-up output does not name the CA and the fingerprint:\n%s", printed)
	}
	for _, f := range []string{"ca-key.pem", "key.pem"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, st.Mode().Perm(), err)
		}
	}
	c := clientTrusting(poolOf(t, caPath))

	req, _ := http.NewRequest(http.MethodGet, s.base+"/.well-known/oauth-authorization-server", nil)
	st, disc := getJSON(t, c, req)
	if st != http.StatusOK || disc["issuer"] != s.base || !strings.HasPrefix(disc["token_endpoint"].(string), "https://") {
		t.Fatalf("discovery over TLS: %d issuer %v token_endpoint %v, want issuer %s", st, disc["issuer"], disc["token_endpoint"], s.base)
	}
	if claims := tokenFlow(t, c, s.base); claims["iss"] != s.base {
		t.Errorf("token iss = %v, want %s", claims["iss"], s.base)
	}
	// The certificate also covers localhost.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.base, "https://"))
	req, _ = http.NewRequest(http.MethodGet, "https://localhost:"+port+"/healthz", nil)
	if resp, err := c.Do(req); err != nil {
		t.Errorf("https://localhost: %v", err)
	} else {
		resp.Body.Close()
	}

	// A client that trusts only the system's roots refuses the sandbox.
	_, err := (&http.Client{Timeout: 10 * time.Second}).Get(s.base + "/healthz")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("system-pool client: err = %v, want an unknown-authority error", err)
	}

	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"healthcheck", "--tls-dir", dir, s.base}, io.Discard, &stderr); code != exitOK {
		t.Errorf("healthcheck against the TLS sandbox: exit %d: %s", code, stderr.String())
	}
	if code := run(context.Background(), []string{"healthcheck", "--tls", "--tls-dir", dir, "--addr", strings.TrimPrefix(s.base, "https://")}, io.Discard, &stderr); code != exitOK {
		t.Errorf("healthcheck --tls --addr: exit %d: %s", code, stderr.String())
	}
	if code := run(context.Background(), []string{"healthcheck", "--tls-dir", t.TempDir(), s.base}, io.Discard, io.Discard); code != exitRuntime {
		t.Errorf("healthcheck without the CA: exit %d, want %d", code, exitRuntime)
	}
}

// TestTLSReusesCA: a restart keeps the CA clients trust and issues a new
// leaf under it.
func TestTLSReusesCA(t *testing.T) {
	dir := t.TempDir()
	o := &options{tls: true, tlsDir: dir}
	now := time.Now()
	first, err := o.setupTLS([]string{"127.0.0.1", "localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	ca1, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	second, err := o.setupTLS([]string{"127.0.0.1", "localhost"}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ca2, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if !bytes.Equal(ca1, ca2) {
		t.Error("the CA was replaced on restart")
	}
	if first.fingerprint == second.fingerprint {
		t.Error("the leaf was not issued anew")
	}
	leaf, err := x509.ParseCertificate(second.config.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: poolOf(t, filepath.Join(dir, "ca.pem")), DNSName: "localhost"}); err != nil {
		t.Errorf("the new leaf does not chain to the kept CA: %v", err)
	}
	// A CA close to its end is replaced rather than served.
	if _, err := o.setupTLS([]string{"localhost"}, now.Add(caValidity-caRenewBefore/2)); err != nil {
		t.Fatal(err)
	}
	if ca3, _ := os.ReadFile(filepath.Join(dir, "ca.pem")); bytes.Equal(ca1, ca3) {
		t.Error("an expiring CA was kept")
	}
}

func TestTLSNames(t *testing.T) {
	tests := []struct {
		addr, issuer string
		want         string
	}{
		{"127.0.0.1:0", "", "127.0.0.1 ::1 localhost"},
		{"0.0.0.0:8443", "https://sandbox.test:8443", "127.0.0.1 ::1 localhost sandbox.test"},
		{"10.1.2.3:8443", "", "10.1.2.3"},
		{"sandbox.internal:8443", "https://sandbox.internal:8443", "sandbox.internal"},
	}
	for _, tt := range tests {
		if got := strings.Join(tlsNames(tt.addr, tt.issuer), " "); got != tt.want {
			t.Errorf("tlsNames(%q, %q) = %q, want %q", tt.addr, tt.issuer, got, tt.want)
		}
	}
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its
// key, as an operator would bring their own.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "own cert"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "own.pem"), filepath.Join(dir, "own-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSGivenCertificate(t *testing.T) {
	certFile, keyFile := writeSelfSigned(t, t.TempDir())
	s := startRun(t, "--addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(s.base, "https://") {
		t.Fatalf("banner names %q, want https", s.base)
	}
	c := clientTrusting(poolOf(t, certFile))
	req, _ := http.NewRequest(http.MethodGet, s.base+"/.well-known/openid-configuration", nil)
	if st, disc := getJSON(t, c, req); st != http.StatusOK || disc["issuer"] != s.base {
		t.Fatalf("discovery: %d issuer %v, want %s", st, disc["issuer"], s.base)
	}
	if claims := tokenFlow(t, c, s.base); claims["iss"] != s.base {
		t.Errorf("token iss = %v, want %s", claims["iss"], s.base)
	}
}

func TestTLSFlagConflicts(t *testing.T) {
	certFile, keyFile := writeSelfSigned(t, t.TempDir())
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"generated and given", []string{"--tls", "--tls-cert", certFile, "--tls-key", keyFile}, "conflicts with --tls-cert"},
		{"cert without key", []string{"--tls-cert", certFile}, "give both or neither"},
		{"key without cert", []string{"--tls-key", keyFile}, "give both or neither"},
		{"unreadable pair", []string{"--tls-cert", keyFile, "--tls-key", certFile}, "--tls-cert/--tls-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := append([]string{"--addr", "127.0.0.1:0"}, tt.args...)
			if code := run(context.Background(), args, io.Discard, &stderr); code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tt.wantErr)
			}
		})
	}
}
