package conformance

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/knogin/argus-sandbox/scenarios"
)

// TestEmbeddedScenariosNameTheirCategory: every file of the default suite
// names its category itself (none falls in the default), and every
// category but the default has a scenario.
func TestEmbeddedScenariosNameTheirCategory(t *testing.T) {
	files, err := fs.Glob(scenarios.Default(), "*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	used := map[Category]bool{}
	for _, f := range files {
		raw, err := fs.ReadFile(scenarios.Default(), f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Category Category `yaml:"category"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		switch {
		case doc.Category == "":
			t.Errorf("%s names no category", f)
		case doc.Category == CategoryOther:
			t.Errorf("%s is in the default category %q: name what it proves", f, CategoryOther)
		case !slices.Contains(Categories, doc.Category):
			t.Errorf("%s: unknown category %q", f, doc.Category)
		}
		used[doc.Category] = true
	}
	for _, c := range Categories {
		if c != CategoryOther && !used[c] {
			t.Errorf("no scenario of the default suite is in category %q", c)
		}
	}
}

// TestScenarioCategory: a file without a category falls in "other"; one
// outside the enum is refused naming the field.
func TestScenarioCategory(t *testing.T) {
	const body = "title: t\ndetects: d\nwhy: w\nsteps: [{publish: {as: e1, topic: case.updated}}]\nexpect: {applied: {e1: 1}}\n"
	tests := []struct {
		name    string
		file    string
		want    Category
		wantErr string
	}{
		{name: "named", file: "name: s\ncategory: ordering\n" + body, want: CategoryOrdering},
		{name: "omitted", file: "name: s\n" + body, want: CategoryOther},
		{name: "unknown", file: "name: s\ncategory: speed\n" + body, wantErr: "/category"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseScenario("s.yaml", []byte(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Category != tt.want {
				t.Errorf("category = %q, want %q", s.Category, tt.want)
			}
		})
	}
}

// TestReportJSONCategories: the JSON report scores each category
// (passed / required, required being what ran), in the order of
// Categories, a result without a category counted as "other".
func TestReportJSONCategories(t *testing.T) {
	rep := sampleReport()
	rep.Scenarios = append(rep.Scenarios,
		Result{Name: "unknown-fields", Category: CategoryCompatibility, Status: StatusSkipped},
		Result{Name: "out-of-order", Category: CategoryOrdering, Status: StatusPass},
		Result{Name: "interleaved-cases", Category: CategoryOrdering, Status: StatusFail})
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Categories []CategoryScore `json:"categories"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	score := func(f float64) *float64 { return &f }
	want := []CategoryScore{
		{Category: CategoryAcknowledgement, Totals: Totals{Passed: 1}, Required: 1, Score: score(1)},
		{Category: CategoryDeduplication, Totals: Totals{Failed: 1, Unverified: 1}, Required: 2, Score: score(0)},
		{Category: CategoryOrdering, Totals: Totals{Passed: 1, Failed: 1}, Required: 2, Score: score(0.5)},
		{Category: CategoryCompatibility, Totals: Totals{Skipped: 1}},
		{Category: CategoryOther, Totals: Totals{Unverified: 1}, Required: 1, Score: score(0)},
	}
	if diff := cmp.Diff(want, got.Categories); diff != "" {
		t.Errorf("categories (-want +got):\n%s", diff)
	}
}
