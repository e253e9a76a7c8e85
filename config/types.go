package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in Go syntax ("90s", "4h").
//
// UnmarshalText never fails so that one bad value does not hide the others:
// the text that did not parse is kept and Validate reports it with its line.
type Duration struct {
	time.Duration
	invalid string
}

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		d.invalid = string(b)
		if d.invalid == "" {
			d.invalid = `""`
		}
		return nil
	}
	d.Duration, d.invalid = v, ""
	return nil
}

// MarshalText writes the duration in Go syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// ErrDuration reports a value that is not a Go duration.
var ErrDuration = errors.New(`not a duration: use Go syntax such as "90s", "5m" or "4h"`)

func (d Duration) check() error {
	if d.invalid != "" {
		return fmt.Errorf("%q: %w", d.invalid, ErrDuration)
	}
	return nil
}

// ByteSize is a number of bytes written as "10MB" (powers of 10) or "10MiB"
// (powers of 2). Like Duration, a bad value is kept for Validate to report.
type ByteSize struct {
	Bytes   int64
	invalid string
}

// ErrByteSize reports a value that is not a size.
var ErrByteSize = errors.New(`not a size: use a number with B, KB, MB, GB (powers of 10) or KiB, MiB, GiB (powers of 2), such as "10MB"`)

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// ParseByteSize parses "10MB", "512KiB" or a plain number of bytes.
func ParseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	// Only plain decimals: ParseFloat alone would also take "1_000",
	// "0x1p4", "1e3", "+5" and "Inf".
	if !sizeNumberRE.MatchString(t) {
		return 0, fmt.Errorf("%q: %w", s, ErrByteSize)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("%q: %w", s, ErrByteSize)
	}
	// Round, not truncate: 4.1*1e6 is 4099999.9999999995 in float64.
	return int64(math.Round(f * float64(mult))), nil
}

var sizeNumberRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// UnmarshalText parses a size.
func (b *ByteSize) UnmarshalText(text []byte) error {
	n, err := ParseByteSize(string(text))
	if err != nil {
		b.invalid = string(text)
		if b.invalid == "" {
			b.invalid = `""`
		}
		return nil
	}
	b.Bytes, b.invalid = n, ""
	return nil
}

// MarshalText writes the size in bytes.
func (b ByteSize) MarshalText() ([]byte, error) {
	return []byte(strconv.FormatInt(b.Bytes, 10) + "B"), nil
}

func (b ByteSize) check() error {
	if b.invalid != "" {
		return fmt.Errorf("%q: %w", b.invalid, ErrByteSize)
	}
	return nil
}

// Secret is a string that must not be printed: String and MarshalText
// redact it. Use Reveal to read it.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]" for a non-empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts the secret for %#v, which does not use String.
func (s Secret) GoString() string { return "config.Secret(" + strconv.Quote(s.String()) + ")" }

// MarshalText redacts the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
