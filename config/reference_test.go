package config_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/gitcourse/edge/config"
)

// referencePath is the generated configuration reference. It is rebuilt
// from the doc comments and toml tags of config.go; this test fails when
// the file drifts from the structs (run with -update to rewrite it).
const referencePath = "../docs/config-reference.md"

func TestConfigReferenceUpToDate(t *testing.T) {
	got := generateReference(t)
	if *update {
		if err := os.WriteFile(referencePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("read %s: %v (run: go test ./config -run TestConfigReferenceUpToDate -update)", referencePath, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with config/config.go (run: go test ./config -run TestConfigReferenceUpToDate -update)", referencePath)
	}
}

// generateReference renders one table per TOML table, walking config.Config
// by reflection for the key names and types, and config.go's AST for the
// comments.
func generateReference(t *testing.T) []byte {
	t.Helper()
	comments := fieldComments(t, "config.go")
	maps.Copy(comments, fieldComments(t, "limits.go"))
	maps.Copy(comments, fieldComments(t, "logs.go"))
	var b bytes.Buffer
	b.WriteString("# Configuration reference (generated)\n\n")
	b.WriteString("Generated from the structs and doc comments of `config/config.go` by\n")
	b.WriteString("`go test ./config -run TestConfigReferenceUpToDate -update`; the test fails\n")
	b.WriteString("when this file and the code drift apart. The narrative guide with examples\n")
	b.WriteString("is [configuration.md](configuration.md).\n")
	writeTables(&b, reflect.TypeOf(config.Config{}), "", comments)
	return b.Bytes()
}

// writeTables writes the table for typ (named by prefix) and recurses into
// nested tables.
func writeTables(b *bytes.Buffer, typ reflect.Type, prefix string, comments map[string]string) {
	type nested struct {
		key string
		typ reflect.Type
		arr bool
	}
	var rows []string
	var subs []nested
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		key := strings.Split(f.Tag.Get("toml"), ",")[0]
		if key == "" || key == "-" || !f.IsExported() {
			continue
		}
		ft, arr := f.Type, false
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft, arr = ft.Elem(), true
		}
		doc := comments[typ.Name()+"."+f.Name]
		if ft.Kind() == reflect.Struct && !isScalar(ft) {
			subs = append(subs, nested{key, ft, arr})
			if prefix != "" {
				rows = append(rows, fmt.Sprintf("| `%s` | table | %s |", key, doc))
			}
			continue
		}
		rows = append(rows, fmt.Sprintf("| `%s` | %s | %s |", key, typeName(f.Type), doc))
	}
	if len(rows) > 0 {
		heading := "[" + prefix + "]"
		if strings.Count(prefix, "[") == 0 && strings.Contains(prefix, ".") && arrayParent(prefix) {
			heading = prefix + " (inline table)"
		}
		fmt.Fprintf(b, "\n## `%s`\n\n| key | type | meaning |\n|---|---|---|\n%s\n", heading, strings.Join(rows, "\n"))
	}
	for _, s := range subs {
		name := s.key
		if prefix != "" {
			name = strings.Trim(prefix, "[]") + "." + s.key
		}
		if s.arr {
			name = "[" + name + "]"
		}
		writeTables(b, s.typ, name, comments)
	}
}

// arrayParent reports whether a dotted table name lives inside an array
// of tables ([[route]], [[check]]), where it is written as an inline table.
func arrayParent(name string) bool {
	head, _, _ := strings.Cut(name, ".")
	return head == "route" || head == "check"
}

func isScalar(t reflect.Type) bool {
	return t == reflect.TypeOf(config.Duration{}) || t == reflect.TypeOf(config.ByteSize{}) || t == reflect.TypeOf(config.Rate{}) ||
		t == reflect.TypeOf(config.Schedule{}) || t == reflect.TypeOf(config.Recipient{})
}

func typeName(t reflect.Type) string {
	switch {
	case t == reflect.TypeOf(config.Schedule{}), t == reflect.TypeOf(config.Recipient{}):
		return "string"
	case t == reflect.TypeOf(config.Duration{}):
		return "duration"
	case t == reflect.TypeOf(config.ByteSize{}):
		return "size"
	case t == reflect.TypeOf(config.Rate{}):
		return "rate (N/s, N/m, N/h)"
	case t == reflect.TypeOf(config.Secret("")):
		return "string (secret, from ${VAR})"
	case t.Kind() == reflect.Pointer:
		return typeName(t.Elem())
	case t.Kind() == reflect.Slice:
		return "list of " + typeName(t.Elem())
	case t.Kind() == reflect.Map:
		return "table of " + typeName(t.Elem())
	case t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64:
		return "integer"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Struct:
		return "inline table"
	}
	return t.String()
}

// fieldComments maps "Struct.Field" to its doc comment on one line.
func fieldComments(t *testing.T, file string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return true
		}
		for _, fld := range st.Fields.List {
			for _, name := range fld.Names {
				doc := strings.Join(strings.Fields(fld.Doc.Text()), " ")
				doc = strings.TrimPrefix(doc, name.Name+" ")
				out[ts.Name.Name+"."+name.Name] = strings.ReplaceAll(doc, "|", "\\|")
			}
		}
		return false
	})
	return out
}
