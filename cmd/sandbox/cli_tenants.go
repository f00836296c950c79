package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/knogin/argus-sandbox/client"
)

func tenantsGroup() group {
	list := leaf{verb: "list", use: "sandbox tenants list [flags]", summary: "list the tenants, fixture tenants included",
		setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
			cl.jsonFlag(fs)
			return func(ctx context.Context, _ []string) error {
				var all []client.Tenant
				o := client.ListOptions{Limit: 100}
				for {
					page, err := cl.client().Sandbox().Tenants(ctx, o)
					if err != nil {
						return err
					}
					all = append(all, page.Data...)
					if page.NextCursor == nil {
						break
					}
					o.Cursor = *page.NextCursor
				}
				if cl.json {
					return printJSON(cl.stdout, all)
				}
				tw := tabwriter.NewWriter(cl.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tKIND\tSELF_REVIEW\tCREATED")
				for _, t := range all {
					kind := "run time"
					if t.Fixture {
						kind = "fixture"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", t.ID, t.Name, kind, t.SelfReview, t.CreatedAt.Format(time.RFC3339))
				}
				return tw.Flush()
			}
		}}
	def := list
	def.verb, def.use = "", "sandbox tenants [COMMAND] [flags]"
	def.summary = "Lists the tenants (GET /_sandbox/tenants); a command creates, shows, deletes one or rotates its tokens."
	def.long = "Each tenant has its own apps, webhooks, cases, clock and fault rules. A tenant created here\n" +
		"gets two tokens, shown once: the admin token (the platform APIs' tenant administrator) and\n" +
		"the control token (this control plane, for that tenant alone). Hand both to its partner.\n\n" +
		"Examples:\n  sandbox tenants create --id partner-a --name \"Partner A\"\n  sandbox tenants show partner-a --json\n" +
		"  sandbox tenants rotate partner-a control\n  sandbox tenants delete partner-a\n"
	return group{
		name:    "tenants",
		summary: "create, list, show, delete tenants and rotate their tokens",
		def:     &def,
		verbs: []leaf{
			{verb: "create", use: "sandbox tenants create --name NAME [flags]", summary: "create a tenant and print its two tokens (shown once)",
				setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
					cl.jsonFlag(fs)
					var in client.TenantCreate
					var policy, users string
					fs.StringVar(&in.ID, "id", "", "the tenant's id, a slug such as partner-a (drawn when empty)")
					fs.StringVar(&in.Name, "name", "", "the tenant's display name (required)")
					fs.StringVar(&policy, "policy", "", "a JSON file with approved_scopes, grant_types, redirect_uri_patterns and public_clients (default: the open policy)")
					fs.StringVar(&users, "users", "", "a JSON file with the tenant's users: [{\"id\",\"email\",\"name\",\"role\"}]")
					fs.BoolVar(&in.SelfReview, "self-review", false, "let the tenant's control token decide its own access requests")
					return func(ctx context.Context, _ []string) error {
						if strings.TrimSpace(in.Name) == "" {
							return usagef("--name is required")
						}
						if policy != "" {
							in.Policy = new(client.TenantPolicySpec)
							if err := readJSONFile(policy, in.Policy); err != nil {
								return usagef("--policy: %v", err)
							}
						}
						if users != "" {
							if err := readJSONFile(users, &in.Users); err != nil {
								return usagef("--users: %v", err)
							}
						}
						t, err := cl.client().Sandbox().CreateTenant(ctx, in)
						if err != nil {
							return err
						}
						if cl.json {
							return printJSON(cl.stdout, t)
						}
						_, err = fmt.Fprintf(cl.stdout, "tenant %s (%s) created; its tokens are shown this once:\n  admin token:   %s\n  control token: %s\n",
							t.ID, t.Name, t.AdminToken, t.ControlToken)
						return err
					}
				}},
			list,
			{verb: "show", use: "sandbox tenants show ID [flags]", summary: "show one tenant: its policy and users", minArgs: 1, maxArgs: 1,
				setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
					cl.jsonFlag(fs)
					return func(ctx context.Context, args []string) error {
						t, err := cl.client().Sandbox().Tenant(ctx, args[0])
						if err != nil {
							return err
						}
						if cl.json {
							return printJSON(cl.stdout, t)
						}
						p := t.Policy
						_, err = fmt.Fprintf(cl.stdout, "%s (%s)\n  created:        %s\n  fixture:        %v\n  self review:    %v\n  control token:  %v\n"+
							"  approved scopes: %s\n  grant types:    %s\n  redirects:      %s\n  public clients: %v\n  users:          %d\n",
							t.ID, t.Name, t.CreatedAt.Format(time.RFC3339), t.Fixture, t.SelfReview, t.HasControlToken,
							strings.Join(p.ApprovedScopes, " "), strings.Join(p.GrantTypes, " "), strings.Join(p.RedirectURIPatterns, " "), p.PublicClients, len(t.Users))
						return err
					}
				}},
			{verb: "delete", use: "sandbox tenants delete ID", summary: "delete a tenant and everything it holds", minArgs: 1, maxArgs: 1,
				setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
					return func(ctx context.Context, args []string) error {
						if err := cl.client().Sandbox().DeleteTenant(ctx, args[0]); err != nil {
							return err
						}
						_, err := fmt.Fprintf(cl.stdout, "tenant %s deleted\n", args[0])
						return err
					}
				}},
			{verb: "rotate", use: "sandbox tenants rotate ID admin|control [flags]", summary: "replace a tenant's admin or control token (shown once)", minArgs: 2, maxArgs: 2,
				setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
					cl.jsonFlag(fs)
					return func(ctx context.Context, args []string) error {
						if args[1] != client.TenantAdminToken && args[1] != client.TenantControlToken {
							return usagef("%q is not a token kind: admin or control", args[1])
						}
						tok, err := cl.client().Sandbox().RotateTenantToken(ctx, args[0], args[1])
						if err != nil {
							return err
						}
						if cl.json {
							return printJSON(cl.stdout, tok)
						}
						_, err = fmt.Fprintf(cl.stdout, "new %s token of tenant %s (the old one no longer works; shown this once):\n  %s\n", tok.Kind, tok.Tenant, tok.Token)
						return err
					}
				}},
		},
	}
}

// readJSONFile decodes a JSON file into v, refusing unknown fields.
func readJSONFile(name string, v any) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
