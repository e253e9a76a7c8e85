package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
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
// process environment for ${VAR}. The error, when not nil, is an *Errors.
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
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		if !decodeErrors(err, errs) {
			return nil, errs
		}
	}
	expandAll(cfg, lookup, errs)
	cfg.applyDefaults()
	return cfg, errs.orNil()
}

// decodeErrors adds the decoder's error to errs and reports whether decoding
// got through the whole file (only unknown keys were found).
func decodeErrors(err error, errs *Errors) bool {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		for _, e := range strict.Errors {
			row, _ := e.Position()
			errs.add(row, strings.Join(e.Key(), "."), errors.New("unknown key (fix: check the spelling against docs/configuration.md)"))
		}
		return true
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		errs.add(row, strings.Join(de.Key(), "."), fmt.Errorf("wrong type: %s", de.Error()))
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

// indexPositions walks the TOML document and records the line of every key,
// naming array tables by index: "route[1].upstreams". On a syntax error it
// returns the line of the error.
func indexPositions(data []byte) (positions, int, error) {
	pos := positions{}
	counts := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			prefix = keyPath(e.Key())
			pos[prefix] = p.Shape(e.Raw).Start.Line
		case unstable.ArrayTable:
			name := keyPath(e.Key())
			prefix = name + "[" + strconv.Itoa(counts[name]) + "]"
			counts[name]++
			pos[prefix] = p.Shape(keyRange(e)).Start.Line
		case unstable.KeyValue:
			indexKeyValue(&p, pos, prefix, e)
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

func indexKeyValue(p *unstable.Parser, pos positions, prefix string, e *unstable.Node) {
	key := join(prefix, keyPath(e.Key()))
	pos[key] = p.Shape(keyRange(e)).Start.Line
	indexValue(p, pos, key, e.Value())
}

func indexValue(p *unstable.Parser, pos positions, key string, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if kv := it.Node(); kv.Kind == unstable.KeyValue {
				indexKeyValue(p, pos, key, kv)
			}
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			elem := key + "[" + strconv.Itoa(i) + "]"
			if _, ok := pos[elem]; !ok {
				pos[elem] = pos[key]
			}
			indexValue(p, pos, elem, it.Node())
		}
	}
}

func keyPath(it unstable.Iterator) string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return strings.Join(parts, ".")
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
