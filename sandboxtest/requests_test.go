package sandboxtest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/knogin/argus-sandbox/sandboxtest"
)

// fakeT records failures instead of failing the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }

func TestRequestsVerifyCountsJournaledCalls(t *testing.T) {
	ctx := context.Background()
	sb, err := sandboxtest.RunInProcess(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Terminate(context.Background()) })
	if err := sb.ClearRequests(ctx, ""); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		req, _ := http.NewRequest("GET", sb.BaseURL()+"/v1/platform/apps", nil)
		req.Header.Set("Authorization", "Bearer "+sb.AdminToken("acme"))
		resp, err := sb.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	f := sandboxtest.RequestFilter{Operation: "listApps", Tenant: "acme", Status: "2xx"}
	sb.AssertRequests(t, f, 3)
	if n := sb.CountRequests(t, sandboxtest.RequestFilter{Operation: "listApps", Status: "4xx"}); n != 0 {
		t.Errorf("refused listApps: %d", n)
	}
	ft := &fakeT{TB: t}
	sb.AssertRequests(ft, f, 2)
	if !ft.failed {
		t.Error("AssertRequests passed with the wrong count")
	}
}
