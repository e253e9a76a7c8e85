package config

import (
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
