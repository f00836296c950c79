package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

// TestMain lets this test binary serve as an --exec consumer that writes
// to stderr: with ARGUS_TEST_NOISY_CONSUMER=1 it answers every delivery
// 500 and says so.
func TestMain(m *testing.M) {
	if os.Getenv("ARGUS_TEST_NOISY_CONSUMER") == "1" {
		noisyConsumer()
		return
	}
	os.Exit(m.Run())
}

func noisyConsumer() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+conformance.DefaultWebhookPath, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(os.Stderr, "noisy consumer: refusing delivery %s\n", r.Header.Get("webhook-id"))
		w.WriteHeader(http.StatusInternalServerError)
	})
	mux.HandleFunc("GET "+conformance.DefaultProbePath, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"applied": {}, "cases": {}, "pending": 0}`))
	})
	fmt.Fprintln(os.Stderr, "noisy consumer: starting")
	err := http.ListenAndServe(net.JoinHostPort(os.Getenv("HOST"), os.Getenv("PORT")), mux)
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// TestAttemptHeadersInTheJSONReport: each attempt of the JSON report
// carries the headers the sandbox sent, webhook-timestamp included.
func TestAttemptHeadersInTheJSONReport(t *testing.T) {
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone), StateDir: t.TempDir(),
		Run: "^single-delivery$"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Scenarios []struct {
			Deliveries []struct {
				EventID  string `json:"event_id"`
				Attempts []struct {
					Headers map[string]string `json:"headers"`
				} `json:"attempts"`
			} `json:"deliveries"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Scenarios) != 1 || len(out.Scenarios[0].Deliveries) != 1 || len(out.Scenarios[0].Deliveries[0].Attempts) != 1 {
		t.Fatalf("report: %s", b.String())
	}
	d := out.Scenarios[0].Deliveries[0]
	h := d.Attempts[0].Headers
	ts, err := strconv.ParseInt(h["webhook-timestamp"], 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Errorf("webhook-timestamp %q is not the time of the attempt", h["webhook-timestamp"])
	}
	if h["webhook-id"] != d.EventID || !strings.HasPrefix(h["webhook-signature"], "v1,") {
		t.Errorf("headers %v: want webhook-id %s and a v1 signature", h, d.EventID)
	}
}

// TestConsumerOutputOnFailure: a failed scenario carries what the --exec
// consumer wrote while it ran, and only that; a passing one carries none.
func TestConsumerOutputOnFailure(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ARGUS_TEST_NOISY_CONSUMER", "1")
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: &conformance.Exec{Command: strconv.Quote(self)},
		Run: "^(single-delivery|invalid-signature)$"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Scenarios {
		switch s.Name {
		case "single-delivery":
			id := s.Deliveries[0].EventID
			if s.Status != conformance.StatusFail || s.ConsumerOutput != "noisy consumer: refusing delivery "+id {
				t.Errorf("single-delivery: %s with output %q, want fail with the refusal of %s only", s.Status, s.ConsumerOutput, id)
			}
		case "invalid-signature":
			if s.Status != conformance.StatusFail {
				t.Errorf("invalid-signature: %s, want fail (500 is not 4xx)", s.Status)
			}
		}
	}
	var b strings.Builder
	_ = rep.WriteText(&b)
	if !strings.Contains(b.String(), "consumer output (last lines):\n    | noisy consumer: refusing delivery evt_") {
		t.Errorf("text report lacks the consumer output:\n%s", b.String())
	}
}

// TestReportSpeaksNoGo: the failures of a broken consumer (counts, case
// states) and a probe of the wrong shape read in plain words, with no Go
// type or syntax in the report.
func TestReportSpeaksNoGo(t *testing.T) {
	var b strings.Builder
	for _, bug := range []consumer.Bug{consumer.BugNoDedupe, consumer.BugLastWriteWins} {
		rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(bug), StateDir: t.TempDir(),
			Run: "^(duplicate-sequential|out-of-order)$"})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Failed() {
			t.Fatalf("%s passed", bug)
		}
		_ = rep.WriteText(&b)
	}
	for _, want := range []string{": want 1, got 2", ": want CLOSED v4, got "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	_, err := conformance.Run(context.Background(), conformance.Config{Secret: targetSecret, Run: "^single-delivery$",
		Consumer: probeTarget(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"applied": "all of them"}`)) })})
	if err == nil {
		t.Fatal("a probe of the wrong shape was accepted")
	}
	b.WriteString(err.Error())
	if !strings.Contains(err.Error(), `probe member "applied" must be an object of event ids to counts, not "all of them"`) {
		t.Errorf("error %q does not say what the member should be", err)
	}
	for _, goism := range []string{"map[", "conformance.", "Go value", "&{", "int{", "string{"} {
		if strings.Contains(b.String(), goism) {
			t.Errorf("report text has %q:\n%s", goism, b.String())
		}
	}
}
