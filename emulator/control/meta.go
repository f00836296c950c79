package control

import (
	"io/fs"
	"net/http"
	"path"
	"strconv"

	"github.com/knogin/argus-sandbox/emulator/core"
)

func (s *Service) health(w http.ResponseWriter, _ *http.Request) {
	core.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "time": s.cfg.Clock.Now().UTC()})
}

// specTypes are the media types of the published spec files; YAML per
// RFC 9512.
var specTypes = map[string]string{
	".yaml":    "application/yaml",
	".json":    "application/json",
	".graphql": "application/graphql",
}

// specFile serves one top-level file of the specs as published. The name
// pattern of the spec keeps it to a single path element.
func (s *Service) specFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ctype, ok := specTypes[path.Ext(name)]
	data, err := fs.ReadFile(s.cfg.Specs, name)
	if !ok || !fs.ValidPath(name) || err != nil {
		core.WriteProblem(w, r, core.NotFoundProblem("no spec file is named "+strconv.Quote(name)))
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}
