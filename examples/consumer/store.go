package consumer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
)

// CaseState is the part of a case this consumer mirrors.
type CaseState struct {
	Status  string `json:"status"`
	Version int    `json:"version"`
}

// record is one line of the applied log: an event whose side effects ran,
// and the mirrored case state it wrote (nil when it changed none).
type record struct {
	EventID string `json:"event_id"`
	// Key is the dedupe key when it is not the event id.
	Key    string     `json:"key,omitempty"`
	Topic  string     `json:"topic"`
	CaseID string     `json:"case_id,omitempty"`
	Case   *CaseState `json:"case,omitempty"`
}

// Store is the consumer's durable state: an append-only log of applied
// events (file applied.log in its directory), replayed on open. Because
// the dedupe record and the effects are written in the same line, a
// restart or crash can never keep one without the other.
type Store struct {
	mu      sync.Mutex
	f       *os.File
	applied map[string]int
	keys    map[string]bool
	cases   map[string]CaseState
}

// OpenStore opens (or creates) the store in dir and replays its log.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	name := filepath.Join(dir, "applied.log")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	s := &Store{f: f, applied: map[string]int{}, keys: map[string]bool{}, cases: map[string]CaseState{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			// A torn last line is a write the crash interrupted: its
			// event was never acknowledged, so Argus delivers it again.
			continue
		}
		s.replay(r)
	}
	if err := sc.Err(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return s, nil
}

func (s *Store) replay(r record) {
	s.applied[r.EventID]++
	if r.Key != "" {
		s.keys[r.Key] = true
	} else {
		s.keys[r.EventID] = true
	}
	if r.Case != nil {
		s.cases[r.CaseID] = *r.Case
	}
}

// Applied reports how many times the event's side effects ran.
func (s *Store) Applied(eventID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied[eventID]
}

// Seen reports whether an event was applied under this dedupe key (its id).
func (s *Store) Seen(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[key]
}

// Apply records that the event's side effects ran, under its dedupe key
// (its id), and, when c is set, mirrors the case. With newerOnly the mirror keeps a state whose version
// is not older than c's: updates can arrive out of order. The line is
// synced before Apply returns, so an acknowledged event is never lost.
func (s *Store) Apply(eventID, key, topic, caseID string, c *CaseState, newerOnly bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return errors.New("store closed")
	}
	r := record{EventID: eventID, Topic: topic, CaseID: caseID}
	if key != eventID {
		r.Key = key
	}
	if c != nil && caseID != "" {
		if cur, ok := s.cases[caseID]; !newerOnly || !ok || c.Version > cur.Version {
			r.Case = c
		}
	}
	if err := appendSynced(s.f, r); err != nil {
		return err
	}
	s.replay(r)
	return nil
}

// appendSynced appends v to a log as one JSON line and syncs it to disk.
func appendSynced(f *os.File, v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return err
	}
	return f.Sync()
}

// Snapshot copies what the probe shows.
func (s *Store) Snapshot() (applied map[string]int, cases map[string]CaseState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.applied), maps.Clone(s.cases)
}

// Close closes the log.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return errors.New("store already closed")
	}
	err := s.f.Close()
	s.f = nil
	return err
}
