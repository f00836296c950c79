package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"

	"github.com/knogin/argus-sandbox/conformance"
)

const usage = `usage: conformance run --target URL --secret whsec_... | --exec CMD [flags]
       conformance list [--scenarios DIR] [--run REGEX]
       conformance --help | --version`

// envHelp says what each variable an --exec consumer is given holds, by
// the names conformance.Env.Vars sets.
var envHelp = map[string]string{
	"ARGUS_WEBHOOK_SECRET": "the signing secret (whsec_...)",
	"HOST":                 "the address to listen on (127.0.0.1, or --listen-host, or --callback-host)",
	"PORT":                 "the port to listen on",
	"ARGUS_BASE_URL":       "the sandbox's base URL (/v1/oauth/token, /v1/graphql)",
	"ARGUS_CLIENT_ID":      "a client_credentials app with cases:read cases:write",
	"ARGUS_CLIENT_SECRET":  "the secret of ARGUS_CLIENT_ID",
	"ARGUS_TENANT":         "the run's tenant (acme; on a --sandbox, the fresh tenant's id)",
	"ARGUS_STATE_DIR":      "a directory that survives restarts within the run",
}

// writeHelp writes the usage, the flags, the environment of an --exec
// consumer and the exit codes.
func writeHelp(w io.Writer, fs *pflag.FlagSet) {
	var b strings.Builder
	b.WriteString(usage + "\n\nReplays webhook scenarios against a consumer and reports whether it is\nidempotent and retry-tolerant.\n\nFlags:\n")
	b.WriteString(fs.FlagUsages())
	b.WriteString("\nAn --exec consumer runs under sh -c, must listen on $HOST:$PORT, and is given:\n")
	for _, kv := range (conformance.Env{}).Vars("") {
		name, _, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "  %-22s %s\n", name, envHelp[name])
	}
	b.WriteString("\nRead from the environment: ARGUS_SANDBOX_OPERATOR_TOKEN (--operator-token),\nARGUS_SANDBOX_ADMIN_TOKEN (--admin-token), ARGUS_SANDBOX_CONTROL_TOKEN (--control-token),\nARGUS_CLIENT_SECRET (--client-secret), ARGUS_CONFORMANCE_CALLBACK_HOST (--callback-host),\nARGUS_CONFORMANCE_LISTEN_HOST (--listen-host).\n")
	b.WriteString("\nAgainst a --sandbox with the operator token alone, the run creates a tenant of its own\n(a copy of --tenant), runs there and deletes it at the end, also when interrupted.\n")
	b.WriteString("\nExit status: 0 no scenario failed, 1 a scenario failed (or, with --strict,\nwas unverified), 2 a usage or setup error.\n")
	_, _ = io.WriteString(w, b.String())
}

// version is the module version the binary was built from: a tag for
// `go install ...@v1.2.3`, "(devel)" for a build in the repository.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
