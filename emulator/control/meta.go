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

// publishedSpecs are the files served at /openapi/{name}: the public
// contract (one OpenAPI document per surface, the public GraphQL schema)
// and the JSON Schemas of the sandbox's own files. schema.partner.graphql
// is left out on purpose: it is an inventory of the reviewed-access
// operations, which the portal shares only after review, as curated
// bundles, "without exposing the full schema"; an approved tenant calls
// them as persisted operations of its bundles. Other files of a --specs
// directory are not published either.
var publishedSpecs = map[string]bool{
	"platform.yaml": true, "oauth.yaml": true, "webhooks.yaml": true, "graphql.yaml": true,
	"sandbox.yaml": true, "schema.graphql": true, "faults.schema.json": true, "scenario.schema.json": true,
}

// specFile serves one published file of the specs; any other name is
// unknown (404), so the reply does not tell unpublished files apart. The
// name pattern of the spec keeps it to a single path element.
func (s *Service) specFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var data []byte
	err := fs.ErrNotExist
	if publishedSpecs[name] {
		data, err = fs.ReadFile(s.cfg.Specs, name)
	}
	if err != nil {
		core.WriteProblem(w, r, core.NotFoundProblem("no spec file is named "+strconv.Quote(name)))
		return
	}
	h := w.Header()
	h.Set("Content-Type", specTypes[path.Ext(name)])
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}
