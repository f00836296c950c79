package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/knogin/argus-sandbox/emulator/faults"
)

// FaultStore is the faults.StateStore of a DB: the rule set's snapshot
// (rules, counters, random streams) in one meta row.
type FaultStore struct {
	db *DB
}

var _ faults.StateStore = (*FaultStore)(nil)

// Faults returns the faults.StateStore of d.
func (d *DB) Faults() *FaultStore { return &FaultStore{db: d} }

const faultRulesMeta = "fault_rules"

// LoadRules returns the saved snapshot, nil when none was saved.
func (s *FaultStore) LoadRules(ctx context.Context) ([]byte, error) {
	var v string
	err := s.db.read().queryRow(ctx, "SELECT value FROM meta WHERE key = ?", faultRulesMeta).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}

// SaveRules replaces the saved snapshot; on PostgreSQL it moves the shared
// version, so the other replicas reload the snapshot at their next
// request.
func (s *FaultStore) SaveRules(ctx context.Context, snapshot []byte) error {
	return s.db.saveMeta(ctx, faultRulesMeta, string(snapshot))
}
