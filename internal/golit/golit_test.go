package golit_test

import (
	"errors"
	"fmt"
	"go/format"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/internal/golit"
)

type name string

type inner struct {
	N int
}

type record struct {
	Name   string
	Count  int
	Skip   bool
	Inner  *inner
	Tags   []string
	Attrs  map[string]any
	hidden int
}

type withFunc struct {
	F func()
}

// thisPkg is the import path of this test package, whose types the
// expected output spells unqualified.
var thisPkg = reflect.TypeFor[name]().PkgPath()

// iface returns x as a value standing in an interface (of kind Interface,
// even when x is nil).
func iface(x any) reflect.Value { return reflect.ValueOf(&x).Elem() }

// typed returns x as a value of its own type.
func typed(x any) reflect.Value { return reflect.ValueOf(x) }

func ptr[T any](x T) *T { return &x }

// gofmt formats the expression the Writer wrote, as it appears in a
// generated file.
func gofmt(t *testing.T, expr []byte) string {
	t.Helper()
	const prefix = "package p\n\nvar x = "
	out, err := format.Source([]byte(prefix + string(expr) + "\n"))
	if err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, expr)
	}
	return strings.TrimSuffix(strings.TrimPrefix(string(out), prefix), "\n")
}

func TestValue(t *testing.T) {
	tests := []struct {
		name    string
		v       reflect.Value
		typed   bool
		writer  func() *golit.Writer // nil: a Writer with Packages set for this package
		want    string
		wantErr string
	}{
		// Basic kinds, as field values (untyped constants).
		{name: "string", v: typed("a\"b\n"), want: `"a\"b\n"`},
		{name: "bool", v: typed(true), want: `true`},
		{name: "int", v: typed(-3), want: `-3`},
		{name: "int8", v: typed(int8(-8)), want: `-8`},
		{name: "int64", v: typed(int64(math.MaxInt64)), want: `9223372036854775807`},
		{name: "uint", v: typed(uint(7)), want: `7`},
		{name: "uint64", v: typed(uint64(math.MaxUint64)), want: `18446744073709551615`},
		{name: "float64", v: typed(1.5), want: `1.5`},
		{name: "float64 integral", v: typed(3.0), want: `3`},
		{name: "float32 shortest", v: typed(float32(0.1)), want: `0.1`},
		{name: "named string", v: typed(name("x")), want: `"x"`},

		// Standing in an interface: typed unless the literal's default
		// type is the value's.
		{name: "typed string", v: typed("s"), typed: true, want: `"s"`},
		{name: "typed bool", v: typed(false), typed: true, want: `false`},
		{name: "typed int", v: typed(3), typed: true, want: `3`},
		{name: "typed int8", v: typed(int8(3)), typed: true, want: `int8(3)`},
		{name: "typed uint64", v: typed(uint64(20)), typed: true, want: `uint64(20)`},
		{name: "typed float64", v: typed(3.0), typed: true, want: `float64(3)`},
		{name: "typed float32", v: typed(float32(0.5)), typed: true, want: `float32(0.5)`},
		{name: "typed named string", v: typed(name("x")), typed: true, want: `name("x")`},
		{name: "typed other package", v: typed(5 * time.Nanosecond), typed: true, want: `time.Duration(5)`},
		{
			name:   "typed qualified package",
			v:      typed(5 * time.Nanosecond),
			typed:  true,
			writer: func() *golit.Writer { return &golit.Writer{Packages: map[string]string{"time": "tm"}} },
			want:   `tm.Duration(5)`,
		},
		{name: "interface holding int", v: iface(3), want: `3`},
		{name: "interface holding int64", v: iface(int64(3)), want: `int64(3)`},
		{name: "interface holding float", v: iface(2.0), want: `float64(2)`},
		{
			name: "slice of any",
			v:    typed([]any{1, "a", true, 1.5, int64(2), nil, []any{uint8(1)}}),
			want: "[]any{\n\t1,\n\t\"a\",\n\ttrue,\n\tfloat64(1.5),\n\tint64(2),\n\tnil,\n\t[]any{\n\t\tuint8(1),\n\t},\n}",
		},

		// Nil cases.
		{name: "nil interface", v: iface(nil), want: `nil`},
		{name: "nil pointer", v: typed((*inner)(nil)), want: `nil`},
		{name: "nil slice", v: typed([]string(nil)), want: `nil`},
		{name: "nil map", v: typed(map[string]int(nil)), want: `nil`},
		{name: "empty slice", v: typed([]string{}), want: `[]string{}`},
		{name: "empty map", v: typed(map[string]int{}), want: `map[string]int{}`},

		// Composites.
		{
			name: "map sorted keys",
			v:    typed(map[name]int{"b": 2, "a": 1, "c": 3}),
			want: "map[name]int{\n\t\"a\": 1,\n\t\"b\": 2,\n\t\"c\": 3,\n}",
		},
		{
			name: "slice one element a line",
			v:    typed([]string{"a", "b"}),
			want: "[]string{\n\t\"a\",\n\t\"b\",\n}",
		},
		{
			name:   "inline slice",
			v:      typed([][]int{{1, 2}, {3}}),
			writer: func() *golit.Writer { return &golit.Writer{InlineSlices: true} },
			want:   "[][]int{[]int{1, 2}, []int{3}}",
		},
		{
			name: "struct of non-zero exported fields",
			v: typed(record{
				Name:  "r",
				Inner: &inner{N: 2},
				Tags:  []string{"t"},
				Attrs: map[string]any{"n": 1, "f": 0.5},
			}),
			want: "record{\n\tName: \"r\",\n\tInner: &inner{\n\t\tN: 2,\n\t},\n\tTags: []string{\n\t\t\"t\",\n\t},\n\tAttrs: map[string]any{\n\t\t\"f\": float64(0.5),\n\t\t\"n\": 1,\n\t},\n}",
		},
		{name: "zero struct", v: typed(inner{}), want: "inner{}"},
		{name: "pointer to struct", v: typed(&inner{N: 1}), want: "&inner{\n\tN: 1,\n}"},
		{name: "pointer to int", v: typed(ptr(3)), want: `new(3)`},
		{name: "pointer to uint64", v: typed(ptr(uint64(4))), want: `new(uint64(4))`},
		{name: "pointer to bool", v: typed(ptr(false)), want: `new(false)`},
		{name: "pointer to slice", v: typed(&[]int{1}), want: "&[]int{\n\t1,\n}"},
		{name: "pointer to map", v: typed(&map[string]bool{"k": true}), want: "&map[string]bool{\n\t\"k\": true,\n}"},

		// Hooks.
		{
			name: "field hook leaves out unexported fields",
			v:    typed(record{Count: 2, hidden: 1}),
			writer: func() *golit.Writer {
				return &golit.Writer{
					Packages: map[string]string{thisPkg: ""},
					Field:    func(v reflect.Value, i int) (bool, error) { return v.Type().Field(i).IsExported(), nil },
				}
			},
			want: "record{\n\tCount: 2,\n}",
		},
		{
			name: "special writes a value",
			v:    typed([]time.Time{time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)}),
			writer: func() *golit.Writer {
				return &golit.Writer{Special: func(w *golit.Writer, v reflect.Value, _ bool) (bool, error) {
					if tm, ok := v.Interface().(time.Time); ok {
						fmt.Fprintf(w, "time.Unix(%d, %d)", tm.Unix(), tm.Nanosecond())
						return true, nil
					}
					return false, nil
				}}
			},
			want: "[]time.Time{\n\ttime.Unix(1714979289, 10),\n}",
		},
		{
			name: "special refuses a value",
			v:    typed(record{Inner: &inner{N: 1}}),
			writer: func() *golit.Writer {
				return &golit.Writer{Special: func(_ *golit.Writer, v reflect.Value, _ bool) (bool, error) {
					if v.Kind() == reflect.Pointer {
						return true, errors.New("no pointers")
					}
					return false, nil
				}}
			},
			wantErr: "golit_test.record.Inner: no pointers",
		},

		// Errors.
		{name: "unexported field set", v: typed(record{hidden: 1}), wantErr: "record.hidden is set; a literal cannot set it"},
		{name: "NaN", v: typed(math.NaN()), wantErr: "non-finite number NaN"},
		{name: "+Inf", v: typed(math.Inf(1)), wantErr: "non-finite number +Inf"},
		{name: "-Inf float32", v: typed(float32(math.Inf(-1))), wantErr: "non-finite number -Inf"},
		{
			name:    "non-finite deep inside",
			v:       typed(record{Attrs: map[string]any{"x": []any{1, math.Inf(1)}}}),
			wantErr: `record.Attrs: ["x"]: [1]: non-finite number +Inf`,
		},
		{name: "map key not a string", v: typed(map[int]string{1: "a"}), wantErr: "unsupported map key type int"},
		{name: "array", v: typed([2]int{1, 2}), wantErr: "unsupported type [2]int"},
		{name: "channel", v: typed(make(chan int)), wantErr: "unsupported type chan int"},
		{name: "complex", v: typed(complex(1, 2)), wantErr: "unsupported type complex128"},
		{name: "function field", v: typed(withFunc{F: func() {}}), wantErr: "withFunc.F: unsupported type func()"},
		{name: "uintptr", v: iface(uintptr(1)), wantErr: "unsupported type uintptr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &golit.Writer{Packages: map[string]string{thisPkg: ""}}
			if tt.writer != nil {
				w = tt.writer()
			}
			err := w.Value(tt.v, tt.typed)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := gofmt(t, w.Bytes()); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestTypeName(t *testing.T) {
	w := &golit.Writer{Packages: map[string]string{thisPkg: "", "time": "tm"}}
	tests := []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[int](), "int"},
		{reflect.TypeFor[name](), "name"},
		{reflect.TypeFor[time.Month](), "tm.Month"},
		{reflect.TypeFor[strings.Builder](), "strings.Builder"},
		{reflect.TypeFor[any](), "any"},
		{reflect.TypeFor[error](), "error"},
		{reflect.TypeFor[map[string][]*inner](), "map[string][]*inner"},
		{reflect.TypeFor[*map[name]any](), "*map[name]any"},
	}
	for _, tt := range tests {
		if got := w.TypeName(tt.t); got != tt.want {
			t.Errorf("TypeName(%s) = %q, want %q", tt.t, got, tt.want)
		}
	}
}
