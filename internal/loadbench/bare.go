package loadbench

import (
	"encoding/json"
	"net/http"
)

// BareHandler is the physical-ceiling baseline: a plain net/http server
// answering a small JSON GET and a form POST, with no validation.
func BareHandler() http.Handler {
	mux := http.NewServeMux()
	app := map[string]any{"id": "app_0123456789abcdefghjkmnpqrs", "name": "Case sync connector", "status": "active"}
	mux.HandleFunc("GET /v1/platform/apps/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(app)
	})
	mux.HandleFunc("POST /v1/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": r.PostForm.Get("client_id"), "token_type": "Bearer"})
	})
	return mux
}
