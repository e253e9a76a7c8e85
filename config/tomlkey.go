package config

import (
	"iter"
	"reflect"
	"strings"
)

// tomlKey is the key of struct field f in a config file: the name in its
// toml tag, or "" for a field that has none (unexported, untagged, "-").
func tomlKey(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if !f.IsExported() || tag == "-" {
		return ""
	}
	return tag
}

// setFields yields the key and value of each field of struct v that has a
// key in a config file and is not a nil pointer, in declaration order.
func setFields(v reflect.Value) iter.Seq2[string, reflect.Value] {
	return func(yield func(string, reflect.Value) bool) {
		t := v.Type()
		for i := range t.NumField() {
			tag, fv := tomlKey(t.Field(i)), v.Field(i)
			if tag == "" || fv.Kind() == reflect.Pointer && fv.IsNil() {
				continue
			}
			if !yield(tag, fv) {
				return
			}
		}
	}
}
