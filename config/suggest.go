package config

import (
	"fmt"
	"reflect"
	"strings"
)

// unknownKeyError is errUnknownKey for key, naming the closest known key
// of the same table when one is a typo away ("server.htps" → "https").
func unknownKeyError(key string) error {
	if s := closestKey(key); s != "" {
		return fmt.Errorf("%w: did you mean %q?", errUnknownKey, s)
	}
	return errUnknownKey
}

// closestKey returns the known key of key's table within two edits of
// key's last segment, or "".
func closestKey(key string) string {
	parent, name := "", key
	if i := strings.LastIndexAny(key, ".]"); i >= 0 {
		parent, name = key[:i+1], strings.TrimPrefix(key[i+1:], ".")
	}
	t := reflect.TypeFor[Config]()
	for rest := strings.TrimSuffix(parent, "."); rest != ""; {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if rest[0] == '[' {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return ""
			}
			rest = strings.TrimPrefix(rest[end+1:], ".")
			continue
		}
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			end = len(rest)
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
		f, ok := fieldByTag(t, rest[:end])
		if !ok {
			return ""
		}
		t, rest = f.Type, strings.TrimPrefix(rest[end:], ".")
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	best, bestD := "", 3
	for i := 0; i < t.NumField(); i++ {
		tag := tomlKey(t.Field(i))
		if tag == "" {
			continue
		}
		if d := editDistance(strings.ToLower(name), tag); d < bestD {
			best, bestD = tag, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (short keys only).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
