package sandboxtest_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeFaultRuleIsTheExample: the fault rule the README's sandboxtest
// section shows is the one ExampleSandbox_AddFault compiles and runs, so
// the README's code works as written.
func TestReadmeFaultRuleIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## In Go tests: `sandboxtest`")
	if !ok {
		t.Fatal("the README has no sandboxtest section")
	}
	_, block, _ := strings.Cut(section, "```go\n")
	block, _, _ = strings.Cut(block, "```")
	start := strings.Index(block, "sb.AddFault(")
	if start < 0 {
		t.Fatal("the README's sandboxtest example adds no fault rule")
	}
	stmt := statement(block[start:])
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(squeeze(string(example)), squeeze(stmt)) {
		t.Errorf("the README's\n%s\nis not what ExampleSandbox_AddFault runs", stmt)
	}
}

// statement returns the call that starts src, up to its closing
// parenthesis.
func statement(src string) string {
	depth := 0
	for i, r := range src {
		switch r {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return src[:i+1]
			}
		}
	}
	return src
}

// squeeze drops all white space, so line breaks and indentation do not
// count.
func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }
