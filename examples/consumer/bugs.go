package consumer

import "fmt"

// Bug names one deliberate defect. The conformance suite's own tests run
// every variant to prove each scenario catches the bug it targets. When
// you copy this consumer as a template, delete this file and the
// `c.bug(...)` branches: the code outside them is the correct consumer.
type Bug string

// The classic webhook consumer bugs, one per variant.
const (
	// BugNone is the correct consumer.
	BugNone Bug = ""
	// BugNoDedupe applies every delivery, duplicates included.
	BugNoDedupe Bug = "no_dedupe"
	// BugCheckThenAct checks the dedupe record and writes it later, without
	// a lock, so concurrent copies all pass the check.
	BugCheckThenAct Bug = "check_then_act"
	// BugMemoryDedupe keeps the dedupe record in memory only; a restart
	// forgets it.
	BugMemoryDedupe Bug = "memory_dedupe"
	// BugNoSignature does not verify signatures or timestamps.
	BugNoSignature Bug = "no_signature"
	// BugUnknown5xx answers 500 to event types it does not handle.
	BugUnknown5xx Bug = "unknown_5xx"
	// BugLastWriteWins mirrors whatever update arrives last, older or not.
	BugLastWriteWins Bug = "last_write_wins"
	// BugSlowAck does slow work for new cases before answering.
	BugSlowAck Bug = "slow_ack"
)

// Bugs lists every variant's bug.
var Bugs = []Bug{BugNoDedupe, BugCheckThenAct, BugMemoryDedupe, BugNoSignature, BugUnknown5xx, BugLastWriteWins, BugSlowAck}

// ParseBug reads a bug name ("" is the correct consumer).
func ParseBug(s string) (Bug, error) {
	if s == "" {
		return BugNone, nil
	}
	for _, b := range Bugs {
		if string(b) == s {
			return b, nil
		}
	}
	return "", fmt.Errorf("unknown bug %q (one of %v)", s, Bugs)
}
