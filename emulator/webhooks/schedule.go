package webhooks

import (
	"encoding/binary"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultSchedule is the wait before each retry, after the immediate first
// attempt. It follows Svix's published schedule (5 s, 5 min, 30 min, 2 h,
// 5 h, 10 h, 10 h): roughly exponential, 8 attempts over about 28 hours,
// comparable to Stripe's "up to three days" in the first day.
var DefaultSchedule = []time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// DefaultJitter is the largest fraction added to each scheduled wait, so
// retries of a burst do not all hit the endpoint at the same instant. Waits
// only ever grow: a retry never comes before its nominal time.
const DefaultJitter = 0.2

// DefaultDisableAfter is how long an endpoint may fail continuously (every
// attempt failing, none succeeding) before it is disabled, as Svix does.
const DefaultDisableAfter = 5 * 24 * time.Hour

// MaxRetryAfter caps a Retry-After wait at the longest scheduled wait.
const MaxRetryAfter = 10 * time.Hour

// retryPolicy decides when a failed attempt is retried.
type retryPolicy struct {
	schedule []time.Duration
	jitter   float64
	random   func(n int) []byte
}

// wait returns the wait before the retry following auto attempt number n
// (1-based), and false when the schedule is exhausted.
func (p retryPolicy) wait(n int) (time.Duration, bool) {
	if n < 1 || n > len(p.schedule) {
		return 0, false
	}
	d := p.schedule[n-1]
	if p.jitter > 0 {
		u := float64(binary.BigEndian.Uint64(p.random(8))>>11) / (1 << 53) // [0,1)
		d += time.Duration(float64(d) * p.jitter * u)
	}
	return d, true
}

// retryAfter parses Retry-After (RFC 9110 §10.2.3: delay-seconds or an
// HTTP-date) on the statuses that carry it for webhooks: 429 and 502-504.
func retryAfter(status int, h http.Header, now time.Time) (time.Duration, bool) {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return 0, false
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		d = time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(t.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, MaxRetryAfter), true
}
