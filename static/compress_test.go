package static

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestBrotliWindow(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{0, 10}, {1, 10}, {1008, 10}, {1009, 11},
		{204891, 18}, {1<<18 - 16, 18}, {1<<18 - 15, 19},
		{4<<20 - 16, 22}, {8 << 20, 22},
	} {
		if got := brotliWindow(c.n); got != c.want {
			t.Errorf("brotliWindow(%d) = %d, want %d", c.n, got, c.want)
		}
		if w := brotliWindow(c.n); c.n <= 4<<20-16 && 1<<w-16 < c.n {
			t.Errorf("brotliWindow(%d) = %d: window of %d bytes is smaller than the input", c.n, w, 1<<w-16)
		}
	}
}

// codeLike is n bytes of JavaScript-like text that compresses like a bundle.
func codeLike(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"const ", "function ", "return ", "lesson", "course", "=>", "{", "}", ";", "\n", "user.id", "fetch("}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
		fmt.Fprint(&b, rng.IntN(1000))
	}
	return b.Bytes()[:n]
}

// BenchmarkCompressOnTheFly is the one-time compression of a 200 KB bundle
// on its first request: B/op is the transient memory it needs (run with
// -benchmem), out-bytes what the cache keeps.
func BenchmarkCompressOnTheFly(b *testing.B) {
	data := codeLike(200 << 10)
	for _, enc := range []string{encBrotli, encGzip} {
		b.Run(enc, func(b *testing.B) {
			b.ReportAllocs()
			var out []byte
			for b.Loop() {
				out = encode(data, enc)
			}
			b.ReportMetric(float64(len(out)), "out-bytes")
		})
	}
}

// TestCompressBrotliRoundTrip: inputs around a window boundary decode to
// what went in, and are as small as with the library's default window.
func TestCompressBrotliRoundTrip(t *testing.T) {
	for _, n := range []int{1024, 1<<18 - 16, 1<<18 - 15, 300_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := codeLike(n)
			out := compress(data, encBrotli)
			// Kept in memory: not in the encoder's buffer, which may be
			// twice the size.
			if out == nil || cap(out)-len(out) >= 8<<10 {
				t.Fatalf("compress returned %d bytes (cap %d)", len(out), cap(out))
			}
			got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(out)))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("round trip: %d bytes back, err %v", len(got), err)
			}
			var def bytes.Buffer
			w := brotli.NewWriterLevel(&def, onTheFlyBrotliLevel)
			_, _ = w.Write(data)
			_ = w.Close()
			if len(out) > def.Len() {
				t.Errorf("window %d: %d bytes, default window: %d", brotliWindow(n), len(out), def.Len())
			}
		})
	}
}
