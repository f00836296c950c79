package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Files of the TLS directory. The CA survives restarts (clients that trust
// ca.pem keep trusting the sandbox); the leaf is issued anew at each start
// for the names the sandbox is bound to.
const (
	caCertFile   = "ca.pem"
	caKeyFile    = "ca-key.pem"
	leafCertFile = "cert.pem"
	leafKeyFile  = "key.pem"
)

// Validity of the generated certificates. The CA is reused while it has
// more than caRenewBefore left, so a client that trusts it is not broken by
// a restart.
const (
	caValidity    = 5 * 365 * 24 * time.Hour
	caRenewBefore = 30 * 24 * time.Hour
	leafValidity  = 90 * 24 * time.Hour
)

// defaultTLSDir is where --tls keeps its CA: the user's cache directory,
// or the temporary directory when there is none (a container without HOME).
func defaultTLSDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "argus-sandbox", "tls")
	}
	return filepath.Join(os.TempDir(), "argus-sandbox-tls")
}

// tlsEnabled reports whether the sandbox serves HTTPS.
func (o *options) tlsEnabled() bool { return o.tls || o.tlsCert != "" }

// checkTLS validates the TLS flags together.
func (o *options) checkTLS() []error {
	var errs []error
	if o.tls && (o.tlsCert != "" || o.tlsKey != "") {
		errs = append(errs, errors.New("--tls generates a certificate; it conflicts with --tls-cert/--tls-key (use one or the other)"))
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together: give both or neither"))
	}
	if o.tls && o.tlsDir == "" {
		errs = append(errs, errors.New("--tls-dir: must not be empty"))
	}
	return errs
}

// tlsNames are the names the generated certificate covers: the --addr host
// and, for a loopback or wildcard bind, the loopback names; the issuer's
// host in any case (the name clients are told to reach).
func tlsNames(addr, issuer string) []string {
	host, _, _ := net.SplitHostPort(addr)
	var names []string
	ip := net.ParseIP(host)
	if host == "" || host == "localhost" || (ip != nil && (ip.IsLoopback() || ip.IsUnspecified())) {
		names = append(names, "localhost", "127.0.0.1", "::1")
	}
	if host != "" && (ip == nil || !ip.IsUnspecified()) {
		names = append(names, host)
	}
	if u, err := url.Parse(issuer); err == nil && u.Hostname() != "" {
		names = append(names, u.Hostname())
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// tlsSetup is the certificate the sandbox serves and what it prints.
type tlsSetup struct {
	config *tls.Config
	// caPath is the CA certificate to trust; empty for --tls-cert.
	caPath      string
	fingerprint string // SHA-256 of the leaf certificate, hex pairs
}

// setupTLS loads --tls-cert/--tls-key, or (--tls) issues a leaf for names
// from the CA in dir, creating the CA when there is none.
func (o *options) setupTLS(names []string, now time.Time) (*tlsSetup, error) {
	if o.tlsCert != "" {
		pair, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		return &tlsSetup{config: serverTLSConfig(pair), fingerprint: fingerprint(pair.Certificate[0])}, nil
	}
	caCert, caKey, err := loadOrCreateCA(o.tlsDir, now)
	if err != nil {
		return nil, fmt.Errorf("--tls-dir %s: %w", o.tlsDir, err)
	}
	pair, err := issueLeaf(o.tlsDir, caCert, caKey, names, now)
	if err != nil {
		return nil, fmt.Errorf("--tls-dir %s: %w", o.tlsDir, err)
	}
	return &tlsSetup{config: serverTLSConfig(pair), caPath: filepath.Join(o.tlsDir, caCertFile),
		fingerprint: fingerprint(pair.Certificate[0])}, nil
}

func serverTLSConfig(pair tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
}

// fingerprint is the SHA-256 of a DER certificate as colon-separated hex
// pairs, the form browsers and openssl x509 -fingerprint show.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// loadOrCreateCA reuses the CA in dir while it is valid for a while yet;
// otherwise (none, unreadable, expiring) it writes a new one.
func loadOrCreateCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if cert, key, err := loadCA(dir); err == nil && now.Add(caRenewBefore).Before(cert.NotAfter) {
		return cert, key, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"argus-sandbox"}, CommonName: "argus-sandbox local CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	// The key first: a ca.pem without its key would be replaced at the
	// next start, breaking the clients that trusted it.
	if err := writeKey(filepath.Join(dir, caKeyFile), key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(filepath.Join(dir, caCertFile), "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, caCertFile))
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, caKeyFile))
	if err != nil {
		return nil, nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || pair.Leaf == nil || !pair.Leaf.IsCA {
		return nil, nil, errors.New("not an ECDSA CA")
	}
	return pair.Leaf, key, nil
}

// issueLeaf signs a server certificate for names (IP addresses as IP SANs)
// and writes it with its key beside the CA.
func issueLeaf(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"argus-sandbox"}, CommonName: names[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writeKey(filepath.Join(dir, leafKeyFile), key); err != nil {
		return tls.Certificate{}, err
	}
	if err := writePEM(filepath.Join(dir, leafCertFile), "CERTIFICATE", der, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// writePEM replaces path through a temporary file, so a reader (or a
// crash) never sees half a file, and the mode holds from the first byte.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: typ, Bytes: der}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
