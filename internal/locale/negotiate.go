// Package locale negotiates the language of the sandbox's human-readable
// text and holds the translations of the router-level error messages.
// Only display text is localised: topics, payload keys, enum values, error
// codes and field names stay canonical English in every locale, so an
// integrator can check that its code keys off those and never off text.
package locale

import (
	"slices"
	"strconv"
	"strings"
)

// Default is the canonical locale: every machine-readable value is in it,
// and it answers when nothing else matches.
const Default = "en"

// Supported are the locales the sandbox has text for, Default first.
var Supported = []string{"en", "fr", "de", "ja"}

// IsSupported reports whether tag names a supported locale exactly
// (case-insensitively), as fixture fields must.
func IsSupported(tag string) bool {
	return slices.Contains(Supported, strings.ToLower(tag))
}

// maxRanges bounds the language ranges of one Accept-Language header that
// are looked at: a header of thousands of ranges costs no more than this.
const maxRanges = 32

// Negotiate picks the supported locale for an Accept-Language header (RFC
// 9110 §12.5.4): ranges are tried by descending quality, in header order
// among equal qualities, and a range with q=0 is "not acceptable". A range
// matches a locale by RFC 4647 §3.3.1 basic filtering ("fr" matches
// "fr"), and a range more specific than every supported tag is truncated
// the way RFC 4647 §3.4 lookup does ("fr-CA" matches "fr"). "*" matches
// fallback. When nothing matches, fallback answers if it is supported, and
// Default otherwise.
func Negotiate(acceptLanguage, fallback string) string {
	fallback = strings.ToLower(fallback)
	if !IsSupported(fallback) {
		fallback = Default
	}
	type weighted struct {
		tag string
		q   int // thousandths
	}
	var ranges []weighted
	for part := range strings.SplitSeq(acceptLanguage, ",") {
		if len(ranges) == maxRanges {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" {
			continue
		}
		q, ok := quality(params)
		if !ok || q == 0 {
			continue
		}
		ranges = append(ranges, weighted{tag, q})
	}
	slices.SortStableFunc(ranges, func(a, b weighted) int { return b.q - a.q })
	for _, r := range ranges {
		if r.tag == "*" {
			return fallback
		}
		if l, ok := match(r.tag); ok {
			return l
		}
	}
	return fallback
}

// match finds the supported locale of one language range.
func match(rng string) (string, bool) {
	for rng != "" {
		for _, l := range Supported {
			// Basic filtering: the range equals the tag or is a prefix of
			// it ending at a subtag boundary.
			if l == rng || strings.HasPrefix(l, rng+"-") {
				return l, true
			}
		}
		// Lookup: drop the last subtag and try again.
		i := strings.LastIndexByte(rng, '-')
		if i < 0 {
			break
		}
		rng = rng[:i]
	}
	return "", false
}

// quality reads the weight of a range's parameters (RFC 9110 §12.4.2:
// "q=" then 0 to 1 with at most three decimals), in thousandths. A range
// without a weight has q=1; a malformed weight makes the range ignored.
func quality(params string) (int, bool) {
	for p := range strings.SplitSeq(params, ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) == 0 || len(value) > 5 || (value[0] != '0' && value[0] != '1') {
			return 0, false
		}
		whole, frac, _ := strings.Cut(value, ".")
		if whole != "0" && whole != "1" || len(frac) > 3 {
			return 0, false
		}
		n := 0
		if frac != "" {
			v, err := strconv.Atoi(frac)
			if err != nil || strings.ContainsAny(frac, "+-") {
				return 0, false
			}
			n = v * []int{0, 100, 10, 1}[len(frac)]
		}
		if whole == "1" {
			if n != 0 {
				return 0, false
			}
			return 1000, true
		}
		return n, true
	}
	return 1000, true
}
