// Package emulator assembles the Argus sandbox: it loads the specs and
// fixtures, builds every surface, connects them through their small
// interfaces and mounts them on one spec-driven router. It is the library
// behind cmd/sandbox, the conformance runner and the sandboxtest package.
package emulator

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/knogin/argus-sandbox/emulator/console"
	"github.com/knogin/argus-sandbox/emulator/control"
	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/graphql"
	"github.com/knogin/argus-sandbox/emulator/idempotency"
	"github.com/knogin/argus-sandbox/emulator/journal"
	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/internal/schemaissue"
	"github.com/knogin/argus-sandbox/specs"
)

// Config configures a sandbox. Issuer is required; every other zero value
// is a working default on the embedded specs and fixtures.
type Config struct {
	// Issuer is the base URL the sandbox is reached at, e.g.
	// http://127.0.0.1:8080; it names the token issuer and audiences.
	Issuer string
	// Specs and Fixtures override the embedded files.
	Specs    fs.FS
	Fixtures fs.FS
	Logger   *slog.Logger
	// Seed makes IDs, secrets, retry jitter and fault probabilities
	// reproducible; 0 draws a random seed.
	Seed int64
	// Clock defaults to a VirtualClock following real time.
	Clock *core.VirtualClock
	// MaxBodyBytes bounds request bodies (1 MiB when zero).
	MaxBodyBytes int64
	// SigningAlg is the access-token algorithm (oauth.DefaultSigningAlg
	// when empty); KeyRotation rotates the signing key on that period of
	// the clock (0: only on demand).
	SigningAlg  string
	KeyRotation time.Duration
	// RequirePKCE refuses authorization requests without a PKCE
	// code_challenge (OAuth 2.1); see oauth.Config.RequirePKCE.
	RequirePKCE bool
	// BlockLocalWebhookTargets refuses webhook URLs on loopback and private
	// addresses (allowed by default, for local development).
	BlockLocalWebhookTargets bool
	// WebhookSchedule overrides the retry waits (webhooks.DefaultSchedule
	// when nil).
	WebhookSchedule []time.Duration
	// WebhookAttemptTimeout bounds one delivery attempt in real time
	// (webhooks.DefaultAttemptTimeout, Argus's 15 s, when zero; from
	// webhooks.MinAttemptTimeout to webhooks.MaxAttemptTimeout): shorter
	// makes tests of a consumer's timeout handling quicker.
	WebhookAttemptTimeout time.Duration
	// OperatorToken protects the control plane; it may be empty only when
	// Loopback is true (then local callers are operators).
	OperatorToken string
	Loopback      bool
	// AllowedHosts, when not empty, are the Host header values answered:
	// a host (any port), host:port, or "*" (any). Others are refused with
	// 421 misdirected_request before routing, so a web page rebinding its
	// DNS name to 127.0.0.1 cannot drive a loopback sandbox from a browser.
	// Empty: every host is answered.
	AllowedHosts []string
	// FaultRules are loaded at start (from --faults); reset returns to them.
	FaultRules []faults.Rule
	// CheckResponse, when set, validates every response against the specs
	// (test suites pass t.Errorf through it).
	CheckResponse func(r *http.Request, op string, err error)
	// DataDir keeps the sandbox's state in an SQLite database in that
	// directory, DatabaseURL in a PostgreSQL database (several sandboxes
	// on one database are one sandbox); at most one of them. Empty: state
	// lives in memory. An empty database is seeded with the fixtures once;
	// later starts keep what it holds. DatabaseTimeout bounds the wait for
	// the database (sqlstore.DefaultConnectTimeout when zero).
	DataDir         string
	DatabaseURL     string
	DatabaseTimeout time.Duration
	// DeliveryLease is webhooks.Config.Lease: how long a delivery this
	// process holds in a durable store stays its own without a heartbeat
	// (webhooks.DefaultLease when zero).
	DeliveryLease time.Duration
	// ShutdownTimeout bounds Serve's graceful shutdown, the webhook
	// deliveries still queued included (DefaultShutdownTimeout when zero).
	ShutdownTimeout time.Duration
}

// Sandbox is an assembled emulator. Its surfaces are reached only through
// Handler, over HTTP, as every client does: the control plane
// (/_sandbox/...) is how the conformance runner, sandboxtest and the
// commands drive it (package client).
type Sandbox struct {
	clock *core.VirtualClock
	// clocks are the tenants' clocks over clock.
	clocks *core.Clocks
	// replicas keeps the clocks in the durable store, and the tenant
	// registry's cache, the keys and the fault rules in step with it (nil
	// in memory).
	replicas *replicaSync
	// db is the durable store (nil in memory).
	db *sqlstore.DB
	// clientTenants remembers the tenants of OAuth clients (nil in
	// memory).
	clientTenants *clientTenants
	ids           *core.IDs
	platform      *platform.Service
	oauth         *oauth.Service
	webhooks      *webhooks.Service
	graphql       *graphql.Service
	faults        *faults.Engine
	control       *control.Service
	// idem replays the answers of keyed writes (Idempotency-Key).
	idem    *idempotency.Layer
	journal *journal.Journal
	// tenants is the tenant registry: the fixture tenants and those
	// created at run time.
	tenants *tenants.Registry
	// keys are the token signing keys, shared by the token service, the
	// control plane and key fault rules.
	keys *oauth.Keyring

	router          *core.Router
	handler         http.Handler
	closer          []func()
	shutdownTimeout time.Duration
}

// specFiles lists the OpenAPI documents of specs/, by API name.
var specFiles = []string{"platform", "oauth", "webhooks", "graphql", "sandbox"}

// New assembles a sandbox. Every problem with the specs or fixtures is
// reported with the file and field it concerns.
func New(cfg Config) (*Sandbox, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("emulator: Issuer is required")
	}
	if err := CheckAllowedHosts(cfg.AllowedHosts); err != nil {
		return nil, fmt.Errorf("emulator: AllowedHosts: %w", err)
	}
	if cfg.DataDir != "" && cfg.DatabaseURL != "" {
		return nil, errors.New("emulator: DataDir and DatabaseURL: give at most one")
	}
	loadDocs := func() (map[string]*openapi3.T, error) { return loadSpecs(cfg.Specs) }
	if cfg.Specs == nil {
		cfg.Specs = specs.Default()
		loadDocs = embeddedSpecs
	}
	if cfg.Fixtures == nil {
		cfg.Fixtures = fixtures.Default()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// The specs load on another core while the fixtures load and the
	// surfaces that do not need them are built; build waits for them.
	var docs map[string]*openapi3.T
	var specErr error
	parsed := make(chan struct{})
	go func() { docs, specErr = loadDocs(); close(parsed) }()
	waitDocs := func() (map[string]*openapi3.T, error) { <-parsed; return docs, specErr }
	fx, err := fixtures.Load(cfg.Fixtures)
	if err != nil {
		_, specErr := waitDocs()
		return nil, errors.Join(err, specErr)
	}
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = int64(binary.LittleEndian.Uint64(b[:]) >> 1)
	}
	sb := &Sandbox{clock: cfg.Clock, shutdownTimeout: cfg.ShutdownTimeout}
	if sb.shutdownTimeout <= 0 {
		sb.shutdownTimeout = DefaultShutdownTimeout
	}
	if sb.clock == nil {
		sb.clock = core.NewVirtualClock(nil)
		sb.closer = append(sb.closer, sb.clock.Close)
	}
	if cfg.Seed != 0 {
		sb.ids = core.NewIDs(seededReader(cfg.Seed))
	} else {
		sb.ids = core.NewIDs(nil)
	}
	if err := sb.build(cfg, fx, waitDocs, uint64(seed)); err != nil {
		sb.Close()
		return nil, err
	}
	return sb, nil
}

// build constructs the surfaces and connects them, each from what is
// already built, top to bottom: the signing keys and the fault engine
// first (they need nothing but the clock and IDs), then webhooks, platform,
// oauth, graphql; then, once the specs are loaded, the control plane and
// the router. The one cycle, platform ↔ oauth, is closed by
// platform.SetTokenMinter right after oauth is built. The surfaces up to
// graphql do not need the specs, so they are built while the specs load;
// waitDocs then returns them. A spec error takes precedence over any
// other, as if the specs had been loaded first.
func (sb *Sandbox) build(cfg Config, fx *fixtures.Set, waitDocs func() (map[string]*openapi3.T, error), seed uint64) error {
	fail := func(err error) error {
		if _, specErr := waitDocs(); specErr != nil {
			return specErr
		}
		return err
	}
	log := cfg.Logger
	hosts, _ := parseAllowedHosts(cfg.AllowedHosts) // checked by New
	st, err := openStores(cfg)
	if err != nil {
		return fail(err)
	}
	if st.db != nil {
		sb.db = st.db
		sb.closer = append(sb.closer, func() { _ = st.db.Close() })
	}
	if st.journal != nil {
		// Before the database closes (closers run last first): the
		// entries still queued are written.
		sb.closer = append(sb.closer, func() {
			if err := st.journal.Close(); err != nil {
				log.Warn("the request journal's last entries were not written", "err", err)
			}
		})
	}
	sb.keys, err = oauth.NewKeyring(oauth.KeyringConfig{Clock: sb.clock, Logger: log.With("surface", "oauth"),
		SigningAlg: cfg.SigningAlg, Rotation: cfg.KeyRotation, Store: st.keys, Shared: st.shared()})
	if err != nil {
		return fail(err)
	}
	sb.tenants, err = tenants.New(context.Background(), tenants.Config{Clock: sb.clock, IDs: sb.ids, Fixtures: fx, Store: st.tenants, KeepStored: st.seeded,
		Cache: st.tenants != nil})
	if err != nil {
		return fail(err)
	}
	sb.clocks = core.NewClocks(sb.clock, func(tenant string) bool { _, ok := sb.tenants.Tenant(tenant); return ok })
	sb.closer = append(sb.closer, sb.clocks.Close)
	if st.db != nil {
		if sb.replicas, err = startReplicaSync(context.Background(), st.db, sb.clocks, sb.tenants.Invalidate, log.With("surface", "store")); err != nil {
			return fail(fmt.Errorf("%w: %w", ErrDatabase, err))
		}
		sb.clientTenants = &clientTenants{}
	}
	sb.journal = journal.New(journal.Config{Clock: sb.clock, TenantClock: sb.clocks.Func(), ClientTenant: sb.tenantOfClient,
		Store: st.journalStore(), Logger: log.With("surface", "journal")})
	if st.shared() {
		// The replicas' live streams are one stream: each relays what it
		// publishes to the others that have subscribers.
		bus, err := st.db.StreamBus(sqlstore.StreamBusOptions{Deliver: sb.journal.Deliver, Logger: log.With("surface", "journal")})
		if err != nil {
			return fail(fmt.Errorf("%w: %w", ErrDatabase, err))
		}
		sb.closer = append(sb.closer, bus.Close)
		sb.journal.SetRelay(bus)
	}
	sb.faults, err = faults.New(faults.Config{Clock: sb.clock, IDs: sb.ids, Logger: log.With("surface", "faults"),
		Seed: seed, Rules: cfg.FaultRules, Keys: sb.keys, OnFire: streamFault(sb.journal),
		ClientTenant: sb.tenantOfClient, TenantClock: sb.clocks.Func(), Store: st.faults, Shared: st.shared()})
	if err != nil {
		return fail(err)
	}
	if sb.replicas != nil {
		if err := sb.replicas.follow(context.Background(), sb.keys, sb.faults); err != nil {
			return fail(fmt.Errorf("%w: %w", ErrDatabase, err))
		}
	}
	sb.webhooks, err = webhooks.New(webhooks.Config{
		Clock: sb.clock, IDs: sb.ids, Fixtures: fx, Tenants: sb.tenants, Logger: log.With("surface", "webhooks"),
		AllowLocalTargets: !cfg.BlockLocalWebhookTargets, Schedule: cfg.WebhookSchedule, AttemptTimeout: cfg.WebhookAttemptTimeout,
		Faults: deliveryFaults(sb.faults), Audit: auditTrail{sb}, Observer: webhookStream{sb.journal}, Store: st.webhooks,
		TenantClock: sb.clocks.Func(), LatestClock: sb.clocks.Latest, Lease: cfg.DeliveryLease,
	})
	if err != nil {
		return fail(err)
	}
	sb.closer = append(sb.closer, func() { _ = sb.webhooks.Close() })
	if st.shared() {
		// A clock moved on this replica walks through the retries the
		// other replicas keep timers for.
		sb.clocks.SetWalkSources(sb.webhooks.WalkSource)
	}
	sb.platform, err = platform.New(platform.Config{Clock: sb.clock, IDs: sb.ids, Fixtures: fx, Tenants: sb.tenants, TenantClock: sb.clocks.Func(),
		Logger: log.With("surface", "platform"), Events: sb.webhooks, Issuer: cfg.Issuer, Store: st.platform})
	if err != nil {
		return fail(err)
	}
	var clients oauth.ClientDirectory = clientDirectory{sb.platform}
	if tokens, ok := st.oauth.(*sqlstore.OAuthStore); ok {
		// The apps are in the token records' database (openStores).
		clients = durableClients{clientDirectory{sb.platform}, tokens}
	}
	sb.oauth, err = oauth.New(oauth.Config{Clock: sb.clock, IDs: sb.ids, Fixtures: fx, Tenants: sb.tenants, TenantClock: sb.clocks.Func(), EarliestClock: sb.clocks.Earliest,
		ClaimNames: func() []string { return sb.tenants.ClaimNames(context.Background()) }, Logger: log.With("surface", "oauth"),
		Clients: clients, Issuer: cfg.Issuer, Keys: sb.keys, Faults: tokenFaults{sb.faults},
		RequirePKCE: cfg.RequirePKCE, Store: st.oauth})
	if err != nil {
		return fail(err)
	}
	sb.platform.SetTokenMinter(tokenMinter{sb.oauth})
	sb.graphql, err = graphql.New(graphql.Config{Clock: sb.clock, IDs: sb.ids, Fixtures: fx, Tenants: sb.tenants, Logger: log.With("surface", "graphql"),
		Specs: cfg.Specs, Events: sb.webhooks, Capabilities: sb.platform, Audit: auditLog{sb.platform},
		AccessTokens: sb.oauth.Verifier(oauth.ResourceGraphQL), Store: st.graphql, KeepStored: st.seeded})
	if err != nil {
		return fail(err)
	}
	// The platform's and webhooks' writes and GraphQL's mutations honour
	// Idempotency-Key; OAuth has its own retry semantics (RFC 6749) and
	// the control plane is the operator's. A durable sandbox keeps the
	// keys in its database: a retry after a restart, or on another
	// replica, is replayed too.
	sb.idem, err = idempotency.New(idempotency.Config{Clock: sb.clock, TenantClock: sb.clocks.Func(), APIs: map[string]idempotency.Applies{
		"platform": nil, "webhooks": nil, "graphql": sb.graphql.Mutates}, Store: st.idem, Logger: log.With("surface", "idempotency")})
	if err != nil {
		return fail(err)
	}
	docs, err := waitDocs()
	if err != nil {
		return err
	}
	sb.control, err = control.New(control.Config{Clock: sb.clock, Fixtures: fx, Logger: log.With("surface", "control"),
		Specs: cfg.Specs, Resetter: control.ResetFunc(sb.reset), Events: controlEvents{sb.webhooks}, Cases: caseEvents{sb.webhooks, sb.graphql}, Keys: sb.keys,
		Access: accessDecider{sb.platform}, Faults: sb.faults, Webhooks: controlWebhooks{sb.webhooks}, Journal: sb.journal, OperatorToken: cfg.OperatorToken, Loopback: cfg.Loopback,
		Tenants: sb.tenants, TenantData: tenantData{sb}, Clocks: sb.clocks})
	if err != nil {
		return err
	}
	platformAPI := sb.platform.API(docs["platform"])
	platformAPI.Security = map[string]core.Authenticator{"accessToken": sb.oauth.Verifier(oauth.ResourcePlatform)}
	webhooksAPI := sb.webhooks.API(docs["webhooks"])
	webhooksAPI.Security = map[string]core.Authenticator{"accessToken": sb.oauth.Verifier(oauth.ResourceWebhooks)}
	graphqlAPI := sb.graphql.API(docs["graphql"])
	graphqlAPI.Security = map[string]core.Authenticator{"accessToken": sb.oauth.Verifier(oauth.ResourceGraphQL)}
	sb.router, err = core.NewRouter(core.RouterConfig{
		APIs: []core.API{platformAPI, sb.oauth.API(docs["oauth"]), webhooksAPI, graphqlAPI, sb.control.API(docs["sandbox"])},
		Security: map[string]core.Authenticator{
			"adminToken":    sb.tenants.AdminAuthenticator(),
			"operatorToken": sb.control.Authenticator(),
		},
		MaxBodyBytes: cfg.MaxBodyBytes,
		Logger:       log,
		IDs:          sb.ids,
		// Faults wrap the idempotency layer: a response lost on the way
		// out is kept, so the client's retry gets it back.
		Wrap: func(op core.OperationInfo, next http.Handler) http.Handler {
			return sb.faults.Wrap(op, sb.idem.Wrap(op, next))
		},
		CheckResponse: cfg.CheckResponse,
		AllowHost:     hosts.check(),
		Observe:       sb.journal.Record,
		TenantLocale:  tenantLocale(sb.tenants),
	})
	if err != nil {
		return err
	}
	if sb.handler, err = mountConsole(sb.router, fx, cfg, hosts.check(), log); err != nil {
		return err
	}
	if sb.replicas != nil && st.db.Postgres() {
		// Another replica may have moved a clock or changed a tenant
		// since the last request; and between requests too, with timers
		// waiting on a clock it moved (a delayed delivery's).
		sb.handler = sb.replicas.wrap(sb.handler)
		sb.closer = append(sb.closer, sb.replicas.poll(replicaPoll))
	}
	if err := sb.faults.CheckOperations(); err != nil {
		return err
	}
	return st.markSeeded()
}

