package graphql

import (
	"fmt"
)

// Resolvers read their coerced arguments (see coerce.go for the Go types)
// only through the functions below. A nullable argument may be absent or
// null, an explicit null overriding the SDL default (spec §6.4.1): no read
// asserts a type, so no argument, null or otherwise, can panic a resolver.

// arg returns the argument name as a T; ok is false when it is absent, null
// or (which coercion rules out) of another type.
func arg[T any](args map[string]any, name string) (v T, ok bool) {
	v, ok = args[name].(T)
	return v, ok
}

// requiredArg returns the non-null argument name as a T. Coercion refuses
// a request without it; the error is the answer should that ever change.
func requiredArg[T any](args map[string]any, name string) (T, error) {
	v, ok := arg[T](args, name)
	if !ok {
		return v, errInput(name + " is required")
	}
	return v, nil
}

// stringsArg returns a list of strings; ok is false when the argument is
// absent or null, or an element is not a string.
func stringsArg(args map[string]any, name string) (out []string, ok bool) {
	list, ok := arg[[]any](args, name)
	if !ok {
		return nil, false
	}
	out = make([]string, len(list))
	for i, v := range list {
		if out[i], ok = v.(string); !ok {
			return nil, false
		}
	}
	return out, true
}

// pageSize returns the first argument of a connection: null, like an
// absent first, means defaultPage.
func pageSize(args map[string]any) (int, error) {
	first, ok := arg[int64](args, "first")
	if !ok {
		return defaultPage, nil
	}
	if first < 1 || first > maxPage {
		return 0, errInput(fmt.Sprintf("first must be between 1 and %d", maxPage))
	}
	return int(first), nil
}
