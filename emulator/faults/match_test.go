package faults

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/core"
)

func TestRequestMatching(t *testing.T) {
	type call struct {
		method, path, token, body, basic string
	}
	getAcme := call{method: "GET", path: "/v1/things/thing_1", token: "acme:app_1"}
	getGlobex := call{method: "GET", path: "/v1/things/thing_1", token: "globex:app_9"}
	create := call{method: "POST", path: "/v1/things", token: "acme:app_1", body: `{}`}
	tokenForm := call{method: "POST", path: "/v1/oauth/token", body: "grant_type=client_credentials&client_id=app_7"}
	tokenBasic := call{method: "POST", path: "/v1/oauth/token", body: "grant_type=client_credentials", basic: "app_7"}
	tests := []struct {
		name  string
		match Match
		want  map[string]bool
	}{
		{"everything", Match{}, map[string]bool{"getAcme": true, "getGlobex": true, "create": true, "tokenForm": true, "tokenBasic": true}},
		{"by operationId", Match{Operation: "getThing"}, map[string]bool{"getAcme": true, "getGlobex": true}},
		{"by path template", Match{Path: "/v1/things/{thing_id}"}, map[string]bool{"getAcme": true, "getGlobex": true}},
		{"by exact path", Match{Path: "/v1/things"}, map[string]bool{"create": true}},
		{"by segment pattern", Match{Path: "/v1/*/thing_1"}, map[string]bool{"getAcme": true, "getGlobex": true}},
		{"by prefix", Match{Path: "/v1/things/**"}, map[string]bool{"getAcme": true, "getGlobex": true, "create": true}},
		{"by method", Match{Method: "POST"}, map[string]bool{"create": true, "tokenForm": true, "tokenBasic": true}},
		{"by tenant", Match{Tenant: "globex"}, map[string]bool{"getGlobex": true}},
		{"by client_id of the token", Match{ClientID: "app_1"}, map[string]bool{"getAcme": true, "create": true}},
		{"by client_id of the token request", Match{ClientID: "app_7"}, map[string]bool{"tokenForm": true, "tokenBasic": true}},
		{"all fields together", Match{Operation: "getThing", Method: "GET", Tenant: "acme", ClientID: "app_1"}, map[string]bool{"getAcme": true}},
	}
	calls := map[string]call{"getAcme": getAcme, "getGlobex": getGlobex, "create": create, "tokenForm": tokenForm, "tokenBasic": tokenBasic}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []Rule{rule("hit", tt.match, When{}, Action{Error: &ErrorReply{Status: 500}})})
			for name, c := range calls {
				req, _ := http.NewRequest(c.method, h.srv.URL+c.path, strings.NewReader(c.body))
				switch {
				case c.token != "":
					req.Header.Set("Authorization", "Bearer "+c.token)
					req.Header.Set("Content-Type", "application/json")
				default:
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				if c.basic != "" {
					req.SetBasicAuth(url.QueryEscape(c.basic), "secret")
				}
				if c.body == "" {
					req.Body = http.NoBody
				}
				resp, err := h.client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got := resp.StatusCode == 500; got != tt.want[name] {
					t.Errorf("%s: faulted = %v, want %v (status %d)", name, got, tt.want[name], resp.StatusCode)
				}
			}
		})
	}
}

