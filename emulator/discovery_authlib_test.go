package emulator_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/knogin/argus-sandbox/emulator"
)

// authlibCheck validates the discovery documents named on its command line
// with Authlib, an independent and widely used Python OAuth library: its
// OpenIDProviderMetadata and AuthorizationServerMetadata validators apply
// OpenID Connect Discovery 1.0 §3 and RFC 8414 §2 (RS256 among the ID-token
// algorithms included).
const authlibCheck = `
import json, sys
from authlib.oidc.discovery import OpenIDProviderMetadata
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
oidc, oauth = (json.load(open(p)) for p in sys.argv[1:3])
OpenIDProviderMetadata(oidc).validate()
AuthorizationServerMetadata(oauth).validate()
print("valid")
`

// systemPython is Debian's interpreter, where python3-authlib installs
// (.ci/run installs it); a python3 earlier on PATH may not see it.
const systemPython = "/usr/bin/python3"

// TestDiscoveryPassesAuthlib: both discovery documents pass Authlib's
// metadata validators, whatever the access-token algorithm (ES256 metadata
// used to fail for want of RS256 among the ID-token algorithms).
func TestDiscoveryPassesAuthlib(t *testing.T) {
	if err := exec.Command(systemPython, "-c", "import authlib").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-authlib is missing (.ci/run installs it): %v", err)
		}
		t.Skipf("python3-authlib is not installed (apt-get install python3-authlib): %v", err)
	}
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(nil)
			// OIDC Discovery §3 and RFC 8414 §2: the issuer is an https URL.
			sb, err := emulator.New(emulator.Config{Issuer: "https://" + srv.Listener.Addr().String(), Loopback: true, SigningAlg: alg})
			if err != nil {
				t.Fatal(err)
			}
			srv.Config.Handler = sb.Handler()
			srv.StartTLS()
			t.Cleanup(func() { srv.Close(); sb.Close() })
			dir := t.TempDir()
			var files []string
			for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
				resp, err := srv.Client().Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
				}
				f := filepath.Join(dir, filepath.Base(path)+".json")
				if err := os.WriteFile(f, body, 0o600); err != nil {
					t.Fatal(err)
				}
				files = append(files, f)
			}
			out, err := exec.Command(systemPython, append([]string{"-c", authlibCheck}, files...)...).CombinedOutput()
			if err != nil || string(out) != "valid\n" {
				t.Errorf("Authlib refused the metadata: %v\n%s", err, out)
			}
		})
	}
}
