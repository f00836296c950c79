package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// overviewData is the overview page: the tenants, the clock, the rules.
type overviewData struct {
	Clock  client.ClockState
	Faults int
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	api := c.api(r, s.bearer, "").Sandbox()
	clock, err := api.Clock(r.Context())
	if err != nil {
		c.fail(w, r, s, apiStatus(err), "The clock could not be read: "+err.Error())
		return
	}
	rules, err := api.Faults(r.Context())
	if err != nil {
		c.fail(w, r, s, apiStatus(err), "The fault rules could not be read: "+err.Error())
		return
	}
	c.render(w, r, http.StatusOK, "overview", view{Title: "Overview", Nav: "overview", Data: overviewData{Clock: clock, Faults: len(rules)}})
}

// appsPage lists the tenant's apps with the approval state of every item.
func (c *Console) appsPage(w http.ResponseWriter, r *http.Request, s *session) {
	t, ok := c.tenantOr404(w, r, s)
	if !ok {
		return
	}
	page, err := c.api(r, "", t.AdminToken).Platform().ListApps(r.Context(), client.ListOptions{Limit: 100})
	if err != nil {
		c.fail(w, r, s, apiStatus(err), "The apps could not be read: "+err.Error())
		return
	}
	c.render(w, r, http.StatusOK, "apps", view{Title: "Apps · " + t.ID, Nav: "apps", Tenant: t.ID, Data: page})
}

// webhooksData is the webhooks page: the subscriptions and the topics a
// new one may take.
type webhooksData struct {
	Webhooks []client.Webhook
	Topics   []client.EventType
}

func (c *Console) webhooksPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderWebhooks(w, r, s, http.StatusOK, "")
}

func (c *Console) renderWebhooks(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	t, ok := c.tenantOr404(w, r, s)
	if !ok {
		return
	}
	api := c.api(r, "", t.AdminToken).Webhooks()
	hooks, err := api.List(r.Context(), client.ListOptions{Limit: 100})
	if err != nil {
		c.fail(w, r, s, apiStatus(err), "The webhooks could not be read: "+err.Error())
		return
	}
	topics, err := api.EventTypes(r.Context())
	if err != nil {
		c.fail(w, r, s, apiStatus(err), "The event catalog could not be read: "+err.Error())
		return
	}
	c.render(w, r, status, "webhooks", view{Title: "Webhooks · " + t.ID, Nav: "webhooks", Tenant: t.ID, Error: msg,
		Data: webhooksData{Webhooks: hooks.Data, Topics: topics}})
}

// webhookCreate subscribes an endpoint (POST /v1/webhooks); its secret is
// shown once, on the page that answers.
func (c *Console) webhookCreate(w http.ResponseWriter, r *http.Request, s *session) {
	t, ok := c.tenantOr404(w, r, s)
	if !ok {
		return
	}
	created, err := c.api(r, "", t.AdminToken).Webhooks().Create(r.Context(), client.WebhookCreate{
		URL: r.PostForm.Get("url"), Events: r.PostForm["events"], Description: r.PostForm.Get("description")})
	if err != nil {
		c.renderWebhooks(w, r, s, apiStatus(err), "The webhook was refused: "+err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"t/"+url.PathEscape(t.ID)+"/webhooks/"+url.PathEscape(created.ID)+"?done=subscribed", http.StatusSeeOther)
}

// timelinePageSize is how many deliveries a timeline page shows.
const timelinePageSize = 20

// timelineData is a webhook's delivery timeline: its latest deliveries,
// newest first, each with every attempt.
type timelineData struct {
	Webhook    client.Webhook
	Deliveries []client.Delivery
	// Next continues with older deliveries ("" on the last page).
	Next string
	// RecoverSince is the recover form's default window start: a day
	// before the sandbox clock's now, as a datetime-local value (UTC).
	RecoverSince string
}

// datetimeLocal is the format of an <input type="datetime-local">; the
// console reads and writes it as UTC.
const datetimeLocal = "2006-01-02T15:04"

func (c *Console) timelinePage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderTimeline(w, r, s, http.StatusOK, "")
}

