package control

import "net/http"

// journal serves a journal endpoint, or 501 when the sandbox has none.
func (s *Service) journal(serve func(Journal, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.available(w, r, s.cfg.Journal != nil, "the request journal") {
			return
		}
		serve(s.cfg.Journal, w, r)
	}
}
