package conformance

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// maxDeliveriesShown bounds the deliveries the text report lists per
// scenario; the JSON report has all of them.
const maxDeliveriesShown = 8

// WriteText writes the human-readable report: per scenario the verdict,
// what it detects, what was sent, what came back and each check with its
// diff.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Argus webhook conformance: %s\n", r.Target)
	if r.Sandbox != "" {
		client := r.ClientID
		if client == "" {
			client = "unknown (callbacks unverified)"
		}
		fmt.Fprintf(&b, "Sandbox: %s (consumer client: %s)\n", r.Sandbox, client)
	}
	b.WriteString("\n")
	for _, s := range r.Scenarios {
		writeScenario(&b, s)
	}
	t := r.Totals()
	fmt.Fprintf(&b, "\n%d passed, %d failed, %d unverified", t.Passed, t.Failed, t.Unverified)
	if t.Skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", t.Skipped)
	}
	fmt.Fprintf(&b, " of %d scenarios in %s\n", len(r.Scenarios), roundDuration(r.Duration))
	if r.NotRun > 0 {
		fmt.Fprintf(&b, "Stopped after the first failure (fail-fast): %d scenarios not run.\n", r.NotRun)
	}
	if t.Unverified > 0 {
		b.WriteString("Unverified scenarios were not proven: give --probe, or --exec so the runner can restart the consumer.\n")
	}
	writeCategories(&b, r.Categories())
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCategories writes the score of each category, one line each, at
// the end of the report: passed over required, and what kept the rest
// from passing.
func writeCategories(b *strings.Builder, cs []CategoryScore) {
	if len(cs) == 0 {
		return
	}
	b.WriteString("\nBy category (passed / required):\n")
	for _, c := range cs {
		fmt.Fprintf(b, "  %-16s %5s", c.Category, fmt.Sprintf("%d/%d", c.Passed, c.Required))
		var rest []string
		if c.Failed > 0 {
			rest = append(rest, fmt.Sprintf("%d failed", c.Failed))
		}
		if c.Unverified > 0 {
			rest = append(rest, fmt.Sprintf("%d unverified", c.Unverified))
		}
		if c.Skipped > 0 {
			rest = append(rest, fmt.Sprintf("%d skipped", c.Skipped))
		}
		if len(rest) > 0 {
			b.WriteString("  " + strings.Join(rest, ", "))
		}
		b.WriteString("\n")
	}
}

// writeScenario writes one scenario; a passing one takes one line.
func writeScenario(b *strings.Builder, s Result) {
	took := roundDuration(s.Duration).String()
	if s.Settle >= time.Millisecond {
		took += ", the consumer settled " + roundDuration(s.Settle).String() + " after its deliveries"
	}
	fmt.Fprintf(b, "%-10s %s — %s (%s)\n", strings.ToUpper(string(s.Status)), s.Name, s.Title, took)
	if s.Status == StatusPass {
		return
	}
	fmt.Fprintf(b, "  detects: %s\n", s.Detects)
	fmt.Fprintf(b, "  why:     %s\n", s.Why)
	if s.Reason != "" {
		fmt.Fprintf(b, "  reason:  %s\n", s.Reason)
	}
	if len(s.Sent) > 0 {
		b.WriteString("  sent:\n")
		for _, l := range s.Sent {
			fmt.Fprintf(b, "    - %s\n", l)
		}
	}
	writeDeliveries(b, s.Deliveries)
	if s.ConsumerOutput != "" {
		b.WriteString("  consumer output (last lines):\n")
		for _, l := range strings.Split(s.ConsumerOutput, "\n") {
			fmt.Fprintf(b, "    | %s\n", l)
		}
	}
	if len(s.Checks) > 0 {
		b.WriteString("  checks:\n")
		for _, c := range s.Checks {
			fmt.Fprintf(b, "    %-10s [L%d %s] %s\n", strings.ToUpper(string(c.Status)), c.Level, c.At, c.Name)
			if c.Detail != "" {
				for _, l := range strings.Split(strings.TrimRight(c.Detail, "\n"), "\n") {
					fmt.Fprintf(b, "               %s\n", l)
				}
			}
		}
	}
	b.WriteString("\n")
}

