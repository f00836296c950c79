package graphql

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// Schema files of specs/.
const (
	publicSchemaFile  = "schema.graphql"
	partnerSchemaFile = "schema.partner.graphql"
)

// loadSchemas loads the public schema and the partner schema (the public
// one extended by schema.partner.graphql).
func loadSchemas(specs fs.FS) (public, partner *ast.Schema, err error) {
	pub, err := fs.ReadFile(specs, publicSchemaFile)
	if err != nil {
		return nil, nil, fmt.Errorf("graphql: %w", err)
	}
	ext, err := fs.ReadFile(specs, partnerSchemaFile)
	if err != nil {
		return nil, nil, fmt.Errorf("graphql: %w", err)
	}
	pubSrc := &ast.Source{Name: publicSchemaFile, Input: string(pub)}
	if public, err = gqlparser.LoadSchema(pubSrc); err != nil {
		return nil, nil, fmt.Errorf("graphql: %s: %w", publicSchemaFile, err)
	}
	if partner, err = gqlparser.LoadSchema(pubSrc, &ast.Source{Name: partnerSchemaFile, Input: string(ext)}); err != nil {
		return nil, nil, fmt.Errorf("graphql: %s: %w", partnerSchemaFile, err)
	}
	return public, partner, nil
}

// validationRules are the spec's rules (§5) with every rule that would
// suggest names ("Did you mean ...?") swapped for its variant without
// suggestions: suggestions would let a client enumerate the schema.
func validationRules() *rules.Rules {
	r := rules.NewDefaultRules()
	for _, swap := range []struct {
		old  string
		rule validator.Rule
	}{
		{rules.FieldsOnCorrectTypeRule.Name, rules.FieldsOnCorrectTypeRuleWithoutSuggestions},
		{rules.KnownArgumentNamesRule.Name, rules.KnownArgumentNamesRuleWithoutSuggestions},
		{rules.KnownTypeNamesRule.Name, rules.KnownTypeNamesRuleWithoutSuggestions},
		{rules.ValuesOfCorrectTypeRule.Name, rules.ValuesOfCorrectTypeRuleWithoutSuggestions},
		{rules.ScalarLeafsRule.Name, rules.ScalarLeafsRuleWithoutSuggestions},
	} {
		r.RemoveRule(swap.old)
		r.AddRule(swap.rule.Name, swap.rule.RuleFunc)
	}
	return r
}

var rulesNoSuggestions = validationRules()

// expectingType matches the VariablesInAllowedPosition message.
var expectingType = regexp.MustCompile(`^(Variable "\$[_A-Za-z0-9]+" of type "[^"]+") used in position expecting type "[^"]+"\.$`)

// prepared is a parsed and validated document, or the errors that refused
// it. Both are immutable and shared between requests.
type prepared struct {
	doc    *ast.QueryDocument
	errors []*gqlError
	// args holds the coerced arguments of the fields whose arguments use
	// no variable, keyed by the field as selected on its object type (see
	// execution.arguments): they are the same for every request.
	args map[*ast.Field]map[string]any
	// measures holds what the limits look at for the operations whose
	// measure depends on no variable (see staticMeasures).
	measures map[*ast.OperationDefinition]measure
}

// prepare checks the size, parses with the token limit, refuses
// introspection and validates against schema (spec §6.1 steps before
// execution).
func (s *Service) prepare(schema *ast.Schema, query string) *prepared {
	if len(query) > s.limits.MaxDocumentBytes {
		return &prepared{errors: []*gqlError{tooComplex("document", s.limits.MaxDocumentBytes,
			fmt.Sprintf("the document is larger than %d bytes", s.limits.MaxDocumentBytes))}}
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, s.limits.MaxTokens)
	if err != nil {
		var ge *gqlerror.Error
		if !errors.As(err, &ge) {
			return &prepared{errors: []*gqlError{newError(CodeParseFailed, "the document could not be parsed")}}
		}
		if strings.HasPrefix(ge.Message, "exceeded token limit") {
			return &prepared{errors: []*gqlError{tooComplex("tokens", s.limits.MaxTokens,
				fmt.Sprintf("the document has more than %d tokens", s.limits.MaxTokens))}}
		}
		return &prepared{errors: []*gqlError{fromGQLParser(ge, CodeParseFailed)}}
	}
	if pos := findIntrospection(doc); pos != nil {
		return &prepared{errors: []*gqlError{newError(CodeValidationFailed,
			"introspection is disabled: __schema and __type cannot be queried; the schema is published as SDL").at(pos)}}
	}
	if errs := validator.ValidateWithRules(schema, doc, rulesNoSuggestions); len(errs) > 0 {
		out := make([]*gqlError, 0, len(errs))
		for _, e := range errs {
			ge := fromGQLParser(e, CodeValidationFailed)
			if m := expectingType.FindStringSubmatch(e.Message); m != nil {
				// The expected type would name the argument's type,
				// correctly spelled: as good as a suggestion.
				ge.Message = m[1] + " cannot be used in this position."
			}
			out = append(out, ge)
		}
		return &prepared{errors: out}
	}
	args := constantArguments(schema, doc)
	return &prepared{doc: doc, args: args, measures: staticMeasures(schema, doc, args)}
}

// constantArguments coerces once the arguments of the fields that use no
// variable (literals and defaults only). A field whose arguments fail to
// coerce is left out so that the error is reported when it executes.
func constantArguments(schema *ast.Schema, doc *ast.QueryDocument) map[*ast.Field]map[string]any {
	out := map[*ast.Field]map[string]any{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if def := s.Definition; def != nil && len(def.Arguments) > 0 && !usesVariables(s.Arguments) {
					if args, err := coerceArguments(schema, def.Arguments, s.Arguments, nil); err == nil {
						out[s] = args
					}
				}
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			}
		}
	}
	for _, op := range doc.Operations {
		walk(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		walk(f.SelectionSet)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// usesVariables reports whether any argument value holds a variable, at
// any depth of lists and input objects.
func usesVariables(args ast.ArgumentList) bool {
	var uses func(v *ast.Value) bool
	uses = func(v *ast.Value) bool {
		if v == nil {
			return false
		}
		if v.Kind == ast.Variable {
			return true
		}
		for _, ch := range v.Children {
			if uses(ch.Value) {
				return true
			}
		}
		return false
	}
	for _, a := range args {
		if uses(a.Value) {
			return true
		}
	}
	return false
}

// findIntrospection returns the position of the first __schema or __type
// field anywhere in the document, fragments included.
func findIntrospection(doc *ast.QueryDocument) *ast.Position {
	var walk func(ast.SelectionSet) *ast.Position
	walk = func(set ast.SelectionSet) *ast.Position {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if s.Name == "__schema" || s.Name == "__type" {
					return s.Position
				}
				if p := walk(s.SelectionSet); p != nil {
					return p
				}
			case *ast.InlineFragment:
				if p := walk(s.SelectionSet); p != nil {
					return p
				}
			}
		}
		return nil
	}
	for _, op := range doc.Operations {
		if p := walk(op.SelectionSet); p != nil {
			return p
		}
	}
	for _, f := range doc.Fragments {
		if p := walk(f.SelectionSet); p != nil {
			return p
		}
	}
	return nil
}

// documentCache keeps prepared public documents by query text, so that the
// documents integrations send again and again skip lexing, parsing and
// validation.
//
// The text alone is the key: what prepare does depends only on the text,
// the public schema and the service's limits, all fixed for a Service. The
// caller plays no part (scopes are checked per field during execution;
// bundles are persisted documents prepared at start-up against the partner
// schema), and a document that was refused keeps its errors, so a cached
// answer is the one prepare would give again. Limits that depend on
// variables (cost) are checked per request after the cache.
//
// The cache is bounded both in entries and in bytes of query text; when
// full it evicts with the CLOCK (second chance) algorithm: a hit only sets
// a flag under the read lock, so concurrent hits do not contend on a
// recency list, and documents sent once leave before those sent often.
type documentCache struct {
	mu       sync.RWMutex
	maxDocs  int
	maxBytes int
	bytes    int                   // query text held, at most maxBytes
	index    map[string]*cachedDoc // by query text
	ring     []*cachedDoc          // the clock; order is insertion, roughly
	hand     int                   // next eviction candidate in ring
}

type cachedDoc struct {
	query string
	prep  *prepared
	used  atomic.Bool // hit since the hand last passed
}

// newDocumentCache returns a cache of at most maxDocs documents holding at
// most maxBytes of query text; longer queries are never cached.
func newDocumentCache(maxDocs, maxBytes int) *documentCache {
	return &documentCache{maxDocs: max(maxDocs, 1), maxBytes: maxBytes, index: map[string]*cachedDoc{}}
}

// get returns the prepared document of query, calling build on a miss. Two
// concurrent misses may both build; the first stored is kept.
func (c *documentCache) get(query string, build func() *prepared) *prepared {
	c.mu.RLock()
	d, ok := c.index[query]
	c.mu.RUnlock()
	if ok {
		d.used.Store(true)
		return d.prep
	}
	p := build()
	c.add(query, p)
	return p
}

func (c *documentCache) add(query string, p *prepared) {
	if len(query) > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.index[query]; ok {
		return
	}
	for len(c.ring) >= c.maxDocs || c.bytes+len(query) > c.maxBytes {
		c.evict()
	}
	d := &cachedDoc{query: query, prep: p}
	c.index[query] = d
	c.ring = append(c.ring, d)
	c.bytes += len(query)
}

// evict removes one document: the first at or after the hand not used
// since the hand last passed it, clearing the flags it passes. One turn of
// the clock clears every flag, so it always finds one (c.ring is not
// empty when called: add only evicts while documents are held).
func (c *documentCache) evict() {
	for {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		d := c.ring[c.hand]
		if d.used.Swap(false) {
			c.hand++
			continue
		}
		last := len(c.ring) - 1
		c.ring[c.hand] = c.ring[last]
		c.ring[last] = nil
		c.ring = c.ring[:last]
		delete(c.index, d.query)
		c.bytes -= len(d.query)
		return
	}
}

// size returns the number of documents held.
func (c *documentCache) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.ring)
}

// Bounds of the document cache. A valid prepared document takes about 30
// times its text in memory (4.4 KB for the 150-byte case query: the AST
// with positions and resolved definitions), up to about 80 times for a
// document of one-token fields; 64 KiB of text thus holds hundreds of
// typical documents in 2-5 MB at most. Refused documents keep only their
// errors.
const (
	docCacheEntries = 256
	docCacheBytes   = 64 << 10
)
