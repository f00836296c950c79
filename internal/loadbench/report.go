package loadbench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
)

// metrics in report order. Each compares with the bare server's nearest
// figure (bare) and stripe-mock's (peer); rest-get and form-post are
// measured on every target.
var metrics = []struct {
	name, label, bare, peer string
}{
	{"cold-start", "cold start to first response (median)", "cold-start", "cold-start"},
	{"rss-after-start", "RSS after start (median)", "rss-after-start", "rss-after-start"},
	{"rest-get", "validated REST GET (GET /v1/platform/apps/{id})", "rest-get", "rest-get"},
	{"token-client-credentials", "POST /v1/oauth/token client_credentials (bare: form POST + ES256 JWT)", "token-es256", "form-post"},
	{"graphql-case-with-notes", "GraphQL: a case with its notes (bare: REST GET)", "rest-get", "rest-get"},
	{"webhook-deliveries", "signed webhook deliveries to a local receiver", "webhook-deliveries", ""},
	{"conformance-suite", "default conformance suite, reference consumer (median of 5)", "", ""},
	{"image-size", "container image", "", ""},
}

// Report prints a table of figures with ratios to the bare server and to
// stripe-mock, then the same figures as benchstat-compatible lines,
// preceded by meta ("key: value" lines, benchstat's configuration syntax,
// such as the machine and the load generator).
func Report(w io.Writer, meta []string, figs []Figure) {
	get := func(target, metric string) (Figure, bool) {
		for _, f := range figs {
			if f.Target == target && f.Metric == metric {
				return f, true
			}
		}
		return Figure{}, false
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tsandbox\tp50\tp99\tbare\tsandbox/bare\tstripe-mock\tsandbox/stripe-mock")
	for _, m := range metrics {
		f, ok := get("sandbox", m.name)
		if !ok {
			continue
		}
		row := []string{m.label, fmt.Sprintf("%.1f %s", f.Value, f.Unit), lat(f.P50), lat(f.P99), "", "", "", ""}
		if b, ok := get("bare", m.bare); ok {
			row[4], row[5] = fmt.Sprintf("%.1f %s", b.Value, b.Unit), fmt.Sprintf("%.2fx", f.Value/b.Value)
		}
		if s, ok := get("stripe-mock", m.peer); ok {
			row[6], row[7] = fmt.Sprintf("%.1f %s", s.Value, s.Unit), fmt.Sprintf("%.2fx", f.Value/s.Value)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	storeRatios(w, get)
	fmt.Fprintln(w)
	for _, m := range meta {
		fmt.Fprintln(w, m)
	}
	for _, f := range figs {
		fmt.Fprintf(w, "BenchmarkE2E/metric=%s/target=%s 1 %g %s", f.Metric, f.Target, f.Value, strings.ReplaceAll(f.Unit, " ", "-"))
		if f.P50 > 0 {
			fmt.Fprintf(w, " %d p50-ns %d p99-ns", f.P50.Nanoseconds(), f.P99.Nanoseconds())
		}
		fmt.Fprintln(w)
	}
}

func lat(d interface{ Microseconds() int64 }) string {
	us := d.Microseconds()
	if us == 0 {
		return ""
	}
	if us < 1000 {
		return fmt.Sprintf("%d µs", us)
	}
	return fmt.Sprintf("%.1f ms", float64(us)/1000)
}

// Machine describes the host as benchstat configuration lines.
func Machine() []string {
	model := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return []string{"goos: " + runtime.GOOS, "goarch: " + runtime.GOARCH, "cpu: " + model,
		fmt.Sprintf("nproc: %d", runtime.NumCPU())}
}

// storeTargets are the durable stores' sandboxes, compared with the
// in-memory one.
var storeTargets = []string{"sandbox-sqlite", "sandbox-postgres"}

// storeRatios prints, when a durable store was measured, its figures
// beside the in-memory sandbox's, with their ratio.
func storeRatios(w io.Writer, get func(target, metric string) (Figure, bool)) {
	var measured []string
	for _, t := range storeTargets {
		if _, ok := get(t, "rest-get"); ok {
			measured = append(measured, t)
		}
	}
	if len(measured) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"metric", "memory"}
	for _, t := range measured {
		head = append(head, t, t+"/memory")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, m := range metrics {
		mem, ok := get("sandbox", m.name)
		if !ok || m.name == "conformance-suite" || m.name == "image-size" {
			continue
		}
		row := []string{m.label, fmt.Sprintf("%.1f %s", mem.Value, mem.Unit)}
		for _, t := range measured {
			if f, ok := get(t, m.name); ok {
				row = append(row, fmt.Sprintf("%.1f %s", f.Value, f.Unit), fmt.Sprintf("%.2fx", f.Value/mem.Value))
			} else {
				row = append(row, "", "")
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}
