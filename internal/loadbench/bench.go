package loadbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config configures a benchmark run.
type Config struct {
	// Sandbox is the path of a built sandbox binary.
	Sandbox string
	// Self is the path of the loadbench binary (it serves the bare baseline).
	Self string
	// StripeMock, when not empty, is the path of a stripe-mock binary to
	// measure side by side.
	StripeMock string
	// Wrk, when not empty, is the path of wrk, used as the load generator
	// instead of the Go one.
	Wrk         string
	Duration    time.Duration
	Concurrency int
	ColdRuns    int
	// LogLevel is the sandbox's --log-level ("error" when empty): at info
	// and below it writes one line per request to its stderr, which the
	// benchmark sends to /dev/null.
	LogLevel string
	// Log receives progress lines.
	Log io.Writer
	// Stores are the durable stores measured beside the in-memory
	// sandbox: "sqlite" (a data directory of the run's own) and
	// "postgres" (DatabaseURL), each a target of its own
	// (sandbox-sqlite, sandbox-postgres) whose figures Report compares
	// with the in-memory sandbox's.
	Stores      []string
	DatabaseURL string
	// DataDir holds the SQLite target's data directory (a temporary
	// directory when empty).
	DataDir string
}

// Figure is one measured value of one target.
type Figure struct {
	Target string
	Metric string
	Value  float64
	Unit   string
	P50    time.Duration
	P99    time.Duration
}

// SandboxServer, BareServer and StripeMockServer describe the programs
// under test. The sandbox logs at level (its --log-level; "error" when
// empty) to its stderr, which Start discards.
func SandboxServer(bin, level string) Server {
	return sandboxOn("sandbox", bin, level)
}

// sandboxOn is the sandbox named name, started with extra arguments (its
// store).
func sandboxOn(name, bin, level string, extra ...string) Server {
	if level == "" {
		level = "error"
	}
	return Server{Name: name,
		Command: func(port int) *exec.Cmd {
			return exec.Command(bin, append([]string{"--addr", "127.0.0.1:" + strconv.Itoa(port), "--log-level", level}, extra...)...)
		},
		Ready: func(base string) Request {
			return Request{Method: "GET", URL: base + "/v1/platform/apps", Header: http.Header{"Authorization": {"Bearer sandbox_admin_acme"}}}
		}}
}

// BareServer is the plain net/http baseline served by `loadbench bare-server`.
func BareServer(self string) Server {
	return Server{Name: "bare",
		Command: func(port int) *exec.Cmd {
			return exec.Command(self, "bare-server", "--addr", "127.0.0.1:"+strconv.Itoa(port))
		},
		Ready: func(base string) Request { return Request{Method: "GET", URL: base + "/v1/platform/apps/app_1"} }}
}

// StripeMockServer is stripe-mock, the nearest OpenAPI-driven peer.
func StripeMockServer(bin string) Server {
	return Server{Name: "stripe-mock",
		Command: func(port int) *exec.Cmd {
			return exec.Command(bin, "-http-port", strconv.Itoa(port))
		},
		Ready: func(base string) Request {
			return Request{Method: "GET", URL: base + "/v1/customers/cus_123", Header: http.Header{"Authorization": {"Bearer sk_test_123"}}}
		}}
}

