package core

import (
	"net/http"

	"github.com/knogin/argus-sandbox/internal/locale"
)

// Locale is the language of the human-readable text of r's answer: the
// best supported match of its Accept-Language header (RFC 9110 §12.5.4),
// else the locale of the caller's tenant (RouterConfig.TenantLocale), else
// English. Only display text follows it: codes, topics, field names and
// enum values are canonical English in every locale.
func Locale(r *http.Request) string {
	if r == nil {
		return locale.Default
	}
	var fallback string
	if p := PrincipalFrom(r.Context()); p != nil && p.Tenant != "" {
		if f, _ := r.Context().Value(tenantLocaleKey).(func(string) string); f != nil {
			fallback = f(p.Tenant)
		}
	}
	return locale.Negotiate(r.Header.Get("Accept-Language"), fallback)
}

// SetContentLanguage declares lang as the language of a response's text
// (RFC 9110 §8.5) and that the answer varies with Accept-Language.
func SetContentLanguage(w http.ResponseWriter, lang string) {
	h := w.Header()
	h.Set("Content-Language", lang)
	h.Add("Vary", "Accept-Language")
}

// localizeProblem returns p's title and detail in lang; each stays as
// given when it has no translation.
func localizeProblem(lang string, p *Problem) (title, detail string) {
	title, detail = p.Title, p.Detail
	if t, ok := locale.Title(lang, p.Code, p.Status); ok {
		title = t
	}
	if d, ok := locale.Detail(lang, p.Code, p.Detail); ok {
		detail = d
	}
	return title, detail
}
