package conformance

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

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
			name:    "rotate_secret without requires",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nsteps: [{rotate_secret: {}}, {publish: {as: e1, topic: case.updated}}]\nexpect: {applied: {e1: 1}}\n",
			wantErr: []string{"/steps/0/rotate_secret", "requires: [restart]"},
		},
		{
			name:    "payload beyond the control plane's bound",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nsteps: [{publish: {as: e1, topic: case.updated, min_bytes: 2000000}}]\nexpect: {applied: {e1: 1}}\n",
			wantErr: []string{"/steps/0/publish/min_bytes"},
		},
		{
			name:    "timestamp offset beyond 30 days",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nfaults: [{name: x, action: {timestamp_offset: {by: -800h}}}]\nsteps: [{publish: {as: e1, topic: case.updated}}]\nexpect: {applied: {e1: 1}}\n",
			wantErr: []string{"/faults/0/action/timestamp_offset/by", "between"},
		},
		{
			name:    "unknown signature form",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nfaults: [{name: x, action: {signature: {form: v3}}}]\nsteps: [{publish: {as: e1, topic: case.updated}}]\nexpect: {applied: {e1: 1}}\n",
			wantErr: []string{"/faults/0/action/signature/form"},
		},
		{
			name:    "empty synthetic",
			file:    "name: bad\ntitle: t\ndetects: d\nwhy: w\nfaults: [{name: x, action: {synthetic: {}}}]\nsteps: [{publish: {as: e1, topic: case.updated}}]\nexpect: {applied: {e1: 1}}\n",
			wantErr: []string{"/faults/0/action/synthetic"},
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

// TestNumbersAndDurationsNameTheField: a scenario's counts, durations and
// fault rules that do not fit are refused naming exactly their field,
// never the root.
func TestNumbersAndDurationsNameTheField(t *testing.T) {
	const head = "name: bad\ntitle: t\ndetects: d\nwhy: w\n"
	const publish = "steps: [{publish: {as: e1, topic: case.updated, case: c1}}"
	tests := []struct {
		name string
		body string
		want string
	}{
		{"advance beyond Go's range", "steps: [{advance: 9999999h}]\nexpect: {notes: {case_acme_1001: 0}}\n", "/steps/0/advance"},
		{"advance above the maximum", "steps: [{advance: 10001h}]\nexpect: {notes: {case_acme_1001: 0}}\n", "/steps/0/advance"},
		{"within above the maximum", publish + "]\nexpect: {responses: [{event: e1, status: 2xx, within: 10001h}]}\n", "/expect/responses/0/within"},
		{"within of a step beyond Go's range", publish + ", {expect: {responses: [{event: e1, status: 2xx, within: 99999999999h}]}}]\nexpect: {applied: {e1: 1}}\n", "/steps/1/expect/responses/0/within"},
		{"version beyond int", "steps: [{publish: {as: e1, topic: case.updated, version: 1e23}}]\nexpect: {applied: {e1: 1}}\n", "/steps/0/publish/version"},
		{"version beyond int64", "steps: [{publish: {as: e1, topic: case.updated, version: 9223372036854775808}}]\nexpect: {applied: {e1: 1}}\n", "/steps/0/publish/version"},
		{"applied beyond int", publish + "]\nexpect: {applied: {e1: 1e23}}\n", "/expect/applied/e1"},
		{"attempt beyond int", publish + "]\nexpect: {responses: [{event: e1, status: 2xx, attempt: 1e23}]}\n", "/expect/responses/0/attempt"},
		{"notes beyond int", publish + "]\nexpect: {notes: {c1: 1e23}}\n", "/expect/notes/c1"},
		{"case version beyond int", publish + "]\nexpect: {cases: {c1: {status: OPEN, version: 1e23}}}\n", "/expect/cases/c1/version"},
		{"infinite count", "steps: [{publish: {as: e1, topic: case.updated, count: .inf}}]\nexpect: {applied: {e1: 1}}\n", "/steps/0/publish/count"},
		{"fault delay beyond Go's range", "faults: [{name: x, action: {delay: {for: 99999999999h}}}]\n" + publish + "]\nexpect: {applied: {e1: 1}}\n", "/faults/0/action/delay/for"},
		{"fault count beyond int", "faults: [{name: x, when: {after: 1e23}, action: {delay: {for: 1h}}}]\n" + publish + "]\nexpect: {applied: {e1: 1}}\n", "/faults/0/when/after"},
		{"fault first that would overflow", "faults: [{name: x, when: {after: 1, first: 9223372036854775807}, action: {delay: {for: 1h}}}]\n" + publish + "]\nexpect: {applied: {e1: 1}}\n", "/faults/0/when/first"},
		{"fault window that never opens", "faults: [{name: x, when: {from: 2h, until: 1h}, action: {delay: {for: 1h}}}]\n" + publish + "]\nexpect: {applied: {e1: 1}}\n", "/faults/0/when/until"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario("bad.yaml", []byte(head+tt.body))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			var fields []string
			for _, is := range verr.Issues {
				fields = append(fields, is.Field)
			}
			if diff := cmp.Diff([]string{tt.want}, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s\nerr: %v", diff, err)
			}
			if !strings.HasPrefix(err.Error(), "bad.yaml: ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestLongestDurationsAreAccepted(t *testing.T) {
	const file = "name: ok\ntitle: t\ndetects: d\nwhy: w\nsteps: [{publish: {as: e1, topic: case.updated, version: 1000000000}}, {advance: 10000h}]\n" +
		"expect: {responses: [{event: e1, status: 2xx, within: 10000h}]}\n"
	if _, err := ParseScenario("ok.yaml", []byte(file)); err != nil {
		t.Fatal(err)
	}
}
