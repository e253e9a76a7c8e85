package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// DefaultPath is the configuration file used when neither -config nor
// $EDGE_CONFIG names one.
const DefaultPath = "/etc/edge/edge.toml"

// maxFileSize bounds the configuration file; a real one is a few KB.
const maxFileSize = 1 << 20

// LookupFunc reads an environment variable, like os.LookupEnv.
type LookupFunc func(string) (string, bool)

// Load reads, expands, defaults and validates the file at path, using the
// process environment for ${VAR}. When the file could be read, the error,
// when not nil, is an *Errors.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open config: %w (fix: check -config or $EDGE_CONFIG)", err)
	}
	defer f.Close()
	cfg, perr := Parse(f, path, os.LookupEnv)
	if cfg == nil {
		return nil, perr
	}
	verr := cfg.Validate()
	if perr == nil && verr == nil {
		return cfg, nil
	}
	all := &Errors{File: path}
	for _, err := range []error{perr, verr} {
		var e *Errors
		if errors.As(err, &e) {
			all.List = append(all.List, e.List...)
		}
	}
	return nil, all.orNil()
}

// Parse decodes TOML from r, reports unknown keys, expands ${VAR} with
// lookup and applies defaults. It does not validate values: call Validate.
// Errors are returned together as an *Errors. When the document decoded
// (only unknown keys or missing variables were found) the partial config is
// returned with the error, so that Validate can report the rest.
func Parse(r io.Reader, filename string, lookup LookupFunc) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", filename, err)
	}
	errs := &Errors{File: filename}
	if len(data) > maxFileSize {
		errs.add(0, "", errors.New("file larger than 1 MiB: is this the right file?"))
		return nil, errs
	}
	pos, line, err := indexPositions(data)
	if err != nil {
		errs.add(line, "", fmt.Errorf("invalid TOML: %w", err))
		return nil, errs
	}
	cfg := &Config{File: filename, pos: pos}
	dec := toml.NewDecoder(bytes.NewReader(data))
	// Unknown keys are found from the key index: case-sensitively (the
	// decoder would take "HTTPS" for "https"), with indexed key paths, and
	// in linear time (the decoder's own report costs a pass over the whole
	// file per key). The decoder's strict mode stays as a backstop.
	switch unknownKeys(pos, errs) {
	case 0:
		dec.DisallowUnknownFields()
	case tooManyUnknown:
		return nil, errs.orNil()
	}
	if err := dec.Decode(cfg); err != nil {
		if !decodeErrors(err, pos, errs) {
			return nil, errs
		}
	}
	expandAll(cfg, lookup, errs)
	cfg.applyDefaults()
	return cfg, errs.orNil()
}

var errUnknownKey = errors.New("unknown key (fix: check the spelling against docs/configuration.md)")

// maxUnknownKeys bounds the unknown keys reported: a file with more is not
// an edge configuration, and decoding it would take long (the decoder's
// duplicate-key check is quadratic in the keys of one table).
const maxUnknownKeys = 100

// tooManyUnknown is what unknownKeys returns beyond maxUnknownKeys.
const tooManyUnknown = -1

// unknownKeys adds a problem for every key in pos that no field of Config
// takes, each at the first line it appears on, and returns how many there
// were, or tooManyUnknown. A key below a value the decoder cannot take (a
// table where a string belongs) is left for the decoder to report.
func unknownKeys(pos positions, errs *Errors) int {
	first := map[string]int{}
	for key, line := range pos {
		if u := unknownPrefix(reflect.TypeFor[Config](), key); u != "" {
			if l, ok := first[u]; !ok || line < l {
				first[u] = line
			}
		}
	}
	keys := make([]string, 0, len(first))
	for key := range first {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool {
		if first[keys[i]] != first[keys[j]] {
			return first[keys[i]] < first[keys[j]]
		}
		return keys[i] < keys[j]
	})
	for i, key := range keys {
		if i == maxUnknownKeys {
			errs.add(first[key], "", fmt.Errorf("%d more unknown keys from here on: is this edge's configuration file?", len(keys)-i))
			return tooManyUnknown
		}
		errs.add(first[key], key, unknownKeyError(key))
	}
	return len(keys)
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// unknownPrefix returns the part of key up to its first segment that t has
// no field for, or "" when every segment is known.
func unknownPrefix(t reflect.Type, key string) string {
	prefix := ""
	for rest := key; rest != ""; {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct && t.Kind() != reflect.Map && t.Kind() != reflect.Slice ||
			reflect.PointerTo(t).Implements(textUnmarshaler) {
			return "" // a value: anything below it is a type error
		}
		if rest[0] == '[' {
			end := strings.IndexByte(rest, ']')
			if end < 0 || t.Kind() != reflect.Slice {
				return ""
			}
			prefix, rest, t = prefix+rest[:end+1], rest[end+1:], t.Elem()
			continue
		}
		rest = strings.TrimPrefix(rest, ".")
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			end = len(rest)
		}
		name := rest[:end]
		prefix, rest = join(prefix, name), rest[end:]
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			f, ok := fieldByTag(t, name)
			if !ok {
				return prefix
			}
			t = f.Type
		default:
			return ""
		}
	}
	return ""
}