func (c *Console) renderTimeline(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	t, ok := c.tenantOr404(w, r, s)
	if !ok {
		return
	}
	api := c.api(r, "", t.AdminToken).Webhooks()
	ctx := r.Context()
	hook, err := api.Get(ctx, r.PathValue("webhook"))
	if err != nil {
		c.fail(w, r, s, apiStatus(err), "The webhook could not be read: "+err.Error())
		return
	}
	page, err := api.Deliveries(ctx, hook.ID, client.DeliveryFilter{
		ListOptions: client.ListOptions{Limit: timelinePageSize, Cursor: r.URL.Query().Get("cursor")}})
	if err != nil {
		c.fail(w, r, s, apiStatus(err), "The deliveries could not be read: "+err.Error())
		return
	}
	data := timelineData{Webhook: hook, Deliveries: make([]client.Delivery, 0, len(page.Data))}
	for _, d := range page.Data {
		full, err := api.Delivery(ctx, hook.ID, d.ID)
		if err != nil {
			c.fail(w, r, s, apiStatus(err), "A delivery could not be read: "+err.Error())
			return
		}
		// Newest attempt first, as the deliveries are.
		slices.Reverse(full.Attempts)
		data.Deliveries = append(data.Deliveries, full)
	}
	if page.NextCursor != nil {
		data.Next = *page.NextCursor
	}
	clock, err := c.api(r, s.bearer, "").Sandbox().Clock(ctx)
	if err != nil {
		c.fail(w, r, s, apiStatus(err), "The clock could not be read: "+err.Error())
		return
	}
	data.RecoverSince = clock.Now.Add(-24 * time.Hour).UTC().Format(datetimeLocal)
	c.render(w, r, status, "timeline", view{Title: "Deliveries · " + hook.URL, Nav: "webhooks", Tenant: t.ID, Error: msg, Data: data})
}

// redeliver queues one more attempt of a delivery.
func (c *Console) redeliver(w http.ResponseWriter, r *http.Request, s *session) {
	t, ok := c.tenantOr404(w, r, s)
	if !ok {
		return
	}
	hook, id := r.PathValue("webhook"), r.PathValue("delivery")
	if _, err := c.api(r, "", t.AdminToken).Webhooks().Redeliver(r.Context(), hook, id); err != nil {
		c.fail(w, r, s, apiStatus(err), "The redelivery was refused: "+err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"t/"+url.PathEscape(t.ID)+"/webhooks/"+url.PathEscape(hook)+"?done=redelivered#"+url.PathEscape(id), http.StatusSeeOther)
}

// recover sends again every failed delivery of the webhook in the form's
// window (POST /v1/webhooks/{id}/recover); the flash tells how many.
func (c *Console) recover(w http.ResponseWriter, r *http.Request, s *session) {
	t, ok := c.tenantOr404(w, r, s)
	if !ok {
		return
	}
	since, err := time.Parse(datetimeLocal, strings.TrimSpace(r.PostForm.Get("since")))
	if err != nil {
		c.renderTimeline(w, r, s, http.StatusBadRequest, "Recover since a date and time (UTC), such as 2026-03-02T09:00.")
		return
	}
	in := client.RecoverRequest{Since: since}
	if v := strings.TrimSpace(r.PostForm.Get("until")); v != "" {
		until, err := time.Parse(datetimeLocal, v)
		if err != nil {
			c.renderTimeline(w, r, s, http.StatusBadRequest, "Recover until a date and time (UTC), such as 2026-03-03T09:00, or leave it empty for now.")
			return
		}
		in.Until = &until
	}
	hook := r.PathValue("webhook")
	out, err := c.api(r, "", t.AdminToken).Webhooks().Recover(r.Context(), hook, in)
	if err != nil {
		msg := "The recovery was refused: " + err.Error()
		if e, ok := errors.AsType[*client.Error](err); ok && e.Code == "webhook_disabled" {
			msg = "This webhook is disabled: enable it first (PATCH {\"status\":\"enabled\"}), then recover. (" + err.Error() + ")"
		}
		c.renderTimeline(w, r, s, apiStatus(err), msg)
		return
	}
	q := url.Values{"done": {"recovered"}, "n": {strconv.Itoa(out.Deliveries)}}
	http.Redirect(w, r, Prefix+"t/"+url.PathEscape(t.ID)+"/webhooks/"+url.PathEscape(hook)+"?"+q.Encode(), http.StatusSeeOther)
}

// tenantOr404 resolves the path's tenant or answers 404.
func (c *Console) tenantOr404(w http.ResponseWriter, r *http.Request, s *session) (Tenant, bool) {
	t, err := c.tenant(r, s)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "There is no tenant "+r.PathValue("tenant")+" here.")
		return Tenant{}, false
	}
	if t.ReadOnly() {
		c.fail(w, r, s, http.StatusForbidden, "Tenant "+t.ID+" was created at run time and the console holds no admin token for it: "+
			"its requests are in the request journal and the live stream; its partner manages its apps and webhooks with its admin token.")
		return Tenant{}, false
	}
	return t, true
}

// notFound answers a console path that names no page.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request, s *session) {
	c.fail(w, r, s, http.StatusNotFound, "There is no console page at this address.")
}
