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
	// BugDedupeOnTimestamp dedupes on webhook-id and webhook-timestamp
	// together, so a retry signed at its own time passes as new.
	BugDedupeOnTimestamp Bug = "dedupe_on_timestamp"
	// BugNarrowWindow refuses timestamps more than 10 s away from its
	// clock, so ordinary clock skew and queueing refuse good deliveries.
	BugNarrowWindow Bug = "narrow_window"
	// BugNoFutureBound refuses old timestamps but accepts any future one.
	BugNoFutureBound Bug = "no_future_bound"
	// BugAnyVersion compares the MAC of every signature, whatever its
	// version prefix, or none.
	BugAnyVersion Bug = "any_version"
	// BugFirstSignatureOnly checks only the first signature of the header.
	BugFirstSignatureOnly Bug = "first_signature_only"
	// BugIDFromBody verifies with the id inside the body instead of the
	// webhook-id header it dedupes on.
	BugIDFromBody Bug = "id_from_body"
	// BugReserializedBody verifies the signature over a re-serialization
	// of the parsed body instead of the bytes received.
	BugReserializedBody Bug = "reserialized_body"
	// BugAnySecret accepts every secret it was ever configured with.
	BugAnySecret Bug = "any_secret"
	// BugPinnedSecret keeps verifying with the first secret it was ever
	// configured with, whatever ARGUS_WEBHOOK_SECRET says now.
	BugPinnedSecret Bug = "pinned_secret"
	// BugMarkBeforeApply records an event as applied before its side
	// effect (the write-back), so a crash in between loses the effect.
	BugMarkBeforeApply Bug = "mark_before_apply"
	// BugAckThenApply answers 2xx at once and applies from a queue kept in
	// memory, so a crash loses what it acknowledged.
	BugAckThenApply Bug = "ack_then_apply"
	// BugSwallowEffectError answers 2xx when its side effect failed.
	BugSwallowEffectError Bug = "swallow_effect_error"
	// BugSmallBodyLimit refuses bodies over 64 KiB.
	BugSmallBodyLimit Bug = "small_body_limit"
	// BugStrictEnums refuses a case status it does not know.
	BugStrictEnums Bug = "strict_enums"
	// BugClientErrorPermanent takes a 4xx answer to its write-back (a 429
	// rate limit included) for a permanent failure: it gives up on the
	// effect and acknowledges the delivery.
	BugClientErrorPermanent Bug = "client_error_permanent"
	// BugShedLoad sheds load the wrong way: while more than shedAbove of
	// its write-backs to Argus are in flight, it answers 2xx to a new
	// delivery without applying it, instead of 429 or 503.
	BugShedLoad Bug = "shed_load"
	// BugDedupeBeforeVerify records a webhook-id as seen (in memory)
	// before it verifies and applies the delivery.
	BugDedupeBeforeVerify Bug = "dedupe_before_verify"
)

// Bugs lists every variant's bug.
var Bugs = []Bug{BugNoDedupe, BugCheckThenAct, BugMemoryDedupe, BugNoSignature, BugUnknown5xx, BugLastWriteWins, BugSlowAck,
	BugDedupeOnTimestamp, BugNarrowWindow, BugNoFutureBound, BugAnyVersion, BugFirstSignatureOnly, BugIDFromBody,
	BugReserializedBody, BugAnySecret, BugPinnedSecret, BugMarkBeforeApply, BugAckThenApply, BugSwallowEffectError,
	BugSmallBodyLimit, BugStrictEnums, BugDedupeBeforeVerify, BugClientErrorPermanent, BugShedLoad}

// shedAbove is how many write-backs in flight BugShedLoad takes for busy.
const shedAbove = 4

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