// fieldByTag finds the field of struct t whose toml tag is name, exactly.
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name != "" && tomlKey(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// decodeErrors adds the decoder's error to errs and reports whether decoding
// got through the whole file (only unknown keys were found). The decoder names
// keys without array indexes and loses inline-table levels ("route.conect"
// for route[0].timeouts.conect), so the key is looked up again by its line.
func decodeErrors(err error, pos positions, errs *Errors) bool {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		for _, e := range strict.Errors {
			row, _ := e.Position()
			errs.add(row, pos.keyAt(row, e.Key()), errUnknownKey)
		}
		return true
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		errs.add(row, pos.keyAt(row, de.Key()), fmt.Errorf("wrong type: %s", de.Error()))
		return false
	}
	errs.add(0, "", fmt.Errorf("decode: %w", err))
	return false
}

// positions maps key paths to 1-based line numbers.
type positions map[string]int

func (p positions) line(key string) int {
	for key != "" {
		if l, ok := p[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
	return 0
}

// has reports whether the key path was written in the file.
func (p positions) has(key string) bool { _, ok := p[key]; return ok }

// keyAt returns the indexed key path ("route[1].timeouts.conect") written at
// line row whose last part is the last of parts, or parts joined with "."
// when there is none.
func (p positions) keyAt(row int, parts []string) string {
	dotted := strings.Join(parts, ".")
	if len(parts) == 0 || row <= 0 {
		return dotted
	}
	last := parts[len(parts)-1]
	var found []string
	for k, l := range p {
		if l == row && (k == last || strings.HasSuffix(k, "."+last)) {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return dotted
	}
	sort.Strings(found)
	for _, k := range found {
		if stripIndexes(k) == dotted {
			return k
		}
	}
	return found[0]
}

// stripIndexes turns "route[1].health.path" into "route.health.path".
func stripIndexes(key string) string {
	var b strings.Builder
	depth := 0
	for _, c := range key {
		switch {
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// indexPositions walks the TOML document and records the line of every key,
// naming array tables by index: "route[1].upstreams". On a syntax error it
// returns the line of the error.
func indexPositions(data []byte) (positions, int, error) {
	pos := positions{}
	// counts holds how many elements each array table (by indexed path,
	// such as "route[1].extra") has had so far.
	counts := map[string]int{}
	// indexed names a table path by the current element of every array
	// table on the way: after two [[route]], [route.health] is
	// "route[1].health".
	indexed := func(parts []string) string {
		path := ""
		for _, part := range parts {
			path = join(path, part)
			if n := counts[path]; n > 0 {
				path += "[" + strconv.Itoa(n-1) + "]"
			}
		}
		return path
	}
	// lineOf is p.Shape(r).Start.Line without Shape's scan from the start
	// of the file for every key.
	newlines := []int{}
	for i, c := range data {
		if c == '\n' {
			newlines = append(newlines, i)
		}
	}
	lineOf := func(r unstable.Range) int { return sort.SearchInts(newlines, int(r.Offset)) + 1 }
	var p unstable.Parser
	p.Reset(data)
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			// A table header's own Raw range is empty: take its first key's.
			prefix = indexed(keyParts(e.Key()))
			pos[prefix] = lineOf(keyRange(e))
		case unstable.ArrayTable:
			parts := keyParts(e.Key())
			if len(parts) == 0 {
				continue
			}
			name := join(indexed(parts[:len(parts)-1]), parts[len(parts)-1])
			prefix = name + "[" + strconv.Itoa(counts[name]) + "]"
			counts[name]++
			pos[prefix] = lineOf(keyRange(e))
		case unstable.KeyValue:
			indexKeyValue(lineOf, pos, prefix, e)
		}
	}
	if err := p.Error(); err != nil {
		var pe *unstable.ParserError
		if errors.As(err, &pe) {
			line := 0
			if len(pe.Highlight) > 0 {
				line = p.Shape(p.Range(pe.Highlight)).Start.Line
			}
			return nil, line, errors.New(pe.Message)
		}
		return nil, 0, err
	}
	return pos, 0, nil
}

func keyRange(e *unstable.Node) unstable.Range {
	it := e.Key()
	if it.Next() {
		return it.Node().Raw
	}
	return e.Raw
}

func indexKeyValue(lineOf func(unstable.Range) int, pos positions, prefix string, e *unstable.Node) {
	key := join(prefix, keyPath(e.Key()))
	pos[key] = lineOf(keyRange(e))
	indexValue(lineOf, pos, key, e.Value())
}

func indexValue(lineOf func(unstable.Range) int, pos positions, key string, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if kv := it.Node(); kv.Kind == unstable.KeyValue {
				indexKeyValue(lineOf, pos, key, kv)
			}
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			elem := key + "[" + strconv.Itoa(i) + "]"
			if _, ok := pos[elem]; !ok {
				pos[elem] = pos[key]
			}
			indexValue(lineOf, pos, elem, it.Node())
		}
	}
}

func keyPath(it unstable.Iterator) string { return strings.Join(keyParts(it), ".") }

func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
