package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/knogin/argus-sandbox/client"
)

// The commands below drive a running sandbox through its control plane,
// over HTTP and through package client, as caddy's CLI drives its admin
// API: there is no second, in-process implementation of the operations.

// cliIO is what a command reads and writes, and where it looks up
// ARGUS_SANDBOX_* variables.
type cliIO struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// env reads ARGUS_SANDBOX_<name>.
func (s cliIO) env(name string) string { return s.getenv("ARGUS_SANDBOX_" + name) }

// group is a command with verbs (sandbox clock advance …); def, when set,
// runs when no verb is given (sandbox clock shows the clock).
type group struct {
	name    string
	summary string
	def     *leaf
	verbs   []leaf
}

// leaf is one runnable command line: use names its arguments, args bounds
// their count, setup binds its flags and returns what runs once they are
// parsed.
type leaf struct {
	verb    string
	use     string
	summary string
	// long explains the command and shows examples (printed by --help).
	long    string
	minArgs int
	maxArgs int
	setup   func(fs *pflag.FlagSet, cl *cli) func(ctx context.Context, args []string) error
}

// groups are the commands beside serving, in the order --help lists them.
func groups() []group {
	return []group{triggerGroup(), tailGroup(), requestsGroup(), clockGroup(), faultsGroup(), tenantsGroup()}
}

// runCommand runs `sandbox NAME args…` for a command of groups; ok is false
// when name is none of them.
func runCommand(ctx context.Context, name string, args []string, s cliIO) (code int, ok bool) {
	for _, g := range groups() {
		if g.name == name {
			return g.run(ctx, args, s), true
		}
	}
	return 0, false
}

func (g group) run(ctx context.Context, args []string, s cliIO) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && len(g.verbs) > 0 {
		for _, l := range g.verbs {
			if l.verb == args[0] {
				return l.run(ctx, "sandbox "+g.name+" "+l.verb, args[1:], s, "")
			}
		}
		if g.def == nil || g.def.maxArgs == 0 {
			fmt.Fprintf(s.stderr, "sandbox %s: unknown command %q (commands: %s)\nRun 'sandbox %s --help' for usage.\n",
				g.name, args[0], strings.Join(g.verbNames(), ", "), g.name)
			return exitUsage
		}
	}
	if g.def != nil {
		return g.def.run(ctx, "sandbox "+g.name, args, s, g.verbUsage())
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintf(s.stdout, "Usage: sandbox %s COMMAND [flags]\n\n%s.\n\n%s\nCommon flags: --url (env ARGUS_SANDBOX_URL), --token (env ARGUS_SANDBOX_OPERATOR_TOKEN).\n%s",
			g.name, strings.ToUpper(g.summary[:1])+g.summary[1:], g.verbUsage(), exitCodesText)
		return exitOK
	}
	fmt.Fprintf(s.stderr, "sandbox %s: missing command (commands: %s)\nRun 'sandbox %s --help' for usage.\n",
		g.name, strings.Join(g.verbNames(), ", "), g.name)
	return exitUsage
}

func (g group) verbNames() []string {
	var names []string
	for _, l := range g.verbs {
		names = append(names, l.verb)
	}
	return names
}

func (g group) verbUsage() string {
	if len(g.verbs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Commands:\n")
	for _, l := range g.verbs {
		use, _, _ := strings.Cut(strings.TrimPrefix(l.use, "sandbox "), " [")
		fmt.Fprintf(&b, "  %-24s %s\n", use, l.summary)
	}
	fmt.Fprintf(&b, "Run 'sandbox %s COMMAND --help' for a command's flags.\n", g.name)
	return b.String()
}

// exitCodesText ends every usage text: scripts in CI branch on these.
const exitCodesText = "Exit codes: 0 done; 1 the sandbox refused or failed (its error code and detail on stderr) or could not be reached; 2 usage error.\n"

func (l leaf) run(ctx context.Context, name string, args []string, s cliIO, more string) int {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	cl := &cli{cliIO: s, name: name}
	fs.StringVar(&cl.url, "url", "", "base URL of the sandbox (env ARGUS_SANDBOX_URL; default http:// + ARGUS_SANDBOX_ADDR, 0.0.0.0 read as 127.0.0.1, or http://127.0.0.1:8080)")
	fs.StringVar(&cl.token, "token", "", "operator token for /_sandbox (default env ARGUS_SANDBOX_OPERATOR_TOKEN, which other local users cannot read as they can a command line)")
	exec := l.setup(fs, cl)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s\n\n%s\n", l.use, l.summary)
		if l.long != "" {
			fmt.Fprintf(w, "\n%s", l.long)
		}
		if more != "" {
			fmt.Fprintf(w, "\n%s", more)
		}
		fmt.Fprintf(w, "\nFlags:\n%s\n%s", fs.FlagUsages(), exitCodesText)
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		usage(s.stdout)
		return exitOK
	case err != nil:
		return cl.exit(usagef("%v", err))
	case fs.NArg() < l.minArgs:
		return cl.exit(usagef("missing argument: usage: %s", l.use))
	case fs.NArg() > l.maxArgs:
		return cl.exit(usagef("unexpected argument %q", fs.Arg(l.maxArgs)))
	}
	if !fs.Changed("token") {
		cl.token = s.env("OPERATOR_TOKEN")
	}
	if err := cl.resolveURL(); err != nil {
		return cl.exit(err)
	}
	return cl.exit(exec(ctx, fs.Args()))
}