// Run measures every target and returns the figures.
func Run(ctx context.Context, cfg Config) ([]Figure, error) {
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	servers := []Server{SandboxServer(cfg.Sandbox, cfg.LogLevel)}
	for _, st := range cfg.Stores {
		switch st {
		case "sqlite":
			dir := cfg.DataDir
			if dir == "" {
				tmp, err := os.MkdirTemp("", "loadbench-data")
				if err != nil {
					return nil, err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			}
			servers = append(servers, sandboxOn("sandbox-sqlite", cfg.Sandbox, cfg.LogLevel, "--data-dir", dir))
		case "postgres":
			if cfg.DatabaseURL == "" {
				return nil, fmt.Errorf("the postgres store needs a database URL")
			}
			servers = append(servers, sandboxOn("sandbox-postgres", cfg.Sandbox, cfg.LogLevel, "--database-url", cfg.DatabaseURL))
		case "memory":
		default:
			return nil, fmt.Errorf("unknown store %q: memory, sqlite or postgres", st)
		}
	}
	servers = append(servers, BareServer(cfg.Self))
	if cfg.StripeMock != "" {
		servers = append(servers, StripeMockServer(cfg.StripeMock))
	}
	var figs []Figure
	for _, s := range servers {
		logf("cold start: %s (%d runs)", s.Name, cfg.ColdRuns)
		starts, rss, err := coldStarts(ctx, s, cfg.ColdRuns)
		if err != nil {
			return nil, err
		}
		figs = append(figs,
			Figure{Target: s.Name, Metric: "cold-start", Value: float64(median(starts).Microseconds()) / 1000, Unit: "ms"},
			Figure{Target: s.Name, Metric: "rss-after-start", Value: float64(median(rss)) / (1 << 20), Unit: "MB"})
	}
	for _, s := range servers {
		p, err := Start(ctx, s)
		if err != nil {
			return nil, err
		}
		loads, err := loadsFor(ctx, s.Name, p.Base)
		if err != nil {
			p.Stop()
			return nil, err
		}
		for _, l := range loads {
			logf("load: %s %s (%s, %d connections, %s)", s.Name, l.metric, cfg.Duration, cfg.Concurrency, cfg.generator())
			r, err := cfg.load(ctx, l.req)
			if err != nil {
				p.Stop()
				return nil, err
			}
			if r.Errors > 0 {
				logf("  %d of %d requests failed; first: %s", r.Errors, r.Requests, r.FirstError)
			}
			figs = append(figs, Figure{Target: s.Name, Metric: l.metric, Value: r.RPS(), Unit: "req/s", P50: r.P50, P99: r.P99})
		}
		var measure func(context.Context, Config, string) (Figure, error)
		switch {
		case strings.HasPrefix(s.Name, "sandbox"):
			measure = deliveries
		case s.Name == "bare":
			measure = bareDeliveries
		}
		if measure != nil {
			logf("deliveries: %s", s.Name)
			f, err := measure(ctx, cfg, p.Base)
			if err != nil {
				logf("  deliveries failed: %v", err)
			} else {
				f.Target = s.Name
				figs = append(figs, f)
			}
		}
		p.Stop()
	}
	return figs, nil
}

// generator names the load generator in use.
func (cfg Config) generator() string {
	if cfg.Wrk != "" {
		return "wrk"
	}
	return "go"
}

// load runs one closed-loop load with the configured generator.
func (cfg Config) load(ctx context.Context, req Request) (Result, error) {
	if cfg.Wrk != "" {
		return LoadWrk(ctx, cfg.Wrk, req, cfg.Concurrency, cfg.Duration)
	}
	return Load(ctx, req, cfg.Concurrency, cfg.Duration), nil
}

// runOnce is load without warm-up, for runs whose requests all count
// (every webhook trigger must be delivered).
func (cfg Config) runOnce(ctx context.Context, req Request) (Result, error) {
	if cfg.Wrk != "" {
		return wrkOnce(ctx, cfg.Wrk, req, cfg.Concurrency, cfg.Duration)
	}
	return measure(ctx, req, cfg.Concurrency, cfg.Duration), nil
}

func coldStarts(ctx context.Context, s Server, runs int) ([]time.Duration, []int64, error) {
	var starts []time.Duration
	var rss []int64
	for i := 0; i < runs; i++ {
		p, err := Start(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		starts = append(starts, p.StartUp)
		if n, err := p.RSS(); err == nil {
			rss = append(rss, n)
		}
		p.Stop()
	}
	return starts, rss, nil
}

func median[T int64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

type load struct {
	metric string
	req    Request
}

// loadsFor prepares the measured requests of a target (creating the app
// and tokens they need on the sandbox).
func loadsFor(ctx context.Context, target, base string) ([]load, error) {
	switch target {
	case "bare":
		return []load{
			{"rest-get", Request{Method: "GET", URL: base + "/v1/platform/apps/app_1"}},
			{"form-post", formPost(base+"/v1/oauth/token", "grant_type=client_credentials&client_id=x&client_secret=y", nil)},
			{"token-es256", formPost(base+"/v1/oauth/token-es256", "grant_type=client_credentials&client_id=x&client_secret=y", nil)},
		}, nil
	case "stripe-mock":
		auth := http.Header{"Authorization": {"Bearer sk_test_123"}}
		return []load{
			{"rest-get", Request{Method: "GET", URL: base + "/v1/customers/cus_123", Header: auth}},
			{"form-post", formPost(base+"/v1/customers", "email=alice%40acme.example&description=bench", auth)},
		}, nil
	}
	admin := http.Header{"Authorization": {"Bearer sandbox_admin_acme"}, "Content-Type": {"application/json"}}
	var app struct {
		ID, ClientID, ClientSecret string
	}
	if err := callJSON(ctx, "POST", base+"/v1/platform/apps", admin,
		`{"name":"Load benchmark","grant_types":["client_credentials"],"requested_scopes":["cases:read","cases:write","webhooks:write","webhooks:read"]}`,
		&map[string]*string{"id": &app.ID, "client_id": &app.ClientID, "client_secret": &app.ClientSecret}); err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}.Encode()
	var token string
	if err := callJSON(ctx, "POST", base+"/v1/oauth/token", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form,
		&map[string]*string{"access_token": &token}); err != nil {
		return nil, err
	}
	gql, _ := json.Marshal(map[string]any{"query": GraphQLCaseQuery, "variables": map[string]any{"id": "case_acme_1001"}})
	return []load{
		{"rest-get", Request{Method: "GET", URL: base + "/v1/platform/apps/" + app.ID, Header: admin}},
		{"token-client-credentials", formPost(base+"/v1/oauth/token", form, nil)},
		{"graphql-case-with-notes", Request{Method: "POST", URL: base + "/v1/graphql", Body: gql,
			Header: http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}}},
	}, nil
}

// GraphQLCaseQuery is the "typical authenticated query": a case with its
// notes.
const GraphQLCaseQuery = `query Case($id: ID!) { case(id: $id) { id number title status priority notes(first: 20) { totalCount edges { node { id body createdAt } } } } }`

func formPost(u, body string, h http.Header) Request {
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for k, v := range h {
		hdr[k] = v
	}
	return Request{Method: "POST", URL: u, Body: []byte(body), Header: hdr}
}

func callJSON(ctx context.Context, method, u string, h http.Header, body string, out *map[string]*string) error {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, raw)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	for k, dst := range *out {
		s, _ := m[k].(string)
		*dst = s
	}
	return nil
}
