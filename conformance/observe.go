package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// Probe is the document a consumer serves at its probe URL (GET, JSON):
// per event id (the webhook-id header) the number of times its side
// effects ran, and per case id the state it mirrors. Events it never
// applied may be absent; absent counts as 0.
type Probe struct {
	Applied map[string]int       `json:"applied"`
	Cases   map[string]CaseState `json:"cases"`
	// Pending, optional, counts the deliveries the consumer acknowledged
	// but has not applied yet (0 for a consumer that applies before it
	// answers): the runner judges as soon as it reads 0, instead of
	// waiting for the observations to stay unchanged.
	Pending int `json:"pending"`
	// hasApplied and hasCases say whether the document has those members
	// at all: a probe that does not report one leaves its checks
	// unverified rather than failed.
	hasApplied, hasCases, hasPending bool
}

// probeClient bounds probe requests.
var probeClient = &http.Client{Timeout: 10 * time.Second}

func fetchProbe(ctx context.Context, url string) (*Probe, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s answered %d", url, resp.StatusCode)
	}
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&raw); err != nil {
		return nil, fmt.Errorf("GET %s: not a probe document (a JSON object)", url)
	}
	var p Probe
	if err := decodeMember(raw, "applied", "an object of event ids to counts", &p.Applied, &p.hasApplied); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if err := decodeMember(raw, "cases", `an object of case ids to {"status": "...", "version": N}`, &p.Cases, &p.hasCases); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if err := decodeMember(raw, "pending", "a count", &p.Pending, &p.hasPending); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return &p, nil
}

// decodeMember decodes raw[name] into v, noting whether it was there. A
// member of the wrong shape is described by what it should be (shape),
// not by the Go type it would not decode into.
func decodeMember(raw map[string]json.RawMessage, name, shape string, v any, has *bool) error {
	m, ok := raw[name]
	if !ok {
		return nil
	}
	*has = true
	if err := json.Unmarshal(m, v); err != nil {
		got := string(m)
		if len(got) > 60 {
			got = got[:60] + "…"
		}
		return fmt.Errorf("probe member %q must be %s, not %s", name, shape, got)
	}
	return nil
}

