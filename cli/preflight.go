package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health/alert"
	"github.com/gitcourse/edge/preflight"
)

// errPreflightFailed makes edge preflight exit 1 after its report.
var errPreflightFailed = errors.New("preflight failed (see above)")

// preflightCmd checks what a go-live needs: "edge preflight [-json]".
func preflightCmd(ctx context.Context, args []string, out, _ io.Writer) error {
	fs := newFlags("preflight", "[-json] [-send-test] [-resolver HOST:PORT] [-public-ip IP,...] [-config FILE]", out)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print the results as JSON")
	sendTest := fs.Bool("send-test", false, "send a test message through every alert channel")
	resolver := fs.String("resolver", "", "DNS server `HOST:PORT` to ask (default: the first nameserver of /etc/resolv.conf)")
	publicIPs := fs.String("public-ip", "", "this host's public `IPs`, comma-separated, when it is behind NAT (default: its interfaces' addresses)")
	minFree := fs.String("min-free", "1GB", "free `SIZE` the backup dir needs")
	httpPort := fs.Int("http-port", 80, "port probed for HTTP (for tests)")
	httpsPort := fs.Int("https-port", 443, "port probed for HTTPS (for tests)")
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	opts := preflight.Options{Resolver: *resolver, HTTPPort: *httpPort, HTTPSPort: *httpsPort}
	var err error
	if opts.MinFree, err = config.ParseByteSize(*minFree); err != nil {
		return usagef("-min-free: %v", err)
	}
	for s := range strings.SplitSeq(*publicIPs, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return usagef("-public-ip %q: %v", s, err)
		}
		opts.PublicIPs = append(opts.PublicIPs, ip)
	}
	path, _ := cfgPath()
	cfg, err := config.Load(path)
	if err != nil {
		return configError(err)
	}
	if *sendTest {
		opts.SendTest = func(ctx context.Context) []preflight.Result { return sendTestAlerts(ctx, cfg) }
	}
	rep := preflight.Run(ctx, cfg, opts)
	if *asJSON {
		if err := printJSON(out, rep); err != nil {
			return err
		}
	} else {
		printPreflight(out, path, rep)
	}
	if rep.Failed() {
		return errPreflightFailed
	}
	return nil
}

func printPreflight(out io.Writer, path string, rep *preflight.Report) {
	fmt.Fprintf(out, "PASS  %-10s  %s: valid\n", "config", path)
	for _, r := range rep.Results {
		fmt.Fprintf(out, "%-4s  %-10s  %s\n", strings.ToUpper(string(r.Status)), r.Check, r.Detail)
		if r.Fix != "" && (r.Status == preflight.Fail || r.Status == preflight.Warn) {
			fmt.Fprintf(out, "%-4s  %-10s  fix: %s\n", "", "", r.Fix)
		}
	}
	fmt.Fprintf(out, "\npreflight: %d failed, %d warning(s), %d passed, %d skipped\n",
		rep.Count(preflight.Fail), rep.Count(preflight.Warn), rep.Count(preflight.Pass)+1, rep.Count(preflight.Skip))
}

// sendTestAlerts sends one test message through each configured channel.
func sendTestAlerts(ctx context.Context, cfg *config.Config) []preflight.Result {
	targets := alert.FromConfig(cfg.Alerts, nil)
	host, _ := os.Hostname()
	msg := alert.Message{Event: alert.EventManual, OK: true, Title: "edge preflight: test message",
		Text: "If you read this, edge can reach you through this channel.", Host: host, At: time.Now()}
	d := alert.NewDispatcher(targets, alert.Options{Retries: 1, Backoff: time.Second, Logger: slog.New(slog.DiscardHandler)})
	var out []preflight.Result
	for _, r := range d.Send(ctx, msg) {
		if r.Err != nil {
			out = append(out, preflight.Result{Check: "alerts", Status: preflight.Fail,
				Detail: fmt.Sprintf("%s: not sent: %v", r.Channel, r.Err), Fix: "check the channel's settings under [alerts] and its secrets in the env file"})
			continue
		}
		out = append(out, preflight.Result{Check: "alerts", Status: preflight.Pass, Detail: r.Channel + ": test message accepted"})
	}
	return out
}
