package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// eventsData is the trigger form: the catalog, the chosen topic and the
// payload in the editor (the topic's example until edited).
type eventsData struct {
	Topics   []client.EventType
	Topic    string
	Payload  string
	Count    int
	EventIDs string
}

// examples are the catalog topics with their example payloads as JSON,
// for the editor (and the script that swaps the example on a new topic).
func (d eventsData) Example(t client.EventType) string { return indentJSON(t.Example) }

func indentJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "{}"
	}
	return string(b)
}

func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderEvents(w, r, s, http.StatusOK, "", r.URL.Query().Get("topic"), "", 1)
}

func (c *Console) renderEvents(w http.ResponseWriter, r *http.Request, s *session, status int, msg, topic, payload string, count int) {
	t, ok := c.tenantOr404(w, r, s)
	if !ok {
		return
	}
	topics, err := c.api(r, "", t.AdminToken).Webhooks().EventTypes(r.Context())
	if err != nil {
		c.fail(w, r, s, apiStatus(err), "The event catalog could not be read: "+err.Error())
		return
	}
	d := eventsData{Topics: topics, Topic: topic, Payload: payload, Count: count, EventIDs: r.URL.Query().Get("events")}
	if payload == "" {
		for _, et := range topics {
			if d.Topic == "" || et.Type == d.Topic {
				d.Topic, d.Payload = et.Type, indentJSON(et.Example)
				break
			}
		}
	}
	c.render(w, r, status, "events", view{Title: "Events · " + t.ID, Nav: "events", Tenant: t.ID, Error: msg, Data: d})
}

// maxTriggerCount is the most events one trigger publishes (the control
// plane's own bound).
const maxTriggerCount = 1000

// eventTrigger publishes the payload through POST /_sandbox/events.
func (c *Console) eventTrigger(w http.ResponseWriter, r *http.Request, s *session) {
	t, ok := c.tenantOr404(w, r, s)
	if !ok {
		return
	}
	topic, payload := r.PostForm.Get("topic"), r.PostForm.Get("data")
	count := 1
	if v := strings.TrimSpace(r.PostForm.Get("count")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTriggerCount {
			c.renderEvents(w, r, s, http.StatusBadRequest, "Count must be a whole number from 1 to 1000.", topic, payload, 1)
			return
		}
		count = n
	}
	var data map[string]any
	if strings.TrimSpace(payload) != "" {
		if err := json.Unmarshal([]byte(payload), &data); err != nil {
			c.renderEvents(w, r, s, http.StatusBadRequest, "The payload is not a JSON object: "+err.Error(), topic, payload, count)
			return
		}
	}
	out, err := c.api(r, s.bearer, "").Sandbox().TriggerEvent(r.Context(), client.EventTrigger{Tenant: t.ID, Topic: topic, Data: data, Count: count,
		Synthetic: r.PostForm.Get("synthetic") == "on"})
	if err != nil {
		c.renderEvents(w, r, s, apiStatus(err), "The event was refused: "+err.Error(), topic, payload, count)
		return
	}
	q := url.Values{"done": {"triggered"}, "topic": {topic}, "events": {out.EventID}}
	http.Redirect(w, r, Prefix+"t/"+url.PathEscape(t.ID)+"/events?"+q.Encode(), http.StatusSeeOther)
}

func (c *Console) clockPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderClock(w, r, s, http.StatusOK, "")
}

func (c *Console) renderClock(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	clock, err := c.api(r, s.bearer, "").Sandbox().Clock(r.Context())
	if err != nil {
		c.fail(w, r, s, apiStatus(err), "The clock could not be read: "+err.Error())
		return
	}
	c.render(w, r, status, "clock", view{Title: "Clock", Nav: "clock", Error: msg, Data: clock})
}

// clockUpdate advances, freezes, restarts or resets the clock (POST
// /_sandbox/clock); an advance runs every retry that becomes due.
func (c *Console) clockUpdate(w http.ResponseWriter, r *http.Request, s *session) {
	var u client.ClockUpdate
	var done string
	switch r.PostForm.Get("action") {
	case "advance":
		d, err := time.ParseDuration(strings.TrimSpace(r.PostForm.Get("advance")))
		if err != nil || d < 0 {
			c.renderClock(w, r, s, http.StatusBadRequest, "Advance by a positive Go duration, such as 90s, 15m or 1h30m.")
			return
		}
		adv := client.Duration(d)
		u.Advance, done = &adv, "advanced"
	case "freeze", "unfreeze":
		f := r.PostForm.Get("action") == "freeze"
		u.Freeze, done = &f, map[bool]string{true: "frozen", false: "unfrozen"}[f]
	case "reset":
		u.Reset, done = true, "reset"
	default:
		c.renderClock(w, r, s, http.StatusBadRequest, "Unknown clock action.")
		return
	}
	if _, err := c.api(r, s.bearer, "").Sandbox().UpdateClock(r.Context(), u); err != nil {
		c.renderClock(w, r, s, apiStatus(err), "The clock refused: "+err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"clock?done="+done, http.StatusSeeOther)
}
