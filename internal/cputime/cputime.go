// Package cputime reads the CPU time the process has used, so benchmarks
// can report CPU per operation: a figure that stays comparable on a
// machine shared with other work, where rates do not.
package cputime