// check evaluates one expectation at one point of the scenario.
func (r *runner) check(ctx context.Context, sr *scenarioRun, at string, e *Expect) {
	add := func(level Level, name string, st Status, detail string) {
		sr.res.Checks = append(sr.res.Checks, Check{At: at, Level: level, Name: name, Status: st, Detail: detail})
	}
	for _, want := range e.Responses {
		st, detail := r.checkResponses(ctx, sr, want)
		add(LevelHTTP, describeResponse(want), st, detail)
	}
	needProbe, needNotes := len(e.Applied) > 0 || len(e.Cases) > 0, len(e.Notes) > 0 && r.noCallback == ""
	if !needProbe && !needNotes {
		if len(e.Notes) > 0 {
			add(LevelPlatform, "notes written back "+formatCounts(e.Notes), StatusUnverified, r.noCallback)
		}
		return
	}
	o := r.settle(ctx, sr, needProbe, needNotes)
	if o.took > sr.res.Settle {
		sr.res.Settle = o.took
	}
	// A failure says whether the consumer had settled when it was judged.
	addObserved := func(level Level, name string, st Status, detail string) {
		if st == StatusFail {
			detail += r.settleNote(o)
		}
		add(level, name, st, detail)
	}
	probe, perr := o.probe, o.probeErr
	if len(e.Applied) > 0 {
		name := "applied " + formatCounts(e.Applied)
		switch {
		case perr != nil:
			add(LevelProbe, name, StatusUnverified, "probe unavailable: "+perr.Error())
		case !probe.hasApplied:
			add(LevelProbe, name, StatusUnverified, "the probe document has no \"applied\" member")
		default:
			want, got := map[string]int{}, map[string]int{}
			for _, label := range slices.Sorted(maps.Keys(e.Applied)) {
				ids := sr.events[label]
				for i, id := range ids {
					key := label + " " + id
					if len(ids) > 1 {
						key = fmt.Sprintf("%s[%d] %s", label, i, id)
					}
					want[key], got[key] = e.Applied[label], probe.Applied[id]
				}
			}
			st, d := diffCounts(want, got)
			addObserved(LevelProbe, name, st, d)
			// Each event on its own: in a burst, the ones a consumer
			// dropped while it applied the rest are lost as surely.
			var lost []string
			for _, label := range slices.Sorted(maps.Keys(e.Applied)) {
				for _, id := range sr.events[label] {
					if e.Applied[label] > 0 && probe.Applied[id] == 0 {
						lost = append(lost, id)
					}
				}
			}
			if acks := r.acknowledged(ctx, sr, lost); acks != "" {
				add(LevelProbe, NeverApplied, StatusFail, "the probe shows no effect of events the consumer acknowledged:\n"+acks)
			}
		}
	}
	if len(e.Cases) > 0 {
		name := "mirrored cases " + formatCases(e.Cases)
		switch {
		case perr != nil:
			add(LevelProbe, name, StatusUnverified, "probe unavailable: "+perr.Error())
		case !probe.hasCases:
			add(LevelProbe, name, StatusUnverified, "the probe document has no \"cases\" member")
		default:
			want, got := map[string]string{}, map[string]string{}
			for label, st := range e.Cases {
				key := label + " " + sr.caseID(label)
				want[key] = st.String()
				if c, ok := probe.Cases[sr.caseID(label)]; ok {
					got[key] = c.String()
				} else {
					got[key] = "absent"
				}
			}
			st, d := diffValues(want, got)
			addObserved(LevelProbe, name, st, d)
		}
	}
	if len(e.Notes) > 0 && r.noCallback != "" {
		add(LevelPlatform, "notes written back "+formatCounts(e.Notes), StatusUnverified, r.noCallback)
	} else if len(e.Notes) > 0 {
		name := "notes written back " + formatCounts(e.Notes)
		wb, err := o.wb, o.wbErr
		if err != nil {
			add(LevelPlatform, name, StatusUnverified, "sandbox unavailable: "+err.Error())
			return
		}
		want, got := map[string]string{}, map[string]string{}
		for c, n := range e.Notes {
			id := sr.caseID(c)
			want[id], got[id] = strconv.Itoa(n), strconv.Itoa(wb.notes[id])
		}
		st, d := diffValues(want, got)
		src := fmt.Sprintf("successful addCaseNote calls of client %s in the sandbox's request journal", r.app.ClientID)
		if wb.truncated > 0 {
			src += fmt.Sprintf("; %d of them with a body the journal cut", wb.truncated)
		}
		if wb.unread > 0 {
			src += fmt.Sprintf("; %d more cut before their case id", wb.unread)
			if st == StatusFail {
				st = StatusUnverified
			}
		}
		if d == "" {
			d = src
		} else {
			d = src + " " + d
		}
		addObserved(LevelPlatform, name, st, d)
		if st == StatusFail {
			var lost []string
			for _, c := range slices.Sorted(maps.Keys(e.Notes)) {
				if e.Notes[c] > 0 && wb.notes[sr.caseID(c)] == 0 {
					for _, label := range sr.s.labelsOfCase(c) {
						lost = append(lost, sr.events[label]...)
					}
				}
			}
			if acks := r.acknowledged(ctx, sr, lost); acks != "" {
				add(LevelPlatform, NeverApplied, StatusFail, "the sandbox recorded no write-back for events the consumer acknowledged:\n"+acks)
			}
		}
	}
}

// checkResponses checks every selected answer to a label's deliveries.
func (r *runner) checkResponses(ctx context.Context, sr *scenarioRun, want ResponseExpect) (Status, string) {
	var problems []string
	seen := 0
	all, err := r.deliveries(ctx, sr)
	if err != nil {
		return StatusUnverified, "delivery diagnostics unavailable: " + err.Error()
	}
	mine := map[string]bool{}
	for _, id := range sr.events[want.Event] {
		mine[id] = true
	}
	for _, d := range all {
		if !mine[d.Event.ID] {
			continue
		}
		id := d.Event.ID
		for _, a := range d.Attempts {
			if want.Attempt != 0 && a.Number != want.Attempt {
				continue
			}
			seen++
			what := fmt.Sprintf("attempt %d", a.Number)
			if a.Duplicate {
				what += " (duplicate copy)"
			}
			timedOut := a.ResponseStatus == nil && a.Error != nil && a.Error.Class == client.ClassTimeout
			switch {
			case want.Status == StatusTimeout:
				if !timedOut {
					problems = append(problems, fmt.Sprintf("%s of %s %s, want no answer within the attempt timeout", what, id, outcomeOf(a)))
				}
			case a.ResponseStatus == nil:
				cause := "no answer"
				if a.Error != nil {
					cause = string(a.Error.Class) + ": " + a.Error.Message
				}
				problems = append(problems, fmt.Sprintf("%s of %s: %s", what, id, cause))
			case !matchStatus(want.Status, *a.ResponseStatus):
				problems = append(problems, fmt.Sprintf("%s of %s answered %d, want %s", what, id, *a.ResponseStatus, want.Status))
			case want.Within != nil && time.Duration(a.DurationMS)*time.Millisecond > time.Duration(*want.Within):
				problems = append(problems, fmt.Sprintf("%s of %s answered after %dms, want within %s", what, id, a.DurationMS, time.Duration(*want.Within)))
			}
		}
	}
	if seen == 0 {
		return StatusFail, fmt.Sprintf("no matching attempt was made for %s", want.Event)
	}
	if len(problems) > 0 {
		const shown = 5
		more := ""
		if len(problems) > shown {
			more = fmt.Sprintf("\n… and %d more", len(problems)-shown)
			problems = problems[:shown]
		}
		return StatusFail, strings.Join(problems, "\n") + more
	}
	return StatusPass, ""
}

