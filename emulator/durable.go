package emulator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/graphql"
	"github.com/knogin/argus-sandbox/emulator/idempotency"
	"github.com/knogin/argus-sandbox/emulator/journal"
	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// ErrDatabase is matched by the error of New when the durable store
// (Config.DataDir or Config.DatabaseURL) cannot be opened: unreachable,
// unwritable, or written by a newer version.
var ErrDatabase = errors.New("the sandbox's database cannot be used")

// stores are the surfaces' stores: nil fields take each surface's
// in-memory default.
type stores struct {
	platform platform.Store
	oauth    oauth.Store
	graphql  graphql.Store
	webhooks webhooks.Store
	keys     oauth.KeyStore
	tenants  tenants.Store
	faults   faults.StateStore
	// idem keeps the Idempotency-Key layer's keys.
	idem idempotency.Store
	// journal is the request journal replicas share (PostgreSQL only; a
	// SQLite sandbox is one process and keeps its journal in memory,
	// leaving the database's one writer to the surfaces).
	journal *sqlstore.JournalStore
	// seeded: the store already holds a sandbox's state, which a start
	// keeps instead of seeding the fixtures again.
	seeded bool
	db     *sqlstore.DB
}

// openStores opens the durable store cfg names, if any.
func openStores(cfg Config) (stores, error) {
	if cfg.DataDir == "" && cfg.DatabaseURL == "" {
		return stores{}, nil
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL,
		ConnectTimeout: cfg.DatabaseTimeout})
	if err != nil {
		return stores{}, fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	seeded, err := db.Seeded(context.Background())
	if err != nil {
		_ = db.Close()
		return stores{}, fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	st := stores{platform: db.Platform(platform.Limits{}), oauth: db.OAuth(), graphql: db.GraphQL(),
		webhooks: db.Webhooks(0, 0), keys: db.Keys(), tenants: db.Tenants(), faults: db.Faults(), idem: db.Idempotency(), seeded: seeded, db: db}
	if db.Postgres() {
		if st.journal, err = db.Journal(sqlstore.JournalOptions{Logger: cfg.Logger.With("surface", "journal")}); err != nil {
			_ = db.Close()
			return stores{}, fmt.Errorf("%w: %w", ErrDatabase, err)
		}
	}
	return st, nil
}

// journalStore is the journal's store: the shared one, or nil for the
// journal's in-memory rings.
func (s stores) journalStore() journal.Store {
	if s.journal == nil {
		return nil
	}
	return s.journal
}

// shared reports whether other processes may share the store (replicas
// on one PostgreSQL database): the keys and the fault rules then change
// by compare-and-set and count in the store.
func (s stores) shared() bool { return s.db != nil && s.db.Postgres() }

// markSeeded records, once the surfaces have seeded an empty durable
// store with the fixtures, that later starts keep what it holds.
func (s stores) markSeeded() error {
	if s.db == nil || s.seeded {
		return nil
	}
	if err := s.db.MarkSeeded(context.Background()); err != nil {
		return fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	return nil
}

// clientTenants remembers the tenant of each OAuth client a durable
// sandbox was asked about (the journal and the fault engine ask after
// every token request): a client belongs to one tenant for good and its
// random id is never reused, so what was found stays true. At most
// maxClientTenants are kept.
type clientTenants struct {
	m sync.Map // client id → tenant
	n atomic.Int64
}

const maxClientTenants = 1 << 16

// tenantOfClient is clientTenant through the durable sandbox's memory of
// it; in memory it is clientTenant itself, whose lookup is a map's.
func (sb *Sandbox) tenantOfClient(clientID string) (string, bool) {
	if sb.clientTenants == nil {
		return sb.clientTenant(clientID)
	}
	if t, ok := sb.clientTenants.m.Load(clientID); ok {
		return t.(string), true
	}
	t, ok := sb.clientTenant(clientID)
	if ok && sb.clientTenants.n.Load() < maxClientTenants {
		if _, loaded := sb.clientTenants.m.LoadOrStore(clientID, t); !loaded {
			sb.clientTenants.n.Add(1)
		}
	}
	return t, ok
}
