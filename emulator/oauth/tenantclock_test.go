package oauth

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"golang.org/x/oauth2"
)

// TestPendingSignInFollowsTheTenantsClock: a sign-in page stays valid for
// ten minutes of its tenant's time: the tenant moving its own clock past
// them expires it, the sandbox clock moving does not.
func TestPendingSignInFollowsTheTenantsClock(t *testing.T) {
	acme := core.NewVirtualClock(nil)
	acme.Freeze()
	t.Cleanup(acme.Close)
	e := newEnv(t, func(c *Config) {
		c.TenantClock = func(tenant string) core.Clock {
			if tenant == "acme" {
				return acme
			}
			return c.Clock
		}
	})
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authURL := e.authCodeConfig("https://app.acme.example/callback", "cases:read").AuthCodeURL("s1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	// The sandbox clock moving an hour leaves acme's page valid.
	page := getPage(t, browser, authURL)
	id := regexp.MustCompile(`name="request" value="([^"]+)"`).FindStringSubmatch(page)[1]
	e.clock.Advance(time.Hour)
	if got := signInAsBob(t, browser, e.url, id); got != http.StatusOK {
		t.Errorf("sign-in after the sandbox clock moved an hour: %d, want 200", got)
	}
	// acme's clock moving eleven minutes expires it.
	page = getPage(t, browser, authURL)
	id = regexp.MustCompile(`name="request" value="([^"]+)"`).FindStringSubmatch(page)[1]
	acme.Advance(11 * time.Minute)
	if got := signInAsBob(t, browser, e.url, id); got != http.StatusBadRequest {
		t.Errorf("sign-in after the tenant's clock moved eleven minutes: %d, want 400", got)
	}
}

// signInAsBob posts the sign-in form of pending request id as Bob.
func signInAsBob(t *testing.T, browser *http.Client, base, id string) int {
	t.Helper()
	res := postForm(t, browser, base+"/v1/oauth/authorize/sign-in", url.Values{"request": {id}, "user": {"usr_acme_bob"}})
	res.Body.Close()
	return res.StatusCode
}
