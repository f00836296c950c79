package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/knogin/argus-sandbox/emulator/faults"
)

// FaultStore is the faults.SharedStateStore of a DB: the rule set's
// snapshot in one meta row, and each rule's counters, when several
// processes share them, in a record of their own (kindFaultCount).
type FaultStore struct {
	db *DB
}

var _ faults.SharedStateStore = (*FaultStore)(nil)

// Faults returns the faults.StateStore of d.
func (d *DB) Faults() *FaultStore { return &FaultStore{db: d} }

const faultRulesMeta = "fault_rules"

// kindFaultCount is a rule's counters (id: the rule's instance id): num
// counts its matches, seq its firings.
const kindFaultCount = "fault_count"

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

// SaveRules replaces the saved snapshot; on PostgreSQL it moves the fault
// rules' shared version, so the other replicas reload the snapshot at
// their next request.
func (s *FaultStore) SaveRules(ctx context.Context, snapshot []byte) error {
	return s.db.saveMeta(ctx, KindFaults, faultRulesMeta, string(snapshot))
}

// SwapRules replaces the snapshot with next when the stored one is still
// prev (nil: none is stored), deleting the counters of drop in the same
// transaction; on PostgreSQL a swap moves the fault rules' shared version.
func (s *FaultStore) SwapRules(ctx context.Context, prev, next []byte, drop []string) (bool, error) {
	return s.db.swapMeta(ctx, KindFaults, faultRulesMeta, prev, next, func(c conn) error {
		for _, id := range drop {
			if _, err := c.remove(ctx, kindFaultCount, "", id); err != nil {
				return err
			}
		}
		return nil
	})
}

// CountMatch counts a match of rule in one statement (see
// faults.SharedStateStore).
func (s *FaultStore) CountMatch(ctx context.Context, rule string, fire bool, after, limit int64) (faults.Counts, error) {
	f := 0
	if fire {
		f = 1
	}
	first := 0
	if fire && 1 > after && (limit == 0 || 1 <= limit) {
		first = 1
	}
	var c faults.Counts
	err := s.db.read().queryRow(ctx, `INSERT INTO records (kind, parent, id, num, seq, doc) VALUES (?, '', ?, 1, ?, '')
		ON CONFLICT (kind, parent, id) DO UPDATE SET num = records.num + 1,
			seq = records.seq + CASE WHEN ? = 1 AND records.num + 1 > ? AND (? = 0 OR records.num + 1 <= ?) THEN 1 ELSE 0 END
		RETURNING num, seq`, kindFaultCount, rule, first, f, after, limit, limit).Scan(&c.Matched, &c.Fired)
	return c, err
}

// CountFiring counts a firing of rule.
func (s *FaultStore) CountFiring(ctx context.Context, rule string) (faults.Counts, error) {
	var c faults.Counts
	err := s.db.read().queryRow(ctx, `INSERT INTO records (kind, parent, id, num, seq, doc) VALUES (?, '', ?, 0, 1, '')
		ON CONFLICT (kind, parent, id) DO UPDATE SET seq = records.seq + 1
		RETURNING num, seq`, kindFaultCount, rule).Scan(&c.Matched, &c.Fired)
	return c, err
}

// LoadCounts returns every rule's counters by rule id.
func (s *FaultStore) LoadCounts(ctx context.Context) (map[string]faults.Counts, error) {
	rows, err := s.db.read().query(ctx, "SELECT id, num, seq FROM records WHERE kind = ?", kindFaultCount)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]faults.Counts{}
	for rows.Next() {
		var id string
		var c faults.Counts
		if err := rows.Scan(&id, &c.Matched, &c.Fired); err != nil {
			return nil, err
		}
		out[id] = c
	}
	return out, rows.Err()
}

// kindFaultEvent is a firing of the shared log: seq orders the log (the
// counter of the same name), k1 is the rule's name, tenant the tenant the
// firing was about, doc the faults.Event.
const kindFaultEvent = "fault_event"

// AppendEvent adds a firing to the log and deletes those past the keep
// most recent, in one transaction.
func (s *FaultStore) AppendEvent(ctx context.Context, ev faults.Event, keep int) error {
	doc, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return s.db.write(ctx, nil, func(c conn) error {
		seq, err := c.next(ctx, kindFaultEvent)
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO records (kind, parent, id, tenant, seq, k1, at, doc) VALUES (?, '', ?, ?, ?, ?, ?, ?)`,
			kindFaultEvent, ev.ID, ev.Tenant, seq, ev.Rule, micros(ev.At), string(doc)); err != nil {
			return err
		}
		if keep <= 0 || seq <= int64(keep) {
			return nil
		}
		_, err = c.exec(ctx, "DELETE FROM records WHERE kind = ? AND parent = '' AND seq <= ?", kindFaultEvent, seq-int64(keep))
		return err
	})
}

// Events lists the logged firings f selects, oldest first, reading the
// newest first on the (kind, parent, seq) index.
func (s *FaultStore) Events(ctx context.Context, f faults.EventFilter) ([]faults.Event, error) {
	limit := int64(math.MaxInt32)
	if f.Limit > 0 {
		limit = int64(f.Limit)
	}
	rows, err := s.db.read().query(ctx, `SELECT doc FROM records WHERE kind = ? AND parent = ''
		AND (? = '' OR k1 = ?) AND (? = '' OR tenant = ?) ORDER BY seq DESC LIMIT ?`,
		kindFaultEvent, f.Rule, f.Rule, f.Tenant, f.Tenant, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []faults.Event{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var ev faults.Event
		if err := json.Unmarshal([]byte(doc), &ev); err != nil {
			return nil, fmt.Errorf("fault firing: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}

// ClearEvents empties the log.
func (s *FaultStore) ClearEvents(ctx context.Context) error {
	_, err := s.db.read().exec(ctx, "DELETE FROM records WHERE kind = ?", kindFaultEvent)
	return err
}
