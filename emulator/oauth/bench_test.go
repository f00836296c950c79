package oauth

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkIssue* measure minting one access token (claims, signature)
// per algorithm; BenchmarkVerify* one full verification (header checks,
// signature, claims, revocation, client lookup).

func benchIssue(b *testing.B, alg string) {
	e := newEnv(b, withKeys(b, KeyringConfig{SigningAlg: alg}))
	req := accessRequest{tenant: "acme", clientID: appFull.ClientID, grantType: GrantClientCredentials,
		scopes: []string{"webhooks:read"}, audience: e.svc.audience([]string{"webhooks:read"}, nil)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.svc.mintAccess(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkIssueES256(b *testing.B) { benchIssue(b, "ES256") }
func BenchmarkIssueRS256(b *testing.B) { benchIssue(b, "RS256") }
func BenchmarkIssueEdDSA(b *testing.B) { benchIssue(b, "EdDSA") }

func benchVerify(b *testing.B, alg string) {
	e := newEnv(b, withKeys(b, KeyringConfig{SigningAlg: alg}))
	tok := e.clientToken("webhooks:read")
	verify := e.svc.Verifier(ResourceWebhooks)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := verify.Authenticate(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyES256(b *testing.B) { benchVerify(b, "ES256") }
func BenchmarkVerifyRS256(b *testing.B) { benchVerify(b, "RS256") }
func BenchmarkVerifyEdDSA(b *testing.B) { benchVerify(b, "EdDSA") }

// benchTokenEndpoint measures client_credentials tokens through HTTP: the
// router (validation against the spec), client authentication, minting
// and the JSON answer, with keep-alive clients in parallel.
func benchTokenEndpoint(b *testing.B, alg string) {
	e := newEnv(b, withKeys(b, KeyringConfig{SigningAlg: alg}))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"webhooks:write"}}.Encode()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/oauth/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(appFull.ClientID, secretFull)
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
}

func BenchmarkTokenEndpointES256(b *testing.B) { benchTokenEndpoint(b, "ES256") }
func BenchmarkTokenEndpointRS256(b *testing.B) { benchTokenEndpoint(b, "RS256") }
func BenchmarkTokenEndpointEdDSA(b *testing.B) { benchTokenEndpoint(b, "EdDSA") }
