package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// faultTemplate is a ready-made fault rule the faults page offers.
type faultTemplate struct {
	Key, Label string
	Rule       client.FaultRule
}

// faultTemplates are the rules the console adds in one click; anything
// else goes through POST /_sandbox/faults or a --faults file.
var faultTemplates = []faultTemplate{
	{"token-outage", "Token endpoint answers 503 three times", client.FaultRule{
		Match: client.FaultMatch{Operation: "token"}, When: client.FaultWhen{First: 3},
		Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 503, RetryAfter: client.Duration(20 * time.Second)}}}},
	{"api-rate-limit", "Platform and webhooks APIs answer 429 five times", client.FaultRule{
		Match: client.FaultMatch{Path: "/v1/**"}, When: client.FaultWhen{First: 5},
		Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 429, RetryAfter: client.Duration(10 * time.Second), Limit: 100}}}},
	{"api-latency", "APIs answer 2 s late", client.FaultRule{
		Match:  client.FaultMatch{Path: "/v1/**"},
		Action: client.FaultAction{Latency: &client.FaultLatency{Fixed: client.Duration(2 * time.Second)}}}},
	{"webhook-duplicate", "Every delivery sent twice", client.FaultRule{
		Action: client.FaultAction{Duplicate: &client.FaultDuplicate{Copies: 2}}}},
	{"webhook-delay", "Deliveries delayed 5 minutes (sandbox clock)", client.FaultRule{
		Action: client.FaultAction{Delay: &client.FaultDelay{For: client.Duration(5 * time.Minute)}}}},
	{"webhook-bad-signature", "Next delivery signed wrongly", client.FaultRule{
		When: client.FaultWhen{First: 1}, Action: client.FaultAction{BadSignature: &client.FaultNoOptions{}}}},
	{"webhook-response-lost", "Next delivery's response lost", client.FaultRule{
		When: client.FaultWhen{First: 1}, Action: client.FaultAction{ResponseLost: &client.FaultNoOptions{}}}},
}

// faultsData is the faults page.
type faultsData struct {
	Rules     []client.FaultRuleStatus
	Templates []faultTemplate
}

// Kind names a rule's action.
func (faultsData) Kind(r client.FaultRuleStatus) string { n, _ := r.Action.Kind(); return n }

// Match summarises what a rule matches.
func (faultsData) Match(r client.FaultRuleStatus) string {
	m := r.Match
	var parts []string
	for _, f := range []struct{ k, v string }{{"operation", m.Operation}, {"path", m.Path}, {"method", m.Method},
		{"tenant", m.Tenant}, {"client", m.ClientID}, {"endpoint", m.Endpoint}, {"topic", m.Topic}} {
		if f.v != "" {
			parts = append(parts, f.k+"="+f.v)
		}
	}
	if len(parts) == 0 {
		return "everything"
	}
	return strings.Join(parts, ", ")
}

func (c *Console) faultsPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderFaults(w, r, s, http.StatusOK, "")
}

func (c *Console) renderFaults(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	rules, err := c.api(r, s.bearer, "").Sandbox().Faults(r.Context())
	if err != nil {
		c.fail(w, r, s, apiStatus(err), "The fault rules could not be read: "+err.Error())
		return
	}
	c.render(w, r, status, "faults", view{Title: "Fault rules", Nav: "faults", Error: msg,
		Data: faultsData{Rules: rules, Templates: faultTemplates}})
}

// faultAdd adds a rule from a template, named and scoped to a tenant as
// the form says.
func (c *Console) faultAdd(w http.ResponseWriter, r *http.Request, s *session) {
	key := r.PostForm.Get("template")
	var rule client.FaultRule
	found := false
	for _, t := range faultTemplates {
		if t.Key == key {
			rule, found = t.Rule, true
			rule.Name, rule.Description = t.Key, t.Label
		}
	}
	if !found {
		c.renderFaults(w, r, s, http.StatusBadRequest, "Choose one of the templates.")
		return
	}
	if n := strings.TrimSpace(r.PostForm.Get("name")); n != "" {
		rule.Name = n
	}
	if tenant := r.PostForm.Get("tenant"); tenant != "" {
		if !s.who.allows(tenant) {
			c.renderFaults(w, r, s, http.StatusForbidden, "That tenant is not yours.")
			return
		}
		rule.Match.Tenant = tenant
	}
	if _, err := c.api(r, s.bearer, "").Sandbox().AddFault(r.Context(), rule); err != nil {
		c.renderFaults(w, r, s, apiStatus(err), "The rule was refused: "+err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"faults?done=fault-added", http.StatusSeeOther)
}

// faultDelete removes one rule.
func (c *Console) faultDelete(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.api(r, s.bearer, "").Sandbox().DeleteFault(r.Context(), r.PathValue("name")); err != nil {
		c.renderFaults(w, r, s, apiStatus(err), "The rule could not be removed: "+err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"faults?done=fault-removed", http.StatusSeeOther)
}
