package consumer

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStoreSurvivesReopenAndKeepsNewest(t *testing.T) {
	tests := []struct {
		name      string
		newerOnly bool
		want      CaseState
	}{
		{name: "newer only", newerOnly: true, want: CaseState{Status: "CLOSED", Version: 4}},
		{name: "last write wins", newerOnly: false, want: CaseState{Status: "OPEN", Version: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range []struct {
				id string
				c  CaseState
			}{{"evt_4", CaseState{"CLOSED", 4}}, {"evt_2", CaseState{"OPEN", 2}}} {
				if err := s.Apply(e.id, e.id, "case.updated", "case_1", &e.c, tt.newerOnly); err != nil {
					t.Fatal(err)
				}
			}
			_ = s.Close()
			// A torn last line (a crash mid-write) is skipped on replay.
			f, _ := os.OpenFile(filepath.Join(dir, "applied.log"), os.O_APPEND|os.O_WRONLY, 0)
			_, _ = f.WriteString(`{"event_id":"evt_to`)
			_ = f.Close()
			s, err = OpenStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			applied, cases := s.Snapshot()
			if applied["evt_4"] != 1 || applied["evt_2"] != 1 || len(applied) != 2 {
				t.Errorf("applied after reopen = %v", applied)
			}
			if cases["case_1"] != tt.want {
				t.Errorf("case after reopen = %+v, want %+v", cases["case_1"], tt.want)
			}
		})
	}
}