// fireSequence runs n matches of a rule and reports which ones fired.
func fireSequence(t *testing.T, seed uint64, w When, n int, step time.Duration) string {
	t.Helper()
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	defer clock.Close()
	clock.Set(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	e, err := New(Config{Clock: clock, IDs: core.NewIDs(nil), Seed: seed,
		Rules: []Rule{rule("r", Match{}, w, Action{TokenExpiry: &TokenExpiry{}})}})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for range n {
		if _, ok := e.MatchToken(TokenInfo{Tenant: "acme"}); ok {
			sb.WriteByte('x')
		} else {
			sb.WriteByte('.')
		}
		clock.Advance(step)
	}
	return sb.String()
}

func TestWhen(t *testing.T) {
	tests := []struct {
		name string
		when When
		step time.Duration
		want string
	}{
		{"always", When{}, 0, "xxxxxx"},
		{"first 2", When{First: 2}, 0, "xx...."},
		{"after 2", When{After: 2}, 0, "..xxxx"},
		{"after 1 then first 2", When{After: 1, First: 2}, 0, ".xx..."},
		{"never", When{Probability: prob(0)}, 0, "......"},
		{"from 2s", When{From: "2s"}, time.Second, "..xxxx"},
		{"until 3s", When{Until: "3s"}, time.Second, "xxx..."},
		{"absolute window", When{From: "2030-01-01T00:00:01Z", Until: "2030-01-01T00:00:04Z"}, time.Second, ".xxx.."},
		{"window counts only inside it", When{From: "2s", First: 1}, time.Second, "..x..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fireSequence(t, 1, tt.when, len(tt.want), tt.step); got != tt.want {
				t.Errorf("fired %s, want %s", got, tt.want)
			}
		})
	}
}

func TestProbabilityIsDeterministicUnderASeed(t *testing.T) {
	w := When{Probability: prob(0.3)}
	a, b := fireSequence(t, 42, w, 200, 0), fireSequence(t, 42, w, 200, 0)
	if a != b {
		t.Errorf("seed 42 gave two sequences:\n%s\n%s", a, b)
	}
	if c := fireSequence(t, 43, w, 200, 0); a == c {
		t.Errorf("seeds 42 and 43 gave the same sequence %s", a)
	}
	if n := strings.Count(a, "x"); n < 30 || n > 90 {
		t.Errorf("fired %d of 200 at probability 0.3", n)
	}
}

func TestRuleRNGsAreIndependent(t *testing.T) {
	// Adding a rule must not change when another one fires.
	run := func(extra bool) string {
		clock := core.NewVirtualClock(nil)
		defer clock.Close()
		rules := []Rule{rule("a", Match{}, When{Probability: prob(0.5)}, Action{TokenExpiry: &TokenExpiry{}})}
		if extra {
			rules = append([]Rule{rule("b", Match{Topic: "case.updated"}, When{Probability: prob(0.5)}, Action{BadSignature: &NoOptions{}})}, rules...)
		}
		e, err := New(Config{Clock: clock, IDs: core.NewIDs(nil), Seed: 9, Rules: rules})
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		for range 50 {
			e.MatchDelivery(DeliveryInfo{Topic: "case.updated"})
			_, ok := e.MatchToken(TokenInfo{})
			fmt.Fprint(&sb, map[bool]string{true: "x", false: "."}[ok])
		}
		return sb.String()
	}
	if diff := cmp.Diff(run(false), run(true)); diff != "" {
		t.Errorf("another rule changed the firing sequence (-alone +with):\n%s", diff)
	}
}

// TestTenantRuleMatchesItsClientsTokenRequests: the token endpoint has no
// bearer, so a rule matching a tenant learns the tenant of the client that
// asks (Config.ClientTenant).
func TestTenantRuleMatchesItsClientsTokenRequests(t *testing.T) {
	clients := map[string]string{"app_7": "globex", "app_1": "acme"}
	withClients := func(c *harnessConfig) {
		c.ClientTenant = func(id string) (string, bool) { tenant, ok := clients[id]; return tenant, ok }
	}
	for _, tt := range []struct {
		name     string
		clientID string
		opts     []harnessOption
		want     int
	}{
		{"the tenant's client", "app_7", []harnessOption{withClients}, 500},
		{"another tenant's client", "app_1", []harnessOption{withClients}, 200},
		{"an unknown client", "app_x", []harnessOption{withClients}, 200},
		{"without ClientTenant", "app_7", nil, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []Rule{rule("globex-outage", Match{Tenant: "globex"}, When{}, Action{Error: &ErrorReply{Status: 500}})}, tt.opts...)
			resp, err := h.client().PostForm(h.srv.URL+"/v1/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {tt.clientID}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
