package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
)

func TestParseByteSize(t *testing.T) {
	good := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"1", 1},
		{"512B", 512},
		{"1KB", 1_000},
		{"10MB", 10_000_000},
		{"2GB", 2_000_000_000},
		{"1TB", 1_000_000_000_000},
		{"1KiB", 1 << 10},
		{"10MiB", 10 << 20},
		{"2GiB", 2 << 30},
		{"1TiB", 1 << 40},
		{"1.5MB", 1_500_000},
		{"4.1MB", 4_100_000}, // 4.1*1e6 is 4099999.9999999995 in float64
		{"0.3KB", 300},
		{"1.1MiB", 1_153_434},
		{"0.5KiB", 512},
		{" 10MB ", 10_000_000},
		{"10 MB", 10_000_000},
		{"007KB", 7_000},
		{"4096TiB", 4096 << 40}, // 2^52, well within range
	}
	for _, tt := range good {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseByteSize(tt.in)
			if err != nil {
				t.Fatalf("ParseByteSize(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseByteSize(%q): got %d, want %d", tt.in, got, tt.want)
			}
		})
	}
	bad := []string{
		"", " ", "B", "MB", "KiB", "-1", "-1MB", "10XB", "10mb", "10Mb", "10kb", "10 M", "10M", "ten",
		"1e3", "1E3KB", "+5", "NaN", "Inf", "Infinity", "0x10", "0x1p4", "1_000", "1,000", "1.", ".5",
		"1.2.3", "1KB2", "10MBMB", "5000000TB", "9999999999999999999",
	}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			got, err := config.ParseByteSize(in)
			if err == nil {
				t.Fatalf("ParseByteSize(%q): got %d, want an error", in, got)
			}
			if !errors.Is(err, config.ErrByteSize) {
				t.Errorf("ParseByteSize(%q): got %q, want errors.Is ErrByteSize", in, err)
			}
			if !strings.Contains(err.Error(), "10MB") {
				t.Errorf("ParseByteSize(%q): got %q, want an example in it", in, err)
			}
		})
	}
}

func TestByteSizeText(t *testing.T) {
	var b config.ByteSize
	if err := b.UnmarshalText([]byte("2GiB")); err != nil {
		t.Fatal(err)
	}
	out, err := b.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "2147483648B"; got != want {
		t.Errorf("MarshalText: got %q, want %q", got, want)
	}
	n, err := config.ParseByteSize(string(out))
	if err != nil || n != b.Bytes {
		t.Errorf("ParseByteSize(MarshalText): got %d, %v, want %d", n, err, b.Bytes)
	}
}

func TestDurationText(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{{"90s", 90 * time.Second}, {"4h", 4 * time.Hour}, {"1h30m", 90 * time.Minute}, {"250ms", 250 * time.Millisecond}} {
		var d config.Duration
		if err := d.UnmarshalText([]byte(tt.in)); err != nil {
			t.Fatalf("UnmarshalText(%q): %v", tt.in, err)
		}
		if d.Duration != tt.want {
			t.Errorf("UnmarshalText(%q): got %q, want %q", tt.in, d.Duration, tt.want)
		}
		out, _ := d.MarshalText()
		if string(out) != tt.want.String() {
			t.Errorf("MarshalText(%q): got %q, want %q", tt.in, out, tt.want.String())
		}
	}
}

func TestParseHSTS(t *testing.T) {
	good := []struct {
		in   string
		want config.HSTS
	}{
		{"max-age=63072000; includeSubDomains", config.HSTS{MaxAge: 63072000, IncludeSubdomains: true}},
		{"max-age=31536000; includeSubDomains; preload", config.HSTS{MaxAge: 31536000, IncludeSubdomains: true, Preload: true}},
		{"max-age=0", config.HSTS{}},
		{"max-age=300", config.HSTS{MaxAge: 300}},
		{`max-age="300"`, config.HSTS{MaxAge: 300}},
		{"MAX-AGE=5;INCLUDESUBDOMAINS", config.HSTS{MaxAge: 5, IncludeSubdomains: true}},
		{"  max-age = 5 ;", config.HSTS{MaxAge: 5}},
		{"preload; max-age=5", config.HSTS{MaxAge: 5, Preload: true}},
	}
	for _, tt := range good {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseHSTS(tt.in)
			if err != nil {
				t.Fatalf("ParseHSTS(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseHSTS(%q): got %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
	bad := []string{
		"",
		"includeSubDomains",
		"max-age",
		"max-age=",
		"max-age=-1",
		"max-age=+5",
		"max-age=abc",
		"max-age=1.5",
		"max-age=1e3",
		"max-age=99999999999999999999",
		"max-age=5; foo",
		"max-age=5; includeSubDomains; max-age=6",
		"max-age=5; preload; preload",
		"max-age=5, includeSubDomains",
	}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			got, err := config.ParseHSTS(in)
			if err == nil {
				t.Fatalf("ParseHSTS(%q): got %+v, want an error", in, got)
			}
			if !errors.Is(err, config.ErrInvalidValue) {
				t.Errorf("ParseHSTS(%q): got %q, want errors.Is ErrInvalidValue", in, err)
			}
		})
	}
}

func TestErrorsFormat(t *testing.T) {
	errs := &config.Errors{File: "edge.toml", List: []*config.FieldError{
		{File: "edge.toml", Line: 3, Key: "server.http", Err: config.ErrBadListenAddr},
		{File: "edge.toml", Key: "site", Err: config.ErrRequired},
		{File: "edge.toml", Line: 7, Err: errors.New("invalid TOML: x")},
	}}
	want := "edge.toml:3: server.http: not a listen address\n" +
		"edge.toml: site: required\n" +
		"edge.toml:7: invalid TOML: x"
	if got := errs.Error(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(errs, config.ErrRequired) || errors.Is(errs, config.ErrNotExist) {
		t.Errorf("errors.Is through *Errors does not match the list")
	}
}
