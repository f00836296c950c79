package graphql

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"

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
	return &prepared{doc: doc}
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

// documentCache keeps prepared public documents by query text: parsing and
// validation depend only on the text and the schema, and integrations send
// the same few documents again and again.
type documentCache struct {
	mu   sync.RWMutex
	max  int
	docs map[string]*prepared
}

func newDocumentCache(max int) *documentCache {
	return &documentCache{max: max, docs: map[string]*prepared{}}
}

func (c *documentCache) get(query string, build func() *prepared) *prepared {
	c.mu.RLock()
	p, ok := c.docs[query]
	c.mu.RUnlock()
	if ok {
		return p
	}
	p = build()
	c.mu.Lock()
	if len(c.docs) >= c.max { // crude bound: start afresh rather than track recency
		c.docs = map[string]*prepared{}
	}
	c.docs[query] = p
	c.mu.Unlock()
	return p
}