// outcomeOf describes how an attempt ended.
func outcomeOf(a client.Attempt) string {
	switch {
	case a.ResponseStatus != nil:
		return fmt.Sprintf("answered %d after %dms", *a.ResponseStatus, a.DurationMS)
	case a.Error != nil:
		return "failed: " + string(a.Error.Class) + ": " + a.Error.Message
	}
	return "got no answer"
}

// diffCounts diffs applied counts. A burst's diff would list hundreds of
// events, so beyond a few it summarises: how many events differ, grouped
// by the count the probe reported, then the first few in publish order.
func diffCounts(want, got map[string]int) (Status, string) {
	const shown = 10
	if len(want) <= shown {
		return diffValues(countStrings(want), countStrings(got))
	}
	var keys []string
	byCount := map[int]int{}
	for k, v := range want {
		if got[k] != v {
			keys = append(keys, k)
			byCount[got[k]]++
		}
	}
	if len(keys) == 0 {
		return StatusPass, ""
	}
	slices.SortFunc(keys, publishOrder)
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d events were not applied as expected:\n", len(keys), len(want))
	for _, n := range slices.Sorted(maps.Keys(byCount)) {
		fmt.Fprintf(&b, "  %d applied %d times\n", byCount[n], n)
	}
	w, g := map[string]int{}, map[string]int{}
	for _, k := range keys[:min(shown, len(keys))] {
		w[k], g[k] = want[k], got[k]
	}
	_, d := diffValues(countStrings(w), countStrings(g))
	b.WriteString(d)
	if len(keys) > shown {
		fmt.Fprintf(&b, "\n… and %d more (every delivery is in the JSON report)", len(keys)-shown)
	}
	return StatusFail, b.String()
}

// publishOrder orders keys "label[i] id" by label, then numerically by i.
func publishOrder(a, b string) int {
	la, ia := splitIndex(a)
	lb, ib := splitIndex(b)
	if c := strings.Compare(la, lb); c != 0 {
		return c
	}
	if ia != ib {
		return ia - ib
	}
	return strings.Compare(a, b)
}

func splitIndex(key string) (string, int) {
	label, rest, ok := strings.Cut(key, "[")
	if !ok {
		return key, 0
	}
	n, _ := strconv.Atoi(rest[:strings.IndexByte(rest+"]", ']')])
	return label, n
}

// diffValues compares per key. Its detail lists every key that differs,
// in publish order, as "key: want W, got G": plain words, no Go syntax.
func diffValues(want, got map[string]string) (Status, string) {
	var b strings.Builder
	for _, k := range slices.SortedFunc(maps.Keys(want), publishOrder) {
		if got[k] != want[k] {
			fmt.Fprintf(&b, "%s: want %s, got %s\n", k, want[k], got[k])
		}
	}
	if b.Len() == 0 {
		return StatusPass, ""
	}
	return StatusFail, strings.TrimRight(b.String(), "\n")
}

// countStrings writes counts as numbers, for diffValues.
func countStrings(m map[string]int) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = strconv.Itoa(v)
	}
	return out
}

func describeResponse(w ResponseExpect) string {
	s := "responses to " + w.Event
	if w.Attempt != 0 {
		s += fmt.Sprintf(" (attempt %d)", w.Attempt)
	}
	s += ": " + w.Status
	if w.Within != nil {
		s += " within " + time.Duration(*w.Within).String()
	}
	return s
}

func formatCounts(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func formatCases(m map[string]CaseState) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%s/v%d", k, m[k].Status, m[k].Version))
	}
	return strings.Join(parts, " ")
}
