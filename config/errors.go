package config

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem in the configuration, at a line of a file.
type FieldError struct {
	File string // the configuration file
	Line int    // 1-based; 0 when not known
	Key  string // the key path, such as "route[0].max_body"
	Err  error  // the cause; errors.Is works through it
}

// Error formats the problem as "FILE:LINE: key: reason".
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// Errors is every problem found in one configuration file, in line order
// (then key order).
type Errors struct {
	File string
	List []*FieldError
}

// Error joins the problems, one per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, fe := range e.List {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.Is and errors.As.
func (e *Errors) Unwrap() []error {
	out := make([]error, len(e.List))
	for i, fe := range e.List {
		out[i] = fe
	}
	return out
}

func (e *Errors) add(line int, key string, err error) {
	e.List = append(e.List, &FieldError{File: e.File, Line: line, Key: key, Err: err})
}

func (e *Errors) orNil() error {
	if len(e.List) == 0 {
		return nil
	}
	// By line, then by key: several problems on one line (an inline table)
	// are found in map order, and the output must not change between runs.
	sort.SliceStable(e.List, func(i, j int) bool {
		a, b := e.List[i], e.List[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Key < b.Key
	})
	return e
}
