package webhooks

import (
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

type problemBody struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"errors"`
}

type webhookBody struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Status         string   `json:"status"`
	Secret         string   `json:"secret"`
	DisabledReason *string  `json:"disabled_reason"`
}

func TestCreateWebhookAPI(t *testing.T) {
	s, _ := newTestService(t, nil)
	srv := apiServer(t, s)
	rc := newReceiver(t, nil)
	tests := []struct {
		name     string
		token    string
		body     any
		want     int
		wantCode string
	}{
		// The portal's third curl example, verbatim apart from the host.
		{name: "portal example", token: "app:acme:webhooks:write", want: 201,
			body: map[string]any{"url": "https://integrator.example/webhooks/argus", "events": []string{"case.updated"}}},
		{name: "admin token, local http receiver", token: "sandbox_admin_acme", want: 201,
			body: map[string]any{"url": rc.URL, "events": []string{"case.created"}, "description": "CI receiver"}},
		{name: "unknown topic is named", token: "sandbox_admin_acme", want: 400, wantCode: "unknown_event_type",
			body: map[string]any{"url": "https://integrator.example/h", "events": []string{"case.updated", "case.deleted"}}},
		{name: "public http refused", token: "sandbox_admin_acme", want: 400, wantCode: "invalid_url",
			body: map[string]any{"url": "http://integrator.example/h", "events": []string{"case.updated"}}},
		{name: "unknown field", token: "sandbox_admin_acme", want: 400, wantCode: "invalid_request",
			body: map[string]any{"url": "https://integrator.example/h", "events": []string{"case.updated"}, "secret": "x"}},
		{name: "read scope cannot create", token: "app:acme:webhooks:read", want: 403, wantCode: "insufficient_scope",
			body: map[string]any{"url": "https://integrator.example/h", "events": []string{"case.updated"}}},
		{name: "no token", want: 401, wantCode: "unauthorized",
			body: map[string]any{"url": "https://integrator.example/h", "events": []string{"case.updated"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw json.RawMessage
			status, hdr := call(t, srv, "POST", "/v1/webhooks", tt.token, tt.body, &raw)
			if status != tt.want {
				t.Fatalf("status = %d, want %d (%s)", status, tt.want, raw)
			}
			var out struct {
				webhookBody
				problemBody
			}
			if status == 201 {
				_ = json.Unmarshal(raw, &out.webhookBody)
			} else {
				_ = json.Unmarshal(raw, &out.problemBody)
			}
			if tt.wantCode != "" && out.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", out.Code, tt.wantCode)
			}
			if tt.wantCode == "unknown_event_type" && (!strings.Contains(out.Detail, `"case.deleted"`) || len(out.Errors) != 1 || out.Errors[0].Field != "/events/1") {
				t.Errorf("problem does not name the topic: %+v", out.problemBody)
			}
			if status == 201 {
				if !strings.HasPrefix(out.Secret, "whsec_") || out.Status != "enabled" || hdr.Get("Location") != "/v1/webhooks/"+out.ID {
					t.Errorf("created = %+v (Location %q)", out.webhookBody, hdr.Get("Location"))
				}
				if _, err := secretKey(out.Secret); err != nil {
					t.Errorf("secret %q: %v", out.Secret, err)
				}
				var got webhookBody
				call(t, srv, "GET", "/v1/webhooks/"+out.ID, "sandbox_admin_acme", nil, &got)
				if got.Secret != "" {
					t.Error("GET shows the secret; it is shown on creation only")
				}
			}
		})
	}
}

func TestWebhookLifecycleAPI(t *testing.T) {
	s, _ := newTestService(t, nil)
	srv := apiServer(t, s)
	rc := newReceiver(t, nil)
	const admin = "sandbox_admin_acme"
	var created webhookBody
	call(t, srv, "POST", "/v1/webhooks", admin, map[string]any{"url": rc.URL, "events": []string{"case.created"}}, &created)
	path := "/v1/webhooks/" + created.ID

	var updated webhookBody
	if st, _ := call(t, srv, "PATCH", path, admin, map[string]any{"events": []string{"case.created", "case.closed"}, "status": "disabled"}, &updated); st != 200 {
		t.Fatalf("PATCH = %d", st)
	}
	if updated.Status != "disabled" || updated.DisabledReason == nil || !reflect.DeepEqual(updated.Events, []string{"case.created", "case.closed"}) {
		t.Errorf("updated = %+v", updated)
	}
	var p problemBody
	if st, _ := call(t, srv, "POST", path+"/test", admin, nil, &p); st != 409 || p.Code != "webhook_disabled" {
		t.Errorf("test on a disabled webhook = %d %s, want 409 webhook_disabled", st, p.Code)
	}
	call(t, srv, "PATCH", path, admin, map[string]any{"status": "enabled"}, &updated)
	if updated.Status != "enabled" || updated.DisabledReason != nil {
		t.Errorf("re-enabled = %+v", updated)
	}

	var test struct {
		Success    bool   `json:"success"`
		DeliveryID string `json:"delivery_id"`
		Attempt    struct {
			ResponseStatus int    `json:"response_status"`
			Trigger        string `json:"trigger"`
		} `json:"attempt"`
	}
	if st, _ := call(t, srv, "POST", path+"/test", admin, nil, &test); st != 200 || !test.Success || test.Attempt.ResponseStatus != 200 || test.Attempt.Trigger != "test" {
		t.Errorf("test = %d %+v, want a successful test attempt", st, test)
	}
	if got := rc.requests(); len(got) != 1 || got[0].Event.Type != "webhook.test" {
		t.Errorf("receiver got %d requests, want the webhook.test event", len(got))
	}

	var rot struct {
		Secret  string  `json:"secret"`
		Expires *string `json:"previous_secret_expires_at"`
	}
	if st, _ := call(t, srv, "POST", path+"/rotate-secret", admin, map[string]any{"previous_secret_expires_in": 600}, &rot); st != 200 || rot.Expires == nil || !strings.HasPrefix(rot.Secret, "whsec_") {
		t.Errorf("rotate = %d %+v", st, rot)
	}

	var list struct {
		Data       []webhookBody `json:"data"`
		NextCursor *string       `json:"next_cursor"`
	}
	call(t, srv, "GET", "/v1/webhooks", "app:acme:webhooks:read", nil, &list)
	if len(list.Data) != 1 || list.Data[0].ID != created.ID || list.NextCursor != nil {
		t.Errorf("list = %+v", list)
	}
	if st, _ := call(t, srv, "DELETE", path, "app:acme:webhooks:read", nil, nil); st != 403 {
		t.Errorf("DELETE with read scope = %d, want 403", st)
	}
	if st, _ := call(t, srv, "DELETE", path, admin, nil, nil); st != 204 {
		t.Errorf("DELETE = %d, want 204", st)
	}
	if st, _ := call(t, srv, "GET", path, admin, nil, &p); st != 404 || p.Code != "not_found" {
		t.Errorf("GET after delete = %d %s, want 404", st, p.Code)
	}
}

func TestOtherTenantsWebhookIsNotFound(t *testing.T) {
	s, _ := newTestService(t, nil)
	srv := apiServer(t, s)
	var created webhookBody
	call(t, srv, "POST", "/v1/webhooks", "sandbox_admin_acme", map[string]any{"url": "https://integrator.example/h", "events": []string{"case.created"}}, &created)
	missing := "/v1/webhooks/wh_0000000000000000000000000a"
	for _, path := range []string{"", "/deliveries", "/deliveries/dlv_0000000000000000000000000a"} {
		var foreign, absent problemBody
		stF, _ := call(t, srv, "GET", "/v1/webhooks/"+created.ID+path, "sandbox_admin_globex", nil, &foreign)
		stA, _ := call(t, srv, "GET", missing+path, "sandbox_admin_globex", nil, &absent)
		if stF != 404 || stA != 404 || foreign.Code != absent.Code || foreign.Detail != absent.Detail {
			t.Errorf("GET %s: foreign %d %+v, missing %d %+v; want identical 404s", path, stF, foreign, stA, absent)
		}
	}
}

// TestEventTypesLocalizeOnlyDisplayText: the catalog's names and
// descriptions follow Accept-Language (with Content-Language), while
// topics, schemas and examples are byte for byte the English ones.
func TestEventTypesLocalizeOnlyDisplayText(t *testing.T) {
	s, _ := newTestService(t, nil)
	srv := apiServer(t, s)
	type catalog struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	get := func(acceptLanguage string) (catalog, http.Header) {
		var c catalog
		_, h := call(t, srv, "GET", "/v1/webhooks/event-types", "app:acme:webhooks:read", nil, &c, "Accept-Language", acceptLanguage)
		return c, h
	}
	// machine re-encodes an entry without its display text; the other
	// members keep their bytes.
	machine := func(e map[string]json.RawMessage) string {
		rest := maps.Clone(e)
		delete(rest, "name")
		delete(rest, "description")
		out, _ := json.Marshal(rest)
		return string(out)
	}
	en, h := get("en-US")
	if len(en.Data) != len(s.cfg.Fixtures.EventTypes) {
		t.Fatalf("catalog has %d types, want %d", len(en.Data), len(s.cfg.Fixtures.EventTypes))
	}
	if got := h.Get("Content-Language"); got != "en" {
		t.Errorf("en: Content-Language = %q", got)
	}
	for _, lang := range []string{"fr-FR,fr;q=0.9", "de", "ja"} {
		loc, h := get(lang)
		if got := h.Get("Content-Language"); got != lang[:2] {
			t.Errorf("%s: Content-Language = %q", lang, got)
		}
		if len(loc.Data) != len(en.Data) {
			t.Fatalf("%s: %d types, want %d", lang, len(loc.Data), len(en.Data))
		}
		for i, e := range loc.Data {
			if got, want := machine(e), machine(en.Data[i]); got != want {
				t.Errorf("%s: machine-readable members of %s differ:\n got %.200s\nwant %.200s", lang, e["type"], got, want)
			}
			for _, k := range []string{"name", "description"} {
				if len(e[k]) < 3 || string(e[k]) == string(en.Data[i][k]) {
					t.Errorf("%s: %s of %s is not translated: %s", lang, k, e["type"], e[k])
				}
			}
		}
	}
	found := false
	for _, et := range en.Data {
		found = found || (string(et["type"]) == `"case.updated"` && string(et["name"]) == `"Case updated"` && strings.Contains(string(et["example"]), `"case"`))
	}
	if !found {
		t.Error("case.updated with its name and example is missing")
	}
}

func TestDeliveryDiagnosticsAPI(t *testing.T) {
	s, clock := newTestService(t, nil)
	srv := apiServer(t, s)
	big := strings.Repeat("x", 3000)
	rc := newReceiver(t, func(n int, r *http.Request) (int, http.Header, string) {
		if strings.Contains(r.Header.Get("Content-Type"), "json") && n == 1 {
			return http.StatusBadGateway, nil, big
		}
		return http.StatusOK, nil, "thanks"
	})
	const admin = "sandbox_admin_acme"
	var created webhookBody
	call(t, srv, "POST", "/v1/webhooks", admin, map[string]any{"url": rc.URL, "events": []string{"case.created", "case.closed"}}, &created)
	path := "/v1/webhooks/" + created.ID + "/deliveries"
	for range 3 {
		_, _ = s.Trigger(t.Context(), "acme", "case.closed", nil)
	}
	_, _ = s.Trigger(t.Context(), "acme", "case.created", nil)
	waitIdle(t, s)

	type summary struct {
		ID          string `json:"id"`
		EventType   string `json:"event_type"`
		Status      string `json:"status"`
		LastAttempt *struct {
			ResponseStatus *int `json:"response_status"`
		} `json:"last_attempt"`
	}
	var list struct {
		Data       []summary `json:"data"`
		NextCursor *string   `json:"next_cursor"`
	}
	call(t, srv, "GET", path+"?status=pending", admin, nil, &list)
	if len(list.Data) != 1 || list.Data[0].LastAttempt == nil || *list.Data[0].LastAttempt.ResponseStatus != 502 {
		t.Fatalf("pending = %+v, want the one delivery that got 502", list.Data)
	}
	failedID := list.Data[0].ID
	call(t, srv, "GET", path+"?event_type=case.closed&limit=2", admin, nil, &list)
	if len(list.Data) != 2 || list.NextCursor == nil {
		t.Fatalf("page 1 = %+v, want 2 and a cursor", list)
	}
	firstPage := append([]summary(nil), list.Data...)
	call(t, srv, "GET", path+"?event_type=case.closed&limit=2&cursor="+*list.NextCursor, admin, nil, &list)
	if len(list.Data) != 1 || list.NextCursor != nil || list.Data[0].ID == firstPage[0].ID || list.Data[0].ID == firstPage[1].ID {
		t.Errorf("page 2 = %+v, want the third case.closed delivery only", list)
	}

	var d struct {
		Event struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"event"`
		Status        string  `json:"status"`
		NextAttemptAt *string `json:"next_attempt_at"`
		Attempts      []struct {
			ResponseStatus *int   `json:"response_status"`
			ResponseBody   string `json:"response_body"`
			DurationMS     int64  `json:"duration_ms"`
			Error          *struct {
				Class string `json:"class"`
			} `json:"error"`
		} `json:"attempts"`
	}
	call(t, srv, "GET", path+"/"+failedID, admin, nil, &d)
	if d.Status != "pending" || d.NextAttemptAt == nil || len(d.Attempts) != 1 || d.Event.ID == "" {
		t.Fatalf("delivery = %+v", d)
	}
	a := d.Attempts[0]
	if len(a.ResponseBody) != 1024 || a.Error == nil || a.Error.Class != "non_2xx" || *a.ResponseStatus != 502 {
		t.Errorf("attempt = status %v body %d bytes error %+v; want 502, the first KiB, non_2xx", a.ResponseStatus, len(a.ResponseBody), a.Error)
	}
	var p problemBody
	if st, _ := call(t, srv, "POST", path+"/"+failedID+"/redeliver", admin, nil, &p); st != 409 || p.Code != "delivery_pending" {
		t.Errorf("redeliver pending = %d %s, want 409 delivery_pending", st, p.Code)
	}
	clock.Advance(DefaultSchedule[0])
	waitIdle(t, s)
	if st, _ := call(t, srv, "POST", path+"/"+failedID+"/redeliver", admin, nil, &d); st != 202 || d.Status != "pending" {
		t.Errorf("redeliver = %d %s, want 202 pending", st, d.Status)
	}
	waitIdle(t, s)
	call(t, srv, "GET", path+"/"+failedID, admin, nil, &d)
	if d.Status != "succeeded" || len(d.Attempts) != 3 {
		t.Errorf("after redelivery: %s with %d attempts, want succeeded with 3", d.Status, len(d.Attempts))
	}
}
