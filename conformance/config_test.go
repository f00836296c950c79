package conformance_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

// fieldsOf lists the Config fields a run's error names, in order.
func fieldsOf(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *conformance.FieldError:
			out = append(out, e.Field)
		case interface{ Unwrap() []error }:
			for _, e := range e.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// TestConfigErrorsNameFields: the library reports problems by the Config
// field at fault (a command maps them to its flags), every problem of a
// Config together.
func TestConfigErrorsNameFields(t *testing.T) {
	rs := startRemote(t)
	tests := []struct {
		name string
		cfg  conformance.Config
		want []string
	}{
		{name: "no consumer", cfg: conformance.Config{}, want: []string{"Consumer"}},
		{name: "target without secret, not a URL", cfg: conformance.Config{Consumer: &conformance.Target{URL: "127.0.0.1:3000"}},
			want: []string{"Secret", "Consumer.URL"}},
		{name: "malformed secret and regexp", cfg: conformance.Config{Consumer: inProcess(consumer.BugNone), Secret: "whsec_c2hvcnQ=", Run: "("},
			want: []string{"Secret", "Run"}},
		{name: "client id without its secret", cfg: conformance.Config{Consumer: &conformance.Target{URL: "http://127.0.0.1:1/hook"},
			Secret: targetSecret, ClientID: "cli_x"}, want: []string{"ClientSecret"}},
		{name: "a run selecting nothing", cfg: conformance.Config{Consumer: inProcess(consumer.BugNone), Run: "^nothing$"}, want: []string{"Run"}},
		{name: "sandbox not a URL", cfg: conformance.Config{Consumer: inProcess(consumer.BugNone),
			Sandbox: &conformance.RemoteSandbox{URL: "127.0.0.1:8080"}}, want: []string{"Sandbox.URL"}},
		{name: "wrong operator token", cfg: conformance.Config{Consumer: inProcess(consumer.BugNone),
			Sandbox: &conformance.RemoteSandbox{URL: rs.URL, OperatorToken: "nope"}}, want: []string{"Sandbox.OperatorToken"}},
		{name: "wrong admin token", cfg: conformance.Config{Consumer: inProcess(consumer.BugNone),
			Sandbox: &conformance.RemoteSandbox{URL: rs.URL, OperatorToken: rs.OperatorToken, AdminToken: "nope"}}, want: []string{"Sandbox.AdminToken"}},
		{name: "no probe at the probe path", cfg: conformance.Config{Consumer: &conformance.InProcess{New: inProcess(consumer.BugNone).New,
			WebhookPath: consumer.WebhookPath, ProbePath: "/wrong"}}, want: []string{"Consumer.ProbePath"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.StateDir = t.TempDir()
			_, err := conformance.Run(context.Background(), tt.cfg)
			var setup *conformance.SetupError
			if !errors.As(err, &setup) {
				t.Fatalf("err = %v, want a setup error", err)
			}
			if diff := cmp.Diff(tt.want, fieldsOf(err)); diff != "" {
				t.Errorf("fields named (-want +got):\n%s\nerror: %v", diff, err)
			}
			if strings.Contains(err.Error(), "--") {
				t.Errorf("error %q names a command-line flag", err)
			}
		})
	}
}
