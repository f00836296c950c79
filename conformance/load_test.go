package conformance

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/knogin/argus-sandbox/scenarios"
)

func TestLoadDefaultSuite(t *testing.T) {
	got, err := Load(scenarios.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 13 {
		t.Errorf("loaded %d scenarios, want at least 13", len(got))
	}
	for _, s := range got {
		if s.File != s.Name+".yaml" {
			t.Errorf("scenario %q comes from %q", s.Name, s.File)
		}
	}
}

func TestLoadNamesFileAndField(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr []string
	}{
		{
			name:    "unknown step",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nsteps: [{jump: {}}]\nexpect: {applied: {}}\n",
			wantErr: []string{"bad.yaml", "/steps/0"},
		},
		{
			name:    "label used before publish",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nsteps: [{redeliver: e1}]\nexpect: {applied: {e1: 1}}\n",
			wantErr: []string{"bad.yaml", "/steps/0/redeliver", "/expect/applied/e1"},
		},
		{
			name:    "bad fault rule",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nfaults: [{name: x, match: {}, action: {duplicate: {copies: -1}}}]\nsteps: [{publish: {as: e1, topic: case.updated}}]\nexpect: {applied: {e1: 1}}\n",
			wantErr: []string{"bad.yaml", "/faults/0"},
		},
		{
			name:    "name differs from file",
			file:    "name: other\ntitle: t\ndetects: d\nwhy: w\nsteps: [{publish: {as: e1, topic: case.updated}}]\nexpect: {applied: {e1: 1}}\n",
			wantErr: []string{"bad.yaml", "/name"},
		},
		{
			name:    "callback fault rule without requires",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nfaults: [{name: x, match: {operation: graphql}, action: {error: {status: 503}}}]\nsteps: [{publish: {as: e1, topic: case.updated}}]\nexpect: {applied: {e1: 1}}\n",
			wantErr: []string{"/faults/0", "requires: [callback]"},
		},
		{
			name:    "unknown topic",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nsteps: [{publish: {as: e1, topic: case.exploded}}]\nexpect: {applied: {e1: 1}}\n",
			wantErr: []string{"/steps/0/publish/topic", "case.exploded"},
		},
		{
			name:    "case labels never published",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nsteps: [{publish: {as: e1, topic: case.updated, case: c1}}]\nexpect: {cases: {c2: {status: OPEN, version: 1}}, notes: {c3: 1, c1: 0}}\n",
			wantErr: []string{"/expect/cases/c2", "/expect/notes/c3"},
		},
		{
			name:    "restart without requires",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nsteps: [{restart: {}}]\nexpect: {notes: {case_acme_1001: 0}}\n",
			wantErr: []string{"/steps/0/restart"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{"bad.yaml": {Data: []byte(tt.file)}})
			if err == nil {
				t.Fatal("Load accepted a bad scenario")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}
