package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/knogin/argus-sandbox/client"
)

func faultsGroup() group {
	return group{
		name:    "faults",
		summary: "add, list and remove fault rules",
		verbs: []leaf{
			{verb: "list", use: "sandbox faults list [--json]", summary: "list the rules in evaluation order with their counters",
				setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
					cl.jsonFlag(fs)
					return func(ctx context.Context, _ []string) error {
						rules, err := cl.client().Sandbox().Faults(ctx)
						if err != nil {
							return err
						}
						return printFaults(cl, rules)
					}
				}},
			faultsAdd(),
			{verb: "delete", use: "sandbox faults delete NAME", summary: "remove one rule (its firings stay in the log)", minArgs: 1, maxArgs: 1,
				setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
					return func(ctx context.Context, args []string) error {
						if err := cl.client().Sandbox().DeleteFault(ctx, args[0]); err != nil {
							return err
						}
						_, err := fmt.Fprintln(cl.stdout, "deleted", args[0])
						return err
					}
				}},
			{verb: "clear", use: "sandbox faults clear", summary: "remove every rule, those of the --faults file too (a reset brings those back)",
				setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
					return func(ctx context.Context, _ []string) error {
						return cl.client().Sandbox().ClearFaults(ctx)
					}
				}},
		},
	}
}

func faultsAdd() leaf {
	return leaf{verb: "add", use: "sandbox faults add [--file FILE | --name NAME --operation OP (--error STATUS | --latency D) [--first N]]",
		summary: "add rules from a file, from stdin, or one small rule from flags",
		long: `Without --file or rule flags the rules are read from stdin. A file is YAML or JSON in the
form of a --faults file ({rules: [...]}), a list of rules, or one rule (schema:
/openapi/faults.schema.json). Rules are added in order; the first one refused stops the rest.

Examples:
  sandbox faults add --file faults.yaml
  echo '{name: slow, action: {latency: {fixed: 2s}}}' | sandbox faults add
  sandbox faults add --name token-outage --operation token --error 503 --first 3
`,
		setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
			file := fs.String("file", "", "YAML or JSON file of rules (- for stdin)")
			var r client.FaultRule
			fs.StringVar(&r.Name, "name", "", "rule name (one-line form)")
			fs.StringVar(&r.Match.Operation, "operation", "", "match this operationId (token, listApps…)")
			fs.StringVar(&r.Match.Path, "path", "", "match this path or pattern (/v1/platform/**)")
			status := fs.Int("error", 0, "answer with this status: 429, 500, 502, 503 or 504")
			latency := fs.Duration("latency", 0, "delay the answer this long")
			fs.IntVar(&r.When.First, "first", 0, "fire on the first N matches only")
			cl.jsonFlag(fs)
			return func(ctx context.Context, _ []string) error {
				oneLine := fs.Changed("name") || fs.Changed("operation") || fs.Changed("path") ||
					fs.Changed("error") || fs.Changed("latency") || fs.Changed("first")
				var rules []client.FaultRule
				switch {
				case oneLine && *file != "":
					return usagef("give --file or rule flags, not both")
				case oneLine:
					if r.Name == "" {
						return usagef("--name is required")
					}
					switch {
					case fs.Changed("error") == fs.Changed("latency"):
						return usagef("give one action: --error STATUS or --latency DURATION")
					case fs.Changed("error"):
						r.Action.Error = &client.FaultErrorReply{Status: *status}
					default:
						r.Action.Latency = &client.FaultLatency{Fixed: client.Duration(*latency)}
					}
					rules = []client.FaultRule{r}
				default:
					data, name, err := readRules(cl, *file)
					if err != nil {
						return err
					}
					if rules, err = parseRules(name, data); err != nil {
						return err
					}
				}
				return addFaults(ctx, cl, rules)
			}
		}}
}

