package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/knogin/argus-sandbox/client"
)

func requestsGroup() group {
	return group{
		name:    "requests",
		summary: "list the requests the sandbox answered (the request journal)",
		def: &leaf{use: "sandbox requests [flags]",
			summary: "Lists journaled requests, newest first (GET /_sandbox/requests): time, status, method, path, operation, client, latency and error code.",
			long: `Examples:
  sandbox requests --status 4xx
  sandbox requests --operation createWebhook --client cli_acme_1 --json
  sandbox requests --since 2026-03-01T10:00:00Z --limit 20
`,
			setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
				fs.StringVar(&cl.tenant, "tenant", "", "only this tenant's requests (all when empty; a control token reads its own tenant's alone)")
				op := fs.String("operation", "", "only this operationId (createWebhook, token…)")
				status := fs.String("status", "", "only this status: a code (404) or a class (4xx, 5xx)")
				clientID := fs.String("client", "", "only requests of this OAuth client id")
				since := fs.String("since", "", "only requests at or after this RFC 3339 time (sandbox clock; a tenant's requests are on its own clock)")
				reqID := fs.String("request-id", "", "only the request with this X-Request-Id")
				limit := fs.Int("limit", 0, "at most N requests (the sandbox's default when 0)")
				cursor := fs.String("cursor", "", "continue after a previous page (its next_cursor)")
				cl.jsonFlag(fs)
				return func(ctx context.Context, _ []string) error {
					if *status != "" && !statusFilter.MatchString(*status) {
						return usagef("--status %q: want a status code (404) or a class (4xx)", *status)
					}
					f := client.RequestFilter{Tenant: cl.tenant, Operation: *op, Status: *status, ClientID: *clientID,
						RequestID: *reqID, Limit: *limit, Cursor: *cursor}
					if *since != "" {
						t, err := time.Parse(time.RFC3339Nano, *since)
						if err != nil {
							return usagef("--since %q is not an RFC 3339 time such as 2026-03-01T10:00:00Z", *since)
						}
						f.Since = t
					}
					if *limit < 0 {
						return usagef("--limit %d: must not be negative", *limit)
					}
					page, err := cl.client().Sandbox().Requests(ctx, f)
					if err != nil {
						return err
					}
					if cl.json {
						return printJSON(cl.stdout, page)
					}
					return printRequests(cl, page)
				}
			}},
		verbs: []leaf{{verb: "clear", use: "sandbox requests clear [--tenant T]", summary: "empty the journal (of one tenant with --tenant)",
			setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
				fs.StringVar(&cl.tenant, "tenant", "", "only this tenant's requests (all when empty)")
				return func(ctx context.Context, _ []string) error {
					return cl.client().Sandbox().ClearRequests(ctx, cl.tenant)
				}
			}}},
	}
}

// statusFilter is a status code or class, as the journal filters by.
var statusFilter = regexp.MustCompile(`^[1-5]([0-9]{2}|xx)$`)

func printRequests(cl *cli, page client.RequestPage) error {
	if len(page.Requests) == 0 {
		fmt.Fprintln(cl.stdout, "no requests")
	} else {
		tw := tabwriter.NewWriter(cl.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tSTATUS\tMETHOD\tPATH\tOPERATION\tCLIENT\tLATENCY\tERROR")
		for _, r := range page.Requests {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Format("2006-01-02 15:04:05.000"), r.Status, r.Method, r.Path,
				dash(r.Operation), dash(caller(r)), latency(r.LatencyMS), dash(r.ErrorCode))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if page.NextCursor != "" {
		// On stderr, so that the table on stdout stays only the table.
		fmt.Fprintf(cl.stderr, "more: sandbox requests --cursor %s (with the same filters)\n", page.NextCursor)
	}
	return nil
}

// caller is who made the request: the OAuth client, else the subject.
func caller(r client.RequestEntry) string {
	if r.Auth.ClientID != "" {
		return r.Auth.ClientID
	}
	return r.Auth.Subject
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// latency formats milliseconds as 3.1ms.
func latency(ms float64) string {
	return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
}
