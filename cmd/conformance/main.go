// Command conformance replays webhook scenarios against an integrator's
// consumer and reports whether it is idempotent and retry-tolerant.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "usage: conformance run --target URL --secret whsec_... | --exec CMD")
	os.Exit(2)
}