// mountConsole puts the web console in front of the router at
// console.Prefix. The console is HTML, outside the specs; it answers the
// same hosts as the router and acts through the router, in process, with
// the fixture tenants' administrator tokens and the signed-in operator's.
func mountConsole(api http.Handler, fx *fixtures.Set, cfg Config, allowHost func(string) bool, log *slog.Logger) (http.Handler, error) {
	tenants := make([]console.Tenant, 0, len(fx.Tenants))
	for _, t := range fx.Tenants {
		tenants = append(tenants, console.Tenant{ID: t.ID, Name: t.Name, AdminToken: t.AdminToken})
	}
	c, err := console.New(console.Config{API: api, Tenants: tenants, Open: cfg.Loopback && cfg.OperatorToken == "",
		AllowHost: allowHost, Logger: log.With("surface", "console")})
	if err != nil {
		return nil, err
	}
	root := strings.TrimSuffix(console.Prefix, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == root || strings.HasPrefix(p, console.Prefix) {
			c.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}), nil
}

// reset returns every surface to the fixture state (the control plane
// then resets fault rules and the clock).
func (sb *Sandbox) reset(ctx context.Context, keepApps bool) error {
	sb.webhooks.Reset()
	sb.graphql.Reset()
	// Tenants created at run time stay; those made from a template get
	// its cases back.
	err := sb.tenants.Each(ctx, func(t tenants.Tenant) error {
		if t.Template == "" {
			return nil
		}
		return sb.graphql.ResetTenant(ctx, t.ID, t.Template)
	})
	if err != nil {
		return err
	}
	if err := sb.idem.Reset(ctx); err != nil {
		return err
	}
	sb.platform.Reset(keepApps)
	if !keepApps {
		sb.oauth.Reset()
	}
	return nil
}

