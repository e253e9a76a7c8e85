package config

import (
	"bytes"
	"encoding"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// RedactedLiteral is what WriteTOML prints for a secret that was written
// literally in the file instead of coming from a ${VAR}.
const RedactedLiteral = "<redacted>"

// WriteTOML writes the effective configuration as TOML, like "nginx -T":
// every default filled in, ${VAR} in ordinary values expanded, and each
// secret printed as the ${VAR} it came from (or RedactedLiteral when it was
// written literally), so that no secret value is ever printed and the
// output validates again in the same environment.
//
// It walks the structs by reflection, so a new key is printed without
// being listed here.
func (c *Config) WriteTOML(w io.Writer) error {
	p := &printer{cfg: c}
	if err := p.table(reflect.ValueOf(c).Elem(), ""); err != nil {
		return err
	}
	_, err := w.Write(bytes.TrimLeft(p.buf.Bytes(), "\n"))
	return err
}

// printer renders one Config; key paths match positions and rawValues
// ("route[0].path", "admin.users.admin").
type printer struct {
	cfg *Config
	buf bytes.Buffer
}

var (
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	secretType    = reflect.TypeFor[Secret]()
)

// table writes v's plain keys, then its sub-tables and arrays of tables,
// as TOML requires.
func (p *printer) table(v reflect.Value, key string) error {
	type field struct {
		tag string
		v   reflect.Value
	}
	var nested []field
	for tag, fv := range setFields(v) {
		if isTable(fv.Type()) {
			nested = append(nested, field{tag, fv})
			continue
		}
		s, err := p.value(fv, join(key, tag))
		if err != nil {
			return fmt.Errorf("print %s: %w", join(key, tag), err)
		}
		fmt.Fprintf(&p.buf, "%s = %s\n", quoteKey(tag), s)
	}
	for _, f := range nested {
		if err := p.nested(f.v, key, f.tag); err != nil {
			return err
		}
	}
	return nil
}

// nested writes a sub-table ([a.b]) or an array of tables ([[a.b]]).
func (p *printer) nested(fv reflect.Value, key, tag string) error {
	header := tableHeader(key, tag)
	switch fv.Kind() {
	case reflect.Pointer:
		if fv.IsNil() {
			return nil
		}
		fmt.Fprintf(&p.buf, "\n[%s]\n", header)
		return p.table(fv.Elem(), join(key, tag))
	case reflect.Slice:
		for i := range fv.Len() {
			fmt.Fprintf(&p.buf, "\n[[%s]]\n", header)
			if err := p.table(fv.Index(i), fmt.Sprintf("%s[%d]", join(key, tag), i)); err != nil {
				return err
			}
		}
		return nil
	default:
		fmt.Fprintf(&p.buf, "\n[%s]\n", header)
		return p.table(fv, join(key, tag))
	}
}

// tableHeader is the dotted TOML header of a table: the key path without
// array indexes ("route[0].health" is written [route.health] after its
// [[route]]).
func tableHeader(key, tag string) string {
	var parts []string
	for _, part := range strings.Split(stripIndexes(join(key, tag)), ".") {
		parts = append(parts, quoteKey(part))
	}
	return strings.Join(parts, ".")
}

// isTable reports whether a field of type t is printed as a table of its
// own: a struct, a pointer to one, or a slice of them, unless the type
// marshals itself as text.
func isTable(t reflect.Type) bool {
	if t.Implements(textMarshaler) {
		return false
	}
	switch t.Kind() {
	case reflect.Struct:
		return true
	case reflect.Pointer, reflect.Slice:
		e := t.Elem()
		return e.Kind() == reflect.Struct && !e.Implements(textMarshaler) && !reflect.PointerTo(e).Implements(textMarshaler)
	}
	return false
}

// value renders one value as TOML.
func (p *printer) value(v reflect.Value, key string) (string, error) {
	switch {
	case v.Type() == secretType:
		return scalar(p.secret(key, v.String()))
	case v.Kind() == reflect.Pointer:
		return p.value(v.Elem(), key)
	case v.Type().Implements(textMarshaler):
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return "", err
		}
		return scalar(string(b))
	case v.Kind() == reflect.Map:
		return p.inlineTable(v, key)
	case v.Kind() == reflect.Slice:
		items := make([]string, v.Len())
		for i := range v.Len() {
			s, err := p.value(v.Index(i), fmt.Sprintf("%s[%d]", key, i))
			if err != nil {
				return "", err
			}
			items[i] = s
		}
		return "[" + strings.Join(items, ", ") + "]", nil
	case v.Kind() == reflect.Struct:
		return p.inlineStruct(v, key)
	}
	return scalar(v.Interface())
}

// secret returns what is printed for a secret: the ${VAR} text it was
// written as, or RedactedLiteral for a literal value.
func (p *printer) secret(key, val string) string {
	if val == "" {
		return ""
	}
	if raw := p.cfg.rawValues[key]; strings.Contains(raw, "${") {
		return raw
	}
	return RedactedLiteral
}

// inlineTable renders a map as { k = v, ... } in key order.
func (p *printer) inlineTable(v reflect.Value, key string) (string, error) {
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	items := make([]string, len(keys))
	for i, k := range keys {
		s, err := p.value(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())), join(key, k))
		if err != nil {
			return "", err
		}
		items[i] = quoteKey(k) + " = " + s
	}
	return "{ " + strings.Join(items, ", ") + " }", nil
}

// inlineStruct renders a struct inside an array ({ cert = "...", key = "..." }).
func (p *printer) inlineStruct(v reflect.Value, key string) (string, error) {
	var items []string
	for tag, fv := range setFields(v) {
		s, err := p.value(fv, join(key, tag))
		if err != nil {
			return "", err
		}
		items = append(items, quoteKey(tag)+" = "+s)
	}
	return "{ " + strings.Join(items, ", ") + " }", nil
}

// scalar renders a string, number or bool with go-toml, which knows
// TOML's quoting rules.
func scalar(v any) (string, error) {
	b, err := toml.Marshal(map[string]any{"v": v})
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimPrefix(s, "v = "), nil
}

// quoteKey quotes a key that is not a bare TOML key.
func quoteKey(k string) string {
	for _, c := range k {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return strconv.Quote(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}
