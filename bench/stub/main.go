// Command stub is the upstream of bench/proxy.sh: a fast HTTP/1.1 server
// whose GET /api/ping answers a fixed JSON body of about 100 bytes, so that
// a benchmark measures the proxy in front of it rather than the app.
//
//	stub -addr 127.0.0.1:9000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// pingBody is the answer of GET /api/ping (95 bytes with the newline).
var pingBody = []byte(`{"status":"ok","service":"gitcourse-api","version":"bench-stub","time":"2026-11-25T03:00:00Z"}` + "\n")

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "stub:", err)
		os.Exit(1)
	}
}

// run serves until SIGTERM or SIGINT.
func run(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv := &http.Server{
		Addr:              addr,
		Handler:           http.HandlerFunc(serve),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          log.New(os.Stderr, "stub: ", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

var pingLength = strconv.Itoa(len(pingBody))

// serve answers GET /api/ping; anything else is 404.
func serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/ping" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{pingLength}
	if r.Method == http.MethodGet {
		_, _ = w.Write(pingBody)
	}
}