// Handler serves the whole contract, and the web console at
// /_sandbox/console/.
func (sb *Sandbox) Handler() http.Handler { return sb.handler }

// Operations lists every routed operation.
func (sb *Sandbox) Operations() []core.OperationInfo { return sb.router.Operations() }

// ParseFaultRules reads a fault-rule file (YAML or JSON, the --faults
// format of specs/faults.schema.json) into Config.FaultRules, validated as
// the sandbox validates it: errors name the file and every bad field.
// Libraries that start sandboxes (sandboxtest) check a file with it before
// starting anything.
func ParseFaultRules(name string, data []byte) ([]faults.Rule, error) {
	return faults.ParseFile(name, data)
}

// CheckFaultRule validates one fault rule in its JSON form (the body of
// POST /_sandbox/faults) as the sandbox does when the rule is added, and
// returns every problem, each naming a field by JSON pointer relative to
// the rule; none when the sandbox accepts it (a name already taken is only
// known to a running sandbox). Tools that carry rules of their own, such
// as conformance scenarios, check them before any sandbox runs.
func CheckFaultRule(rule []byte) []schemaissue.Issue {
	_, err := faults.DecodeRule(rule)
	var verr *faults.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &verr):
		return verr.Issues
	}
	return []schemaissue.Issue{{Field: "/", Reason: err.Error()}}
}

