package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/knogin/argus-sandbox/client"
)

// view is what every page template receives; Data is the page's own.
type view struct {
	Title string
	// Nav names the active navigation entry.
	Nav string
	// Tenant is the tenant of a tenant page ("" on the others); Tenants
	// those the session may see.
	Tenant   string
	Tenants  []Tenant
	CSRF     string
	Open     bool
	SignedIn bool
	// Flash reports the action just done; Error what went wrong.
	Flash string
	Error string
	Data  any
}

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"signin", "error", "overview", "apps", "webhooks", "timeline", "events", "clock", "faults", "requests", "stream"}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05.000Z")
	},
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05.000Z")
	},
	"httpStatus": func(s *int) string {
		if s == nil {
			return "no response"
		}
		return fmt.Sprintf("%d %s", *s, http.StatusText(*s))
	},
	"snippet": func(s string) string {
		const n = 160
		s = strings.TrimSpace(s)
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		return string([]rune(s)[:n]) + "…"
	},
	// offset shows a clock offset to the second: the virtual clock and
	// real time are read a moment apart.
	"offset": func(d client.Duration) string { return time.Duration(d).Round(time.Second).String() },
	"join":   strings.Join,
	// ms shows a latency in milliseconds to a tenth.
	"ms": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " ms" },
	"json": func(v any) string {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return ""
		}
		return string(b)
	},
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page; a template failure is a 500 without a half page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	if s, ok := c.session(r); ok {
		v.SignedIn = true
		v.CSRF = s.csrf
		if v.Tenants == nil {
			v.Tenants = c.tenants(r, s)
		}
	}
	if v.Flash == "" {
		v.Flash = flash(r)
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		c.cfg.Logger.Error("console template failed", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders the error page; s is nil when there is no session.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	v := view{Title: "Error", Error: msg}
	if s != nil {
		v.CSRF = s.csrf
	}
	c.render(w, r, status, "error", v)
}

// flashes are the messages a redirect after an action may show: the
// query names one of them, so no text of the URL reaches the page.
var flashes = map[string]string{
	"triggered":     "Event published; its deliveries follow.",
	"redelivered":   "Redelivery queued.",
	"advanced":      "Clock advanced.",
	"frozen":        "Clock frozen.",
	"unfrozen":      "Clock running.",
	"reset":         "Clock back to real time.",
	"fault-added":   "Fault rule added.",
	"fault-removed": "Fault rule removed.",
	"subscribed":    "Webhook subscribed.",
	"cleared":       "Request journal cleared.",
}

// flash is the message of ?done=; a recovery's names its count, the one
// number read from the address.
func flash(r *http.Request) string {
	q := r.URL.Query()
	if q.Get("done") == "recovered" {
		n, err := strconv.Atoi(q.Get("n"))
		if err != nil || n < 0 {
			return "Recovery queued."
		}
		if n == 1 {
			return "Recovery queued: 1 failed delivery sent again."
		}
		return "Recovery queued: " + strconv.Itoa(n) + " failed deliveries sent again."
	}
	return flashes[q.Get("done")]
}