// readRules reads --file, or stdin when it is "" or "-". A terminal on
// stdin is a usage error: the command never waits for typing.
func readRules(cl *cli, file string) ([]byte, string, error) {
	if file != "" && file != "-" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, "", usagef("--file: %v", err)
		}
		return data, file, nil
	}
	if f, ok := cl.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return nil, "", usagef("give --file FILE, rule flags, or rules on stdin")
		}
	}
	data, err := io.ReadAll(io.LimitReader(cl.stdin, maxRulesFile+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading stdin: %w", err)
	}
	return data, "stdin", nil
}

// maxRulesFile bounds a rules file: rules are small, and the whole file is
// decoded at once.
const maxRulesFile = 4 << 20

// parseRules reads a --faults file ({rules: [...]}), a list of rules or one
// rule, in YAML or JSON, into the client's rule type; an unknown field is a
// usage error naming it. The sandbox validates the rest.
func parseRules(name string, data []byte) ([]client.FaultRule, error) {
	if len(data) > maxRulesFile {
		return nil, usagef("%s: larger than %d bytes", name, maxRulesFile)
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	if m, ok := doc.(map[string]any); ok {
		if rules, ok := m["rules"]; ok && len(m) == 1 {
			doc = rules
		}
	}
	if _, ok := doc.([]any); !ok {
		doc = []any{doc}
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(js, &raws); err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	if len(raws) == 0 {
		return nil, usagef("%s: no rules", name)
	}
	rules := make([]client.FaultRule, len(raws))
	for i, raw := range raws {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rules[i]); err != nil {
			return nil, usagef("%s: rule %d: %v", name, i+1, strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	return rules, nil
}

func addFaults(ctx context.Context, cl *cli, rules []client.FaultRule) error {
	added := make([]client.FaultRuleStatus, 0, len(rules))
	for i, r := range rules {
		st, err := cl.client().Sandbox().AddFault(ctx, r)
		if err != nil {
			if i > 0 {
				return fmt.Errorf("%w (rules before %q were added; those after were not)", err, r.Name)
			}
			return err
		}
		added = append(added, st)
	}
	if cl.json {
		return printJSON(cl.stdout, added)
	}
	for _, st := range added {
		name, _ := st.Action.Kind()
		fmt.Fprintf(cl.stdout, "added %s (%s %s)\n", st.Name, st.Target, name)
	}
	return nil
}

// printFaults prints a table of the rules, or them as JSON.
func printFaults(cl *cli, rules []client.FaultRuleStatus) error {
	if cl.json {
		if rules == nil {
			rules = []client.FaultRuleStatus{}
		}
		return printJSON(cl.stdout, rules)
	}
	if len(rules) == 0 {
		_, err := fmt.Fprintln(cl.stdout, "no fault rules")
		return err
	}
	tw := tabwriter.NewWriter(cl.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTARGET\tACTION\tMATCH\tWHEN\tMATCHED\tFIRED")
	for _, r := range rules {
		action, _ := r.Action.Kind()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", r.Name, r.Target, action, matchText(r.Match), whenText(r.When), r.Matched, r.Fired)
	}
	return tw.Flush()
}

func matchText(m client.FaultMatch) string {
	return pairs("operation", m.Operation, "path", m.Path, "method", m.Method, "tenant", m.Tenant,
		"client_id", m.ClientID, "endpoint", m.Endpoint, "topic", m.Topic)
}

func whenText(w client.FaultWhen) string {
	var p string
	if w.Probability != nil {
		p = fmt.Sprint(*w.Probability)
	}
	num := func(n int) string {
		if n == 0 {
			return ""
		}
		return fmt.Sprint(n)
	}
	return pairs("probability", p, "after", num(w.After), "first", num(w.First), "from", w.From, "until", w.Until)
}

// pairs joins the non-empty of key, value, … as "key=value key=value",
// or "*" when all are empty (the rule matches everything).
func pairs(kv ...string) string {
	var out []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, kv[i]+"="+kv[i+1])
		}
	}
	if len(out) == 0 {
		return "*"
	}
	return strings.Join(out, " ")
}