// Close stops background work (timers, delivery workers).
func (sb *Sandbox) Close() {
	for i := len(sb.closer) - 1; i >= 0; i-- {
		sb.closer[i]()
	}
	sb.closer = nil
}

// embeddedSpecs builds the embedded specs once per process: they cannot
// change, and every sandbox only reads them, so tests and the conformance
// runner, which assemble many sandboxes, build them once. specs.Parse builds
// them from their compiled Go form (no YAML parsing at start). They are not
// validated here: TestEmbeddedSpecsAreValid does it at build time, and
// validation with examples is a large share of start-up.
var embeddedSpecs = sync.OnceValues(func() (map[string]*openapi3.T, error) {
	return eachSpec(specs.Parse)
})

// loadSpecs parses and validates the OpenAPI documents of a --specs
// directory: YAML parsing is most of their start-up time.
func loadSpecs(fsys fs.FS) (map[string]*openapi3.T, error) {
	return eachSpec(func(file string) (*openapi3.T, error) {
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("spec %s: %w", file, err)
		}
		return specs.LoadSpec(file, data)
	})
}

// eachSpec loads every document of specFiles, one goroutine each, and
// returns those that loaded with every error.
func eachSpec(load func(file string) (*openapi3.T, error)) (map[string]*openapi3.T, error) {
	loaded := make([]*openapi3.T, len(specFiles))
	errs := make([]error, len(specFiles))
	var wg sync.WaitGroup
	for i, name := range specFiles {
		wg.Go(func() { loaded[i], errs[i] = load(name + ".yaml") })
	}
	wg.Wait()
	docs := make(map[string]*openapi3.T, len(specFiles))
	for i, name := range specFiles {
		if errs[i] == nil {
			docs[name] = loaded[i]
		}
	}
	return docs, errors.Join(errs...)
}

// seeded is a deterministic byte stream for reproducible runs.
type seeded struct{ r *mrand.ChaCha8 }

func seededReader(seed int64) *seeded {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], uint64(seed))
	return &seeded{r: mrand.NewChaCha8(s)}
}

func (s *seeded) Read(p []byte) (int, error) { return s.r.Read(p) }