// cli is one command's common state: where the sandbox is, the operator
// token, the output form.
type cli struct {
	cliIO
	// name is the command line's name in messages ("sandbox clock advance").
	name   string
	url    string
	token  string
	tenant string
	json   bool
}

// jsonFlag adds --json.
func (cl *cli) jsonFlag(fs *pflag.FlagSet) {
	fs.BoolVar(&cl.json, "json", false, "print the sandbox's answer as JSON (for scripts)")
}

// resolveURL picks --url, ARGUS_SANDBOX_URL or the address the sandbox
// listens on (the image sets ARGUS_SANDBOX_ADDR=0.0.0.0:8080, so
// `docker exec … /sandbox tail` reaches the server beside it).
func (cl *cli) resolveURL() error {
	if cl.url == "" {
		cl.url = cl.env("URL")
	}
	if cl.url == "" {
		addr := cl.env("ADDR")
		if addr == "" {
			addr = "127.0.0.1:8080"
		}
		cl.url = "http://" + publicAddr(addr)
	}
	u, err := url.Parse(cl.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--url %q is not an http(s) base URL such as http://127.0.0.1:8080", cl.url)
	}
	cl.url = strings.TrimRight(cl.url, "/")
	return nil
}

// client is the control-plane client of the sandbox.
func (cl *cli) client() *client.Client {
	return client.New(cl.url, client.WithOperatorToken(cl.token))
}

// usageError is a command line that cannot run: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// exit prints err, if any, and maps it to the exit code. The token never
// appears in a message, whatever echoed it.
func (cl *cli) exit(err error) int {
	if err == nil {
		return exitOK
	}
	var msg string
	code := exitRuntime
	var ue *usageError
	var ce *client.Error
	switch {
	case errors.As(err, &ue):
		msg = ue.msg + "\nRun '" + cl.name + " --help' for usage."
		code = exitUsage
	case errors.As(err, &ce):
		msg = "the sandbox refused: " + ce.Error()
		if ce.RequestID != "" {
			msg += " [request " + ce.RequestID + "]"
		}
		if ce.Status == http.StatusUnauthorized || ce.Status == http.StatusForbidden {
			msg += "\n(the control plane needs the operator token, or a tenant's control token for that tenant's operations: --token or ARGUS_SANDBOX_OPERATOR_TOKEN)"
		}
	default:
		msg = err.Error()
	}
	if cl.token != "" {
		msg = strings.ReplaceAll(msg, cl.token, "[token]")
	}
	fmt.Fprintf(cl.stderr, "%s: %s\n", cl.name, msg)
	return code
}

// commandsUsage lists the commands for the top-level --help.
func commandsUsage() string {
	var b strings.Builder
	b.WriteString("Commands (a running sandbox, through its control plane):\n")
	for _, g := range groups() {
		fmt.Fprintf(&b, "  %-10s %s\n", g.name, g.summary)
	}
	b.WriteString("  healthcheck  exit 0 when the sandbox answers /healthz\n")
	b.WriteString("Run 'sandbox COMMAND --help' for a command's usage.\n")
	return b.String()
}

// commandNames are the commands, sorted, for the message about a stray
// argument.
func commandNames() []string {
	names := []string{"healthcheck"}
	for _, g := range groups() {
		names = append(names, g.name)
	}
	slices.Sort(names)
	return names
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
