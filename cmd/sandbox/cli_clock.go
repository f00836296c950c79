package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/knogin/argus-sandbox/client"
)

func clockGroup() group {
	update := func(verb, use, summary string, args int, u func(args []string) (client.ClockUpdate, error)) leaf {
		return leaf{verb: verb, use: use, summary: summary, minArgs: args, maxArgs: args,
			setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
				cl.jsonFlag(fs)
				tenantFlag(fs, cl)
				return func(ctx context.Context, args []string) error {
					in, err := u(args)
					if err != nil {
						return err
					}
					in.Tenant = cl.tenant
					st, err := cl.client().Sandbox().UpdateClock(ctx, in)
					if err != nil {
						return err
					}
					return printClock(cl, st)
				}
			}}
	}
	yes, no := true, false
	return group{
		name:    "clock",
		summary: "show or move the sandbox's virtual clock",
		def: &leaf{use: "sandbox clock [COMMAND] [flags]", summary: "Shows the sandbox clock (GET /_sandbox/clock); a command moves it and shows where it is after.",
			long: "Everything that fell due while the clock moved (webhook retries, token expiry, delayed\ndeliveries) has run when a command returns. Every tenant has a clock of its own: --tenant\nreads or moves that one alone; without it the operator token moves the sandbox clock and\nevery tenant's, and a tenant's control token moves its own tenant's.\n\nExamples:\n  sandbox clock advance 2h\n  sandbox clock set 2027-01-01T00:00:00Z --json\n",
			setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
				cl.jsonFlag(fs)
				tenantFlag(fs, cl)
				return func(ctx context.Context, _ []string) error {
					read := cl.client().Sandbox().Clock
					if cl.tenant != "" {
						read = func(ctx context.Context) (client.ClockState, error) {
							return cl.client().Sandbox().TenantClock(ctx, cl.tenant)
						}
					}
					st, err := read(ctx)
					if err != nil {
						return err
					}
					return printClock(cl, st)
				}
			}},
		verbs: []leaf{
			update("advance", "sandbox clock advance DURATION", "move the clock forward (Go duration: 90s, 2h, 1h30m)", 1, func(args []string) (client.ClockUpdate, error) {
				d, err := time.ParseDuration(args[0])
				if err != nil || d < 0 {
					return client.ClockUpdate{}, usagef("%q is not a positive duration such as 90s, 2h or 1h30m", args[0])
				}
				adv := client.Duration(d)
				return client.ClockUpdate{Advance: &adv}, nil
			}),
			update("set", "sandbox clock set TIME", "set the clock to an RFC 3339 time (2027-01-01T00:00:00Z)", 1, func(args []string) (client.ClockUpdate, error) {
				t, err := time.Parse(time.RFC3339Nano, args[0])
				if err != nil {
					return client.ClockUpdate{}, usagef("%q is not an RFC 3339 time such as 2027-01-01T00:00:00Z", args[0])
				}
				return client.ClockUpdate{Set: &t}, nil
			}),
			update("freeze", "sandbox clock freeze", "stop the clock: time moves only when you move it", 0, func([]string) (client.ClockUpdate, error) {
				return client.ClockUpdate{Freeze: &yes}, nil
			}),
			update("unfreeze", "sandbox clock unfreeze", "let the clock run again from where it stands", 0, func([]string) (client.ClockUpdate, error) {
				return client.ClockUpdate{Freeze: &no}, nil
			}),
			update("reset", "sandbox clock reset", "back to real time, running", 0, func([]string) (client.ClockUpdate, error) {
				return client.ClockUpdate{Reset: true}, nil
			}),
		},
	}
}

// tenantFlag adds --tenant, the tenant whose clock to read or move.
func tenantFlag(fs *pflag.FlagSet, cl *cli) {
	fs.StringVar(&cl.tenant, "tenant", "", "the tenant whose clock to read or move (default: the sandbox clock, or the control token's tenant)")
}

// printClock prints "2027-01-01T00:00:00Z frozen offset 2h0m0s, 3 pending
// timers", or the state as JSON.
func printClock(cl *cli, st client.ClockState) error {
	if cl.json {
		return printJSON(cl.stdout, st)
	}
	state := "running"
	if st.Frozen {
		state = "frozen"
	}
	of := ""
	if st.Tenant != "" {
		of = " (tenant " + st.Tenant + ")"
	}
	_, err := fmt.Fprintf(cl.stdout, "%s %s offset %s, %d pending timers%s\n", st.Now.Format(time.RFC3339Nano), state, st.Offset, st.PendingTimers, of)
	return err
}