func writeDeliveries(b *strings.Builder, ds []Delivery) {
	if len(ds) == 0 {
		return
	}
	b.WriteString("  came back:\n")
	if len(ds) > maxDeliveriesShown {
		requests, statuses := 0, map[string]int{}
		for _, d := range ds {
			for _, a := range d.Attempts {
				requests++
				statuses[answer(a)]++
			}
		}
		fmt.Fprintf(b, "    %d deliveries, %d requests:", len(ds), requests)
		for _, k := range slices.Sorted(maps.Keys(statuses)) {
			fmt.Fprintf(b, " %d× %s;", statuses[k], k)
		}
		b.WriteString(" (all in the JSON report)\n")
		return
	}
	for _, d := range ds {
		label := d.Label
		if label == "" {
			label = "-"
		}
		fmt.Fprintf(b, "    %s %s %s → %s\n", label, d.Topic, d.EventID, d.Status)
		for _, a := range d.Attempts {
			extra := ""
			if a.Duplicate {
				extra += " duplicate"
			}
			if a.FaultRule != "" {
				extra += " fault=" + a.FaultRule
			}
			if ts := a.Headers["webhook-timestamp"]; ts != "" {
				extra += " webhook-timestamp=" + ts
			}
			fmt.Fprintf(b, "      #%d %-10s %s in %dms%s\n", a.Number, a.Trigger, answer(a), a.DurationMS, extra)
		}
	}
}

func answer(a Attempt) string {
	if a.Status != 0 {
		return fmt.Sprint(a.Status)
	}
	if class, _, ok := strings.Cut(a.Error, ":"); ok {
		return class
	}
	return "no answer"
}

// WriteJSON writes the whole report, every delivery included.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// JUnit XML (the format CI servers read): one testcase per scenario, a
// failure for fail and skipped for unverified.
type junitSuites struct {
	XMLName xml.Name   `xml:"testsuites"`
	Suites  []junitRun `xml:"testsuite"`
}

type junitRun struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML.
func (r *Report) WriteJUnit(w io.Writer) error {
	t := r.Totals()
	run := junitRun{Name: "argus-webhook-conformance", Tests: len(r.Scenarios), Failures: t.Failed, Skipped: t.Unverified + t.Skipped,
		Time: seconds(r.Duration)}
	for _, s := range r.Scenarios {
		c := junitCase{Name: s.Name, Classname: "conformance", Time: seconds(s.Duration)}
		var detail strings.Builder
		writeScenario(&detail, s)
		switch s.Status {
		case StatusFail:
			c.Failure = &junitMessage{Message: s.Title + ": " + s.Detects, Body: detail.String()}
		case StatusUnverified:
			c.Skipped = &junitMessage{Message: "unverified: " + firstNonEmpty(s.Reason, "an observation was unavailable"), Body: detail.String()}
		case StatusSkipped:
			c.Skipped = &junitMessage{Message: "skipped: " + s.Reason, Body: detail.String()}
		}
		run.Cases = append(run.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitRun{run}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// WriteFiles writes the JSON and JUnit reports to the paths that are set.
func (r *Report) WriteFiles(jsonPath, junitPath string) error {
	var errs []error
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{jsonPath, r.WriteJSON}, {junitPath, r.WriteJUnit}} {
		if out.path == "" {
			continue
		}
		f, err := os.Create(out.path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, out.write(f), f.Close())
	}
	return errors.Join(errs...)
}

// roundDuration shortens a duration for people: to the millisecond, or
// to the microsecond below one (so a fast scenario never reads "0s").
func roundDuration(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}
