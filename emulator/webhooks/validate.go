package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/knogin/argus-sandbox/internal/schemaissue"
)

// InvalidDataError is returned by Trigger and TriggerN when the overrides
// make the event's data break its topic's schema in the catalog
// (fixtures/events.yaml): every event the sandbox sends is one the
// platform could send.
type InvalidDataError struct {
	Topic string
	// Issues name the offending fields by JSON pointer inside data.
	Issues []schemaissue.Issue
}

// DataIssues returns the issues; consumers that do not import this
// package match the error by this method.
func (e *InvalidDataError) DataIssues() []schemaissue.Issue { return e.Issues }

func (e *InvalidDataError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the data of %s does not match its schema:", e.Topic)
	for _, is := range e.Issues {
		fmt.Fprintf(&b, " %s: %s;", is.Field, is.Reason)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// schemas compiles the catalog's data schemas on first use: only
// triggered events are checked, and most runs never trigger one.
type schemas struct {
	once   sync.Once
	byType map[string]*jsonschema.Schema
	err    error
}

func (c *catalog) schema(topic string) (*jsonschema.Schema, error) {
	c.compiled.once.Do(func() {
		comp := jsonschema.NewCompiler()
		c.compiled.byType = make(map[string]*jsonschema.Schema, len(c.types))
		for _, t := range c.types {
			if t.Schema == nil {
				continue
			}
			doc, err := jsonDocument(t.Schema)
			if err == nil {
				err = comp.AddResource(t.Type+".json", doc)
			}
			var sch *jsonschema.Schema
			if err == nil {
				sch, err = comp.Compile(t.Type + ".json")
			}
			if err != nil {
				c.compiled.err = fmt.Errorf("event catalog: schema of %s: %w", t.Type, err)
				return
			}
			c.compiled.byType[t.Type] = sch
		}
	})
	return c.compiled.byType[topic], c.compiled.err
}

// validate checks encoded event data against its topic's schema.
func (c *catalog) validate(topic string, raw json.RawMessage) error {
	sch, err := c.schema(topic)
	if err != nil || sch == nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	var ve *jsonschema.ValidationError
	if err := sch.Validate(inst); errors.As(err, &ve) {
		return &InvalidDataError{Topic: topic, Issues: schemaissue.FromValidation(ve)}
	} else if err != nil {
		return err
	}
	return nil
}

// jsonDocument turns a decoded YAML value into the JSON document the
// schema compiler reads (numbers as json.Number).
func jsonDocument(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(raw))
}
