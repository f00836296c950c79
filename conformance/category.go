package conformance

import "slices"

// Category groups scenarios by the property of a consumer they prove, so
// a report scores each property on its own (Report.Categories).
type Category string

// Categories of scenarios, the enum of specs/scenario.schema.json.
const (
	// CategoryAcknowledgement: answering in time, effects that happen
	// once, retries after a failure, crashes, recovery.
	CategoryAcknowledgement Category = "acknowledgement"
	// CategoryDeduplication: the same event applied once however many
	// times, however concurrently, it arrives.
	CategoryDeduplication Category = "deduplication"
	// CategoryOrdering: events of a case applied to its newest state
	// whatever order they arrive in.
	CategoryOrdering Category = "ordering"
	// CategorySignatures: the webhook-signature header verified on the
	// raw body, through secret rotations.
	CategorySignatures Category = "signatures"
	// CategoryTimestamps: the webhook-timestamp bounded in both
	// directions, within a tolerance.
	CategoryTimestamps Category = "timestamps"
	// CategoryCompatibility: topics, fields, values and payloads the
	// consumer was not written for.
	CategoryCompatibility Category = "compatibility"
	// CategoryLoad: bursts, slow answers and the retries that pile up.
	CategoryLoad Category = "load"
	// CategoryOther is the category of a scenario file that names none.
	CategoryOther Category = "other"
)

// Categories lists every category in the order reports show them.
var Categories = []Category{
	CategoryAcknowledgement, CategoryDeduplication, CategoryOrdering, CategorySignatures,
	CategoryTimestamps, CategoryCompatibility, CategoryLoad, CategoryOther,
}

// CategoryScore is the tally of one category's scenarios.
type CategoryScore struct {
	Category Category `json:"category"`
	Totals
	// Required is the number of scenarios that ran: passed, failed and
	// unverified (skipped ones are not required).
	Required int `json:"required"`
	// Score is Passed over Required, absent when none ran.
	Score *float64 `json:"score,omitempty"`
}

// Categories tallies the scenarios per category, in the order of
// Categories, leaving out categories without a scenario. A result without
// a category counts as CategoryOther.
func (r *Report) Categories() []CategoryScore {
	by := map[Category]*Report{}
	for _, s := range r.Scenarios {
		c := s.Category
		if c == "" {
			c = CategoryOther
		}
		if by[c] == nil {
			by[c] = &Report{}
		}
		by[c].Scenarios = append(by[c].Scenarios, s)
	}
	var out []CategoryScore
	for _, c := range orderedCategories(by) {
		sub := by[c]
		cs := CategoryScore{Category: c, Totals: sub.Totals()}
		cs.Required = cs.Passed + cs.Failed + cs.Unverified
		if score, ok := sub.Score(); ok {
			cs.Score = &score
		}
		out = append(out, cs)
	}
	return out
}

// orderedCategories lists the keys of by: the known categories in their
// order, then any other (a report read back from a newer runner) by name.
func orderedCategories(by map[Category]*Report) []Category {
	var out, extra []Category
	for _, c := range Categories {
		if by[c] != nil {
			out = append(out, c)
		}
	}
	for c := range by {
		if !slices.Contains(Categories, c) {
			extra = append(extra, c)
		}
	}
	slices.Sort(extra)
	return append(out, extra...)
}
