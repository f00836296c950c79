package graphql

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestMutations checks each mutation's result, its input validation and the
// webhook event it emits (shapes of fixtures/events.yaml).
func TestMutations(t *testing.T) {
	tests := []struct {
		name, token, query string
		want               string
		wantEvents         string
	}{
		{
			name: "updateCase", token: "acme-writer",
			query:      `mutation { updateCase(id: "case_acme_1001", input: {status: IN_PROGRESS, tags: ["fraud", "finance", "urgent"]}) { status tags version updatedAt } }`,
			want:       `{"data":{"updateCase":{"status":"IN_PROGRESS","tags":["fraud","finance","urgent"],"version":2,"updatedAt":"2026-03-01T10:00:00Z"}}}`,
			wantEvents: `[{"Tenant":"acme","Topic":"case.updated","Data":{"case":{"id":"case_acme_1001","number":"ACME-1001","title":"Suspicious wire transfer to an offshore account","status":"IN_PROGRESS","priority":"HIGH","assignee":"usr_acme_alice","tags":["fraud","finance","urgent"],"created_at":"2026-01-05T09:00:00Z","updated_at":"2026-03-01T10:00:00Z","version":2},"changes":{"status":"OPEN","tags":["fraud","finance"]},"actor":{"type":"app","id":"app_writer","client_id":"cli_writer"}}}]`,
		},
		{
			name: "updateCase without change emits nothing", token: "acme-writer",
			query:      `mutation { updateCase(id: "case_acme_1001", input: {priority: HIGH}) { priority version } }`,
			want:       `{"data":{"updateCase":{"priority":"HIGH","version":1}}}`,
			wantEvents: `[]`,
		},
		{
			name: "updateCase refuses CLOSED", token: "acme-writer",
			query:      `mutation { updateCase(id: "case_acme_1001", input: {status: CLOSED}) { status } }`,
			want:       `{"data":{"updateCase":null},"errors":[{"message":"input.status cannot be CLOSED: close a case with closeCase","locations":[{"line":1,"column":12}],"path":["updateCase"],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
			wantEvents: `[]`,
		},
		{
			name: "updateCase refuses an empty input", token: "acme-writer",
			query:      `mutation { updateCase(id: "case_acme_1001", input: {}) { status } }`,
			want:       `{"data":{"updateCase":null},"errors":[{"message":"input must change at least one of title, status, priority or tags","locations":[{"line":1,"column":12}],"path":["updateCase"],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
			wantEvents: `[]`,
		},
		{
			name: "updateCase refuses a bad tag", token: "acme-writer",
			query:      `mutation { updateCase(id: "case_acme_1001", input: {tags: ["ok", "Not OK"]}) { status } }`,
			want:       `{"data":{"updateCase":null},"errors":[{"message":"input.tags[1] must be a unique tag of 1 to 50 characters of a-z, 0-9 and -","locations":[{"line":1,"column":12}],"path":["updateCase"],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
			wantEvents: `[]`,
		},
		{
			name: "assignCase by a user", token: "acme-all",
			query:      `mutation { assignCase(id: "case_acme_1003", assigneeId: "usr_acme_bob") { assignee { name } version } }`,
			want:       `{"data":{"assignCase":{"assignee":{"name":"Bob Chen"},"version":2}}}`,
			wantEvents: `[{"Tenant":"acme","Topic":"case.assigned","Data":{"case":{"id":"case_acme_1003","number":"ACME-1003","title":"Phishing email impersonating the finance director","status":"OPEN","priority":"CRITICAL","assignee":"usr_acme_bob","tags":["phishing"],"created_at":"2026-01-12T16:45:00Z","updated_at":"2026-03-01T10:00:00Z","version":2},"previous_assignee":null,"actor":{"type":"user","id":"usr_acme_alice","client_id":"cli_web"}}}]`,
		},
		{
			name: "closeCase", token: "acme-writer",
			query:      `mutation { closeCase(id: "case_acme_1002", resolution: "Device wiped and replaced.") { status resolution version } }`,
			want:       `{"data":{"closeCase":{"status":"CLOSED","resolution":"Device wiped and replaced.","version":2}}}`,
			wantEvents: `[{"Tenant":"acme","Topic":"case.closed","Data":{"case":{"id":"case_acme_1002","number":"ACME-1002","title":"Lost laptop reported by the sales team","status":"CLOSED","priority":"MEDIUM","assignee":"usr_acme_carol","tags":["device","security"],"created_at":"2026-01-10T11:00:00Z","updated_at":"2026-03-01T10:00:00Z","version":2},"resolution":"Device wiped and replaced.","actor":{"type":"app","id":"app_writer","client_id":"cli_writer"}}}]`,
		},
		{
			name: "closeCase of a closed case", token: "acme-writer",
			query:      `mutation { closeCase(id: "case_acme_1004", resolution: "Again.") { status } }`,
			want:       `{"data":{"closeCase":null},"errors":[{"message":"the case is already closed","locations":[{"line":1,"column":12}],"path":["closeCase"],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
			wantEvents: `[]`,
		},
		{
			name: "addCaseNote by a user", token: "acme-all",
			query:      `mutation { addCaseNote(caseId: "case_acme_1003", body: "Header analysis attached.") { body authorId createdAt } }`,
			want:       `{"data":{"addCaseNote":{"body":"Header analysis attached.","authorId":"usr_acme_alice","createdAt":"2026-03-01T10:00:00Z"}}}`,
			wantEvents: `[{"Tenant":"acme","Topic":"note.created","Data":{"case_id":"case_acme_1003","note":{"id":"NOTE_ID","author":"usr_acme_alice","body":"Header analysis attached.","created_at":"2026-03-01T10:00:00Z"},"actor":{"type":"user","id":"usr_acme_alice","client_id":"cli_web"}}}]`,
		},
		{
			name: "addCaseNote refuses a blank body", token: "acme-all",
			query:      `mutation { addCaseNote(caseId: "case_acme_1003", body: "   ") { id } }`,
			want:       `{"data":{"addCaseNote":null},"errors":[{"message":"body must have 1 to 10000 characters","locations":[{"line":1,"column":12}],"path":["addCaseNote"],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
			wantEvents: `[]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Limits{})
			diff(t, js(t, tt.want), h.gql(tt.token, tt.query, nil))
			events := h.events.all()
			checkEventShapes(t, events)
			for _, e := range events { // note ids are random: pin the one we got
				if n, ok := e.Data["note"].(map[string]any); ok {
					n["id"] = "NOTE_ID"
				}
			}
			raw, err := json.Marshal(events)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			_ = json.Unmarshal(raw, &got)
			if err := json.Unmarshal([]byte(tt.wantEvents), &want); err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = []any{}
			}
			if got == nil {
				got = []any{}
			}
			diff(t, want, got)
		})
	}
}

// TestReset checks that Reset restores the fixture cases.
func TestReset(t *testing.T) {
	h := newHarness(t, Limits{})
	h.gql("acme-writer", `mutation { closeCase(id: "case_acme_1001", resolution: "Done.") { id } addCaseNote(caseId: "case_acme_1001", body: "x") { id } }`, nil)
	h.svc.Reset()
	diff(t, js(t, `{"data":{"case":{"status":"OPEN","version":1,"resolution":null,"notes":{"totalCount":2}}}}`),
		h.gql("acme-reader", `{ case(id: "case_acme_1001") { status version resolution notes { totalCount } } }`, nil))
}

// TestPanicAfterCommitKeepsMutationData checks that a resolver panicking
// while a committed mutation's result is completed becomes a field error at
// its path: the client gets the mutation's data with the error, not a 500
// it would retry, and the event of the change is sent once.
func TestPanicAfterCommitKeepsMutationData(t *testing.T) {
	h := newHarness(t, Limits{})
	for _, f := range []struct{ typ, field string }{{"Case", "resolution"}, {"User", "email"}} {
		def := h.svc.public.Types[f.typ].Fields.ForName(f.field)
		plan := h.svc.fields[def]
		plan.resolve = func(*execution, any, map[string]any) (any, error) { panic("resolver bug") }
		h.svc.fields[def] = plan
	}
	r := h.post("acme-all", map[string]any{"query": `mutation { updateCase(id: "case_acme_1001", input: {title: "Renamed"}) { id title resolution assignee { name email } version } }`})
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %v", r.Status, r.Body)
	}
	const internal = "internal error; quote the request id when reporting it"
	diff(t, js(t, `{"data":{"updateCase":{"id":"case_acme_1001","title":"Renamed","resolution":null,"assignee":null,"version":2}},
		"errors":[
			{"message":"`+internal+`","locations":[{"line":1,"column":83}],"path":["updateCase","resolution"],"extensions":{"code":"INTERNAL_SERVER_ERROR"}},
			{"message":"`+internal+`","locations":[{"line":1,"column":110}],"path":["updateCase","assignee","email"],"extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`), r.Body)
	if got := len(h.events.all()); got != 1 {
		t.Errorf("%d events, want the one case.updated", got)
	}
}

// fillNotes appends notes to a case directly in the store until it has n.
func fillNotes(t *testing.T, h *harness, caseID string, n int) {
	t.Helper()
	if _, err := h.svc.store.Update(context.Background(), "acme", []string{caseID}, func(cs []*Case) error {
		for i := len(cs[0].Notes); i < n; i++ {
			cs[0].Notes = append(cs[0].Notes, Note{ID: fmt.Sprintf("note_fill_%d", i), Body: "filler", CreatedAt: testNow})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestNotesLimit sends 200 addCaseNote calls at once to a case 50 notes
// short of the limit: exactly 50 are stored (and emit note.created), the
// others are refused with LIMIT_REACHED, as the limit is checked inside
// the store's update.
func TestNotesLimit(t *testing.T) {
	h := newHarness(t, Limits{})
	const short, calls = 50, 200
	fillNotes(t, h, "case_acme_1003", maxNotesPerCase-short)
	limitError := fmt.Sprintf(`{"data":{"addCaseNote":null},"errors":[{"message":"the case has %d notes, the most a case may have","locations":[{"line":1,"column":12}],"path":["addCaseNote"],"extensions":{"code":"LIMIT_REACHED","limit":"notes_per_case","max":%d}}]}`, maxNotesPerCase, maxNotesPerCase)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		added   int
		refused int
	)
	for range calls {
		wg.Go(func() {
			got := h.gql("acme-writer", `mutation { addCaseNote(caseId: "case_acme_1003", body: "One more.") { id } }`, nil)
			mu.Lock()
			defer mu.Unlock()
			if _, hasErrors := got["errors"]; !hasErrors {
				added++
				return
			}
			refused++
			diff(t, js(t, limitError), got)
		})
	}
	wg.Wait()
	if added != short || refused != calls-short {
		t.Errorf("%d added and %d refused, want %d and %d", added, refused, short, calls-short)
	}
	diff(t, js(t, fmt.Sprintf(`{"data":{"case":{"notes":{"totalCount":%d}}}}`, maxNotesPerCase)),
		h.gql("acme-reader", `{ case(id: "case_acme_1003") { notes { totalCount } } }`, nil))
	if got := len(h.events.all()); got != short {
		t.Errorf("%d note.created events, want %d", got, short)
	}
}

// TestMergeRespectsNotesLimit checks that a merge whose notes would exceed
// the target's limit is refused whole.
func TestMergeRespectsNotesLimit(t *testing.T) {
	h := newHarness(t, Limits{})
	fillNotes(t, h, "case_acme_1001", maxNotesPerCase)
	r := h.post("acme-partner", map[string]any{
		"extensions": map[string]any{"operationId": "MergeCases"},
		"variables":  map[string]any{"target": "case_acme_1001", "sources": []string{"case_acme_1002"}},
	})
	diff(t, js(t, fmt.Sprintf(`{"data":{"mergeCases":null},"errors":[{"message":"the merged case would have %d notes; a case may have at most %d","locations":[{"line":2,"column":3}],"path":["mergeCases"],"extensions":{"code":"LIMIT_REACHED","limit":"notes_per_case","max":%d}}]}`, maxNotesPerCase+1, maxNotesPerCase, maxNotesPerCase)), r.Body)
	diff(t, js(t, `{"data":{"case":{"status":"IN_PROGRESS","notes":{"totalCount":1}}}}`),
		h.gql("acme-reader", `{ case(id: "case_acme_1002") { status notes { totalCount } } }`, nil))
	if got := len(h.events.all()); got != 0 {
		t.Errorf("a refused merge emitted %d events", got)
	}
}
