// Package golit writes Go values as Go source: composite literals of
// structs, string-keyed maps and slices, and constants of the basic kinds.
// The code generators use it to compile data the sandbox would otherwise
// decode at start-up (OpenAPI documents, fixtures) into functions that build
// it. Output is meant for go/format: layout within a line is left to gofmt,
// line breaks are chosen here.
package golit

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Writer writes Go expressions into its buffer. Set its fields before the
// first Value; the zero Writer spells types by their reflect names.
type Writer struct {
	// Packages maps the import path of a package whose named types appear
	// in the output to the name that qualifies them in the generated
	// package; "" means the generated package itself (no qualifier).
	// Named types of other packages are spelt as reflect does
	// ("time.Time").
	Packages map[string]string
	// Special, when set, is offered every value before the Writer writes
	// it; it writes the values it handles itself (through the Writer) and
	// returns true, or returns false to leave v to the Writer. It is the
	// place for a generator's own cases: types built by helpers, pointer
	// checks, values spelt as calls.
	Special func(w *Writer, v reflect.Value, typed bool) (bool, error)
	// Field, when set, decides whether the non-zero field i of struct v is
	// written; an error stops the writing. Without it the exported fields
	// are written and a set unexported field is an error, since a literal
	// cannot set it.
	Field func(v reflect.Value, i int) (bool, error)
	// InlineSlices writes the elements of a slice literal on one line;
	// otherwise each element takes its own line, as struct fields and map
	// entries always do.
	InlineSlices bool

	b bytes.Buffer
}

var _ io.Writer = (*Writer)(nil)

// Bytes returns what the Writer has written so far.
func (w *Writer) Bytes() []byte { return w.b.Bytes() }

// Write appends p to the output as it is, so that a special case can be
// written with fmt.Fprintf.
func (w *Writer) Write(p []byte) (int, error) { return w.b.Write(p) }

// WriteString appends s to the output as it is.
func (w *Writer) WriteString(s string) { w.b.WriteString(s) }

// TypeName spells t in the generated package.
func (w *Writer) TypeName(t reflect.Type) string {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name()
		}
		if q, ok := w.Packages[t.PkgPath()]; ok {
			if q == "" {
				return t.Name()
			}
			return q + "." + t.Name()
		}
		return t.String()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + w.TypeName(t.Elem())
	case reflect.Slice:
		return "[]" + w.TypeName(t.Elem())
	case reflect.Map:
		return "map[" + w.TypeName(t.Key()) + "]" + w.TypeName(t.Elem())
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "any"
		}
	}
	return t.String()
}

// Value writes v as a Go expression. typed asks for an expression of v's
// own type, for a value that stands in an interface: an untyped constant
// there would take its default type.
//
// Nil pointers, interfaces, maps and slices are written as nil. A pointer to
// a struct, slice or map is written as the address of its literal, a
// pointer to anything else as new(value). Structs list their non-zero
// fields (see Field), maps their entries in key order; map keys must be
// strings. Floats must be finite. Other kinds (arrays, channels, functions,
// complex numbers...) are an error.
func (w *Writer) Value(v reflect.Value, typed bool) error {
	if w.Special != nil {
		if done, err := w.Special(w, v, typed); done || err != nil {
			return err
		}
	}
	t := v.Type()
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			w.b.WriteString("nil")
			return nil
		}
		switch v.Elem().Kind() {
		case reflect.Struct, reflect.Slice, reflect.Map:
			w.b.WriteString("&")
			return w.Value(v.Elem(), true)
		}
		w.b.WriteString("new(")
		if err := w.Value(v.Elem(), true); err != nil {
			return err
		}
		w.b.WriteString(")")
		return nil
	case reflect.Interface:
		if v.IsNil() {
			w.b.WriteString("nil")
			return nil
		}
		return w.Value(v.Elem(), true)
	case reflect.Struct:
		return w.strct(v)
	case reflect.Map:
		return w.mp(v)
	case reflect.Slice:
		return w.slice(v)
	}
	lit, err := basic(v)
	if err != nil {
		return err
	}
	// An untyped constant takes the type of its context; in an interface
	// it takes its default type, so the type is spelt out unless the
	// literal's default type is v's (strings, bools, ints; a float may be
	// written without a point, so its type is always spelt).
	if typed {
		switch t {
		case reflect.TypeFor[string](), reflect.TypeFor[bool](), reflect.TypeFor[int]():
		default:
			lit = w.TypeName(t) + "(" + lit + ")"
		}
	}
	w.b.WriteString(lit)
	return nil
}

// strct writes a literal of the struct v; an error in a field is prefixed
// with the field's name.
func (w *Writer) strct(v reflect.Value) error {
	t := v.Type()
	w.b.WriteString(w.TypeName(t) + "{")
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if fv.IsZero() {
			continue
		}
		if w.Field != nil {
			ok, err := w.Field(v, i)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		} else if !f.IsExported() {
			return fmt.Errorf("%s.%s is set; a literal cannot set it", w.TypeName(t), f.Name)
		}
		w.b.WriteString("\n" + f.Name + ": ")
		if err := w.Value(fv, false); err != nil {
			return fmt.Errorf("%s.%s: %w", w.TypeName(t), f.Name, err)
		}
		w.b.WriteString(",")
	}
	w.b.WriteString("\n}")
	return nil
}

// mp writes a literal of the string-keyed map v, its keys sorted so the
// output does not depend on map order.
func (w *Writer) mp(v reflect.Value) error {
	t := v.Type()
	if v.IsNil() {
		w.b.WriteString("nil")
		return nil
	}
	if t.Key().Kind() != reflect.String {
		return fmt.Errorf("unsupported map key type %s", t.Key())
	}
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	w.b.WriteString(w.TypeName(t) + "{")
	for _, k := range keys {
		w.b.WriteString("\n" + strconv.Quote(k.String()) + ": ")
		if err := w.Value(v.MapIndex(k), false); err != nil {
			return fmt.Errorf("[%q]: %w", k.String(), err)
		}
		w.b.WriteString(",")
	}
	if len(keys) > 0 {
		w.b.WriteString("\n")
	}
	w.b.WriteString("}")
	return nil
}

// slice writes a literal of the slice v.
func (w *Writer) slice(v reflect.Value) error {
	if v.IsNil() {
		w.b.WriteString("nil")
		return nil
	}
	w.b.WriteString(w.TypeName(v.Type()) + "{")
	for i := range v.Len() {
		if !w.InlineSlices {
			w.b.WriteString("\n")
		}
		if err := w.Value(v.Index(i), false); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
		if w.InlineSlices {
			w.b.WriteString(", ")
		} else {
			w.b.WriteString(",")
		}
	}
	if !w.InlineSlices && v.Len() > 0 {
		w.b.WriteString("\n")
	}
	w.b.WriteString("}")
	return nil
}

// basic returns the literal of a value of a basic kind.
func basic(v reflect.Value) (string, error) {
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String()), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return "", fmt.Errorf("non-finite number %v", f)
		}
		// The shortest form that reads back as the same value of v's size.
		return strconv.FormatFloat(f, 'g', -1, v.Type().Bits()), nil
	}
	return "", fmt.Errorf("unsupported type %s", v.Type())
}
