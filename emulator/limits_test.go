package emulator_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/graphql"
	"github.com/knogin/argus-sandbox/emulator/idempotency"
	"github.com/knogin/argus-sandbox/emulator/journal"
	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// TestREADMELimitsMatchDefaults keeps the README's limits table in step
// with the defaults the stores enforce.
func TestREADMELimitsMatchDefaults(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n### Limits\n")
	if !ok {
		t.Fatal("README has no Limits section")
	}
	if end := strings.Index(section, "\n#"); end >= 0 {
		section = section[:end]
	}
	rows := map[string]string{} // what → limit
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) >= 4 {
			rows[strings.TrimSpace(cells[1])] = strings.ReplaceAll(strings.TrimSpace(cells[2]), ",", "")
		}
	}
	for what, want := range map[string]int{
		"apps per tenant": platform.DefaultAppsPerTenant,
		"live client secrets per app (current + in grace)":        platform.DefaultSecretsPerApp,
		"active service tokens per app":                           platform.DefaultServiceTokensPerApp,
		"access requests per tenant (decided or not)":             platform.DefaultAccessRequestsPerTenant,
		"webhooks per tenant":                                     webhooks.DefaultMaxWebhooksPerTenant,
		"audit events per tenant":                                 platform.DefaultAuditEventsPerTenant,
		"cases per tenant":                                        graphql.MaxCasesPerTenant,
		"finished deliveries kept per webhook (delivery history)": webhooks.DefaultRetention,
		"request journal entries per tenant (in memory, or in the database with `--database-url`)": journal.DefaultSize,
		"request journal entries waiting to be written, per replica (`--database-url`)":            sqlstore.DefaultJournalMaxPending,
		"Idempotency-Keys per tenant (24 h each)":                                                  idempotency.DefaultMaxPerTenant,
	} {
		if got, ok := rows[what]; !ok || got != strconv.Itoa(want) {
			t.Errorf("README limits row %q = %q, want %d", what, got, want)
		}
	}
}
