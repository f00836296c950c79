package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// NeverApplied is the name of the check that reports an event the
// consumer acknowledged with 2xx whose effect never happened: Argus,
// having had its 2xx, never delivers it again, so the effect is lost for
// good.
const NeverApplied = "answered 2xx but never applied"

// acknowledged describes the 2xx answers to the events of ids, one line
// per event ("" when none was acknowledged).
func (r *runner) acknowledged(ctx context.Context, sr *scenarioRun, ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	ds, err := r.deliveries(ctx, sr)
	if err != nil {
		return ""
	}
	var lines []string
	for _, d := range ds {
		label := sr.labelOf[d.Event.ID]
		if !slices.Contains(ids, d.Event.ID) {
			continue
		}
		for _, a := range d.Attempts {
			if a.ResponseStatus != nil && *a.ResponseStatus/100 == 2 {
				what := fmt.Sprintf("attempt %d", a.Number)
				if a.Duplicate {
					what += " (duplicate copy)"
				}
				lines = append(lines, fmt.Sprintf("%s %s: %s answered %d", label, d.Event.ID, what, *a.ResponseStatus))
				break
			}
		}
	}
	return strings.Join(lines, "\n")
}

// labelsOfCase lists the labels of the events published for a case.
func (s *Scenario) labelsOfCase(ref string) []string {
	var out []string
	for _, st := range s.Steps {
		if p := st.Publish; p != nil && p.Case == ref && !slices.Contains(out, p.As) {
			out = append(out, p.As)
		}
	}
	return out
}
