package emulator_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/emulator/graphql"
	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// BenchmarkDurableHeap measures what a SQLite-backed sandbox keeps in
// memory as its database grows: it stores n records (half audit events,
// a quarter finished deliveries of one webhook, an eighth apps, an eighth
// cases of acme, and n/50 tenants holding the audit events and apps past
// acme's limits), starts the sandbox on them, serves a page of
// every list (apps, audit, deliveries, cases with totalCount, tenants),
// the NDJSON audit export's path aside, and the discovery document (which
// reads every tenant's claims), then reports the live heap after
// runtime.GC() as live-B, and what serving those pages a second time
// allocated as lists-alloc-B (a list read whole shows there: garbage, but
// the peak it makes grows with the database). It is a measurement, not a timed loop:
// compare both at both sizes.
//
//	go test -run '^$' -bench DurableHeap -benchtime 1x ./emulator/
func BenchmarkDurableHeap(b *testing.B) {
	for _, n := range []int{10_000, 200_000} {
		b.Run(fmt.Sprintf("records-%d", n), func(b *testing.B) {
			dir := b.TempDir()
			cfg := emulator.Config{Issuer: "http://127.0.0.1:8080", Seed: 1, Loopback: true, DataDir: dir,
				OperatorToken: "operator-secret"}
			sb, err := emulator.New(cfg) // migrates and seeds
			if err != nil {
				b.Fatal(err)
			}
			sb.Close()
			fillDurable(b, filepath.Join(dir, "sandbox.db"), n)
			for b.Loop() {
				sb, err := emulator.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				serveEveryList(b, sb.Handler()) // warm: statements prepared, discovery's claims read
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				before := ms.TotalAlloc
				serveEveryList(b, sb.Handler())
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.TotalAlloc-before), "lists-alloc-B")
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.HeapAlloc), "live-B")
				sb.Close()
			}
		})
	}
}

// serveEveryList reads a page of each list of the sandbox, failing on any
// answer but 200.
func serveEveryList(b *testing.B, h http.Handler) {
	b.Helper()
	call := func(method, target, ctype, auth, body string) *httptest.ResponseRecorder {
		w := serve(h, method, target, ctype, auth, body)
		if w.Code/100 != 2 {
			b.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
		}
		return w
	}
	w := call("POST", "/v1/platform/apps", "application/json", "sandbox_admin_acme",
		`{"name":"Heap benchmark","grant_types":["client_credentials"],"requested_scopes":["cases:read"]}`)
	var app struct{ ClientID, ClientSecret string }
	var raw map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &raw)
	app.ClientID, _ = raw["client_id"].(string)
	app.ClientSecret, _ = raw["client_secret"].(string)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}.Encode()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(call("POST", "/v1/oauth/token", "application/x-www-form-urlencoded", "", form).Body.Bytes(), &tok)
	for _, target := range []string{"/v1/platform/apps?limit=100", "/v1/platform/audit-events?limit=100",
		"/v1/platform/audit-events?limit=100&target=app_heap_1", "/v1/webhooks?limit=100",
		"/v1/webhooks/wh_heapbenchmark0000000000/deliveries?limit=100", "/v1/webhooks/wh_heapbenchmark0000000000/deliveries?limit=100&status=succeeded"} {
		call("GET", target, "", "sandbox_admin_acme", "")
	}
	call("GET", "/_sandbox/tenants?limit=100", "", "operator-secret", "")
	call("GET", "/.well-known/openid-configuration", "", "", "")
	query, _ := json.Marshal(map[string]any{"query": `{ cases(first: 100) { totalCount nodes { id title } } }`})
	call("POST", "/v1/graphql", "application/json", tok.AccessToken, string(query))
}

// fillDurable writes n records into the sandbox database at path (SQL
// straight into the records table: n writes through the API would take
// minutes).
func fillDurable(b *testing.B, path string, n int) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := tx.Prepare(`INSERT INTO records (kind, parent, id, tenant, alt, seq, status, k1, k2, at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	put := func(kind, parent, id, tenant string, alt any, seq int64, status, k1, k2 string, at int64, doc any) {
		j, err := json.Marshal(doc)
		if err == nil {
			_, err = st.Exec(kind, parent, id, tenant, alt, seq, status, k1, k2, at, string(j))
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	put("webhook", "", "wh_heapbenchmark0000000000", "acme", nil, 1_000_000, "", "", "", 0, webhooks.Webhook{ID: "wh_heapbenchmark0000000000", Tenant: "acme",
		URL: "https://hooks.example/heap", Events: []string{"case.updated"}, Secret: "whsec_aGVhcA==", Seq: 1_000_000, CreatedAt: t0})
	tenantOf := func(i int) string { // acme holds what fits its limits
		if i <= 400 {
			return "acme"
		}
		return fmt.Sprint("heap-", 1+i%(n/50))
	}
	for i := 1; i <= n/2; i++ {
		put("audit", tenantOf(i), fmt.Sprint(i), tenantOf(i), nil, int64(i), "", "", "", 0, platform.AuditEvent{ID: fmt.Sprint("aud_heap_", i),
			Seq: i, Tenant: tenantOf(i), Action: "app.updated", ActorType: "admin", ActorID: "acme", Target: fmt.Sprint("app_heap_", i%50),
			Details: map[string]any{"name": "Heap"}, OccurredAt: t0})
	}
	for i := 1; i <= n/4; i++ {
		ev := webhooks.Event{ID: fmt.Sprint("evt_heap_", i), Type: "case.updated", Timestamp: t0, Tenant: "acme"}
		put("delivery", "wh_heapbenchmark0000000000", fmt.Sprint("dlv_heap_", i), "acme", nil, int64(i), string(webhooks.StatusSucceeded), ev.Type, ev.ID,
			0, webhooks.Delivery{ID: fmt.Sprint("dlv_heap_", i), WebhookID: "wh_heapbenchmark0000000000", Tenant: "acme", Seq: uint64(i), Event: ev,
				Status: webhooks.StatusSucceeded, AttemptCount: 1, CreatedAt: t0, UpdatedAt: t0})
	}
	for i := 1; i <= n/8; i++ {
		id := fmt.Sprint("app_heap_", i)
		put("app", "", id, tenantOf(i), "cli_heap_"+fmt.Sprint(i), int64(1_000_000+i), "", "", "", 0, platform.App{ID: id,
			ClientID: "cli_heap_" + fmt.Sprint(i), Tenant: tenantOf(i), Name: "Heap app", CreatedAt: t0, UpdatedAt: t0})
		at := t0.Add(-time.Duration(i) * time.Second).UnixMicro()
		put("case", "acme", fmt.Sprint("case_heap_", i), "acme", nil, at, "", "", "", at, graphql.Case{ID: fmt.Sprint("case_heap_", i),
			Tenant: "acme", Number: fmt.Sprint("HEAP-", i), Title: "Heap case", Status: "OPEN", Priority: "LOW", Version: 1,
			CreatedAt: time.UnixMicro(at).UTC(), UpdatedAt: t0})
	}
	for i := 1; i <= n/50; i++ {
		id := fmt.Sprint("heap-", i)
		at := t0.Add(time.Duration(i) * time.Second)
		put("tenant", "", id, id, nil, 0, "", "", "", at.UnixMicro(), tenants.Tenant{ID: id, Name: "Heap tenant", Locale: "en",
			AdminTokenDigest: tenants.Digest("admin-" + id), CreatedAt: at})
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
