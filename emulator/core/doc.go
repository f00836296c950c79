// Package core is the shared plumbing of the emulator's surfaces: the
// spec-driven router (routing from the OpenAPI paths, per-operation
// security, request validation with kin-openapi and the fast check beside
// it, response checks in tests), the problem+json writer (RFC 9457), the
// request context (request ID, authenticated principal), the virtual clock
// every schedule runs on, the seeded ID source and cursor paging.
//
// core imports no other package of the module: surfaces import it, never
// the reverse, and it receives parsed OpenAPI documents rather than loading
// them (see package specs). The rule is enforced by internal/layers.
package core
