// Package layers holds no code: its test states which package of the module
// may import which, and fails when a change breaks a layer (the standard
// library's go/build deps_test is the model). See docs/ARCHITECTURE.md.
package layers
