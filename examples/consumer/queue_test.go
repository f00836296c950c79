package consumer

import "testing"

// TestQueueKeepsWhatWasNotApplied: a reopened queue holds the entries the
// store has not applied, once each, in order.
func TestQueueKeepsWhatWasNotApplied(t *testing.T) {
	dir := t.TempDir()
	q, err := OpenQueue(dir, func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"evt_1", "evt_2", "evt_1", "evt_3"} {
		if err := q.Push(id, []byte(`{"type":"case.updated"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if q.Len() != 3 {
		t.Errorf("len = %d, want 3 (a duplicate is queued once)", q.Len())
	}
	_ = q.Close()
	q, err = OpenQueue(dir, func(id string) bool { return id == "evt_1" })
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var got []string
	for {
		e, ok := q.Head()
		if !ok {
			break
		}
		got = append(got, e.EventID)
		q.Pop()
	}
	if len(got) != 2 || got[0] != "evt_2" || got[1] != "evt_3" {
		t.Errorf("after reopen = %v, want [evt_2 evt_3]", got)
	}
}
