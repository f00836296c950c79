package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/knogin/argus-sandbox/client"
)

func triggerGroup() group {
	return group{name: "trigger", summary: "publish catalog events, as if they happened on the platform", def: &leaf{
		use:     "sandbox trigger TOPIC [--set data.PATH=VALUE …] [--count N] [--tenant T]",
		summary: "Publishes the topic's example event (POST /_sandbox/events), with --set overrides merged over its data, to every matching webhook of the tenant; prints the event ids.",
		long: `--set data.PATH=VALUE sets one field of the event's data by a dotted path of object keys;
VALUE is read as JSON when it is JSON (2, true, null, "2", {"a":1}), else as a string.
The sandbox refuses (exit 1, naming the field) data that no longer matches the topic's schema.

Examples:
  sandbox trigger case.updated
  sandbox trigger case.updated --set data.case.title="Wire fraud" --set data.case.priority=LOW --count 3
  sandbox trigger case.created --tenant globex --json
`,
		minArgs: 1, maxArgs: 1,
		setup: func(fs *pflag.FlagSet, cl *cli) func(context.Context, []string) error {
			fs.StringVar(&cl.tenant, "tenant", "acme", "fixture tenant the events happen in")
			sets := fs.StringArray("set", nil, "data.PATH=VALUE override of the event's data (repeatable)")
			count := fs.Int("count", 1, "number of events, each its own id (1-1000)")
			cl.jsonFlag(fs)
			return func(ctx context.Context, args []string) error {
				data, err := parseSets(*sets)
				if err != nil {
					return err
				}
				if *count < 1 {
					return usagef("--count %d: must be at least 1", *count)
				}
				out, err := cl.client().Sandbox().TriggerEvent(ctx, client.EventTrigger{
					Tenant: cl.tenant, Topic: args[0], Data: data, Count: *count})
				if err != nil {
					return err
				}
				if cl.json {
					return printJSON(cl.stdout, out)
				}
				for _, id := range out.EventIDs {
					fmt.Fprintln(cl.stdout, id)
				}
				return nil
			}
		},
	}}
}

// parseSets builds the data override object from data.PATH=VALUE pairs:
// each path segment is an object key; a value that parses as JSON is that
// JSON value, anything else a string.
func parseSets(sets []string) (map[string]any, error) {
	if len(sets) == 0 {
		return nil, nil
	}
	data := map[string]any{}
	for _, s := range sets {
		path, raw, ok := strings.Cut(s, "=")
		if !ok {
			return nil, usagef("--set %q: want data.PATH=VALUE", s)
		}
		rest, ok := strings.CutPrefix(path, "data.")
		if !ok {
			return nil, usagef("--set %q: the path names a field of the event's data, starting with data. (data.case.title)", s)
		}
		keys := strings.Split(rest, ".")
		if slices.Contains(keys, "") {
			return nil, usagef("--set %q: empty key in the path", s)
		}
		var value any
		if err := json.Unmarshal([]byte(raw), &value); err != nil {
			value = raw
		}
		obj := data
		for i, k := range keys[:len(keys)-1] {
			switch next := obj[k].(type) {
			case nil:
				m := map[string]any{}
				obj[k], obj = m, m
			case map[string]any:
				obj = next
			default:
				return nil, usagef("--set %q: data.%s is already set to a value that is not an object", s, strings.Join(keys[:i+1], "."))
			}
		}
		last := keys[len(keys)-1]
		if _, isObj := obj[last].(map[string]any); isObj {
			return nil, usagef("--set %q: fields of data.%s are set too; set the object or its fields", s, rest)
		}
		obj[last] = value
	}
	return data, nil
}
