package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// ErrMissingEnv reports a ${VAR} whose variable is not set.
var ErrMissingEnv = errors.New("environment variable not set")

// expandAll replaces ${VAR} in every string value of cfg, walking the
// struct by reflection so that no field can be forgotten.
func expandAll(cfg *Config, lookup LookupFunc, errs *Errors) {
	cfg.rawValues = map[string]string{}
	cfg.unexpanded = map[string]bool{}
	walkStrings(reflect.ValueOf(cfg).Elem(), "", func(key string, v reflect.Value) {
		cfg.rawValues[key] = v.String()
		out, err := Expand(v.String(), lookup)
		if err != nil {
			errs.add(cfg.pos.line(key), key, err)
			cfg.unexpanded[key] = true
			return
		}
		v.SetString(out)
	})
}

// Expand replaces each ${VAR} in s with the variable's value. "$$" stands
// for a literal "$" before "{"; any other "$" is kept as it is.
func Expand(s string, lookup LookupFunc) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] == '$' && i+2 < len(s) && s[i+2] == '{' {
			b.WriteByte('$')
			i++
			continue
		}
		if s[i+1] != '{' {
			b.WriteByte('$')
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("unclosed ${ in %q (fix: write ${NAME})", s)
		}
		name := s[i+2 : i+2+end]
		if !validEnvName(name) {
			return "", fmt.Errorf("bad variable name %q (fix: letters, digits and _ only)", name)
		}
		val, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("${%s}: %w (fix: set it in the environment or the unit's EnvironmentFile=)", name, ErrMissingEnv)
		}
		b.WriteString(val)
		i += 2 + end
	}
	return b.String(), nil
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// walkStrings calls fn for every settable string (or string-kinded) value
// under v, with its key path built from the toml tags.
func walkStrings(v reflect.Value, key string, fn func(key string, v reflect.Value)) {
	switch v.Kind() {
	case reflect.String:
		fn(key, v)
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), key, fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := tomlKey(f)
			if tag == "" {
				continue
			}
			walkStrings(v.Field(i), join(key, tag), fn)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), key+"["+strconv.Itoa(i)+"]", fn)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(k))
			walkStrings(elem, join(key, k.String()), fn)
			v.SetMapIndex(k, elem)
		}
	}
}
