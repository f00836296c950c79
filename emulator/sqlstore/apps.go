package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/knogin/argus-sandbox/emulator/platform"
)

// maxAppDocs bounds the app documents whose decoded form is remembered:
// a few kilobytes each, so at most a few megabytes.
const maxAppDocs = 1024

// appDocs remembers the decoding of the app documents read lately, keyed
// by their exact text. Every read still fetches the document from the
// database; only turning the same bytes into the same App again is
// skipped (an app's secret hashes make its JSON slow to decode, the
// largest share of a validated GET after the read itself). A changed app
// is a different text, so nothing stale can be answered.
type appDocs struct {
	mu   sync.RWMutex
	apps map[string]*platform.App
}

// decode returns the App of doc, a copy the caller may modify.
func (m *appDocs) decode(doc string) (platform.App, error) {
	m.mu.RLock()
	a, ok := m.apps[doc]
	m.mu.RUnlock()
	if ok {
		return a.Clone(), nil
	}
	var v platform.App
	if err := decode(doc, &v); err != nil {
		return platform.App{}, err
	}
	kept := v.Clone()
	m.mu.Lock()
	if m.apps == nil {
		m.apps = make(map[string]*platform.App, maxAppDocs)
	}
	if len(m.apps) >= maxAppDocs {
		for k := range m.apps { // an arbitrary entry: bounded without bookkeeping
			delete(m.apps, k)
			break
		}
	}
	m.apps[doc] = &kept
	m.mu.Unlock()
	return v, nil
}

// app reads one app document by query (one row or none) and decodes it;
// none is platform.ErrNotFound.
func (d *DB) app(ctx context.Context, query string, args ...any) (platform.App, error) {
	var doc string
	err := d.read().queryRow(ctx, query, args...).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return platform.App{}, platform.ErrNotFound
	}
	if err != nil {
		return platform.App{}, err
	}
	return d.apps.decode(doc)
}
