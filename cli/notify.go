package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health/alert"
)

// notifyCmd sends one message through every configured alert channel and
// fails only when no channel accepted it.
func notifyCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("notify", "-status ok|fail -title TITLE [-config FILE] [MESSAGE...]", out)
	cfgPath := configFlag(fs)
	st := fs.String("status", "", "`ok` or fail: good or bad news")
	title := fs.String("title", "", "one-line `TITLE` (the email subject)")
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if *st != "ok" && *st != "fail" {
		return usagef("-status must be ok or fail, not %q", *st)
	}
	if strings.TrimSpace(*title) == "" {
		return usagef("-title is required")
	}
	path, _ := cfgPath()
	cfg, err := config.Load(path)
	if err != nil {
		return configError(err)
	}
	targets := alert.FromConfig(cfg.Alerts, nil)
	if len(targets) == 0 {
		return fmt.Errorf("%s: no alert channel configured (fix: add email, telegram or webhook under [alerts])", path)
	}
	host, _ := os.Hostname()
	msg := alert.Message{Event: alert.EventManual, OK: *st == "ok", Title: *title,
		Text: strings.Join(fs.Args(), " "), Host: host, At: time.Now()}
	d := alert.NewDispatcher(targets, alert.Options{Retries: 2, Backoff: time.Second, Logger: slog.New(slog.DiscardHandler)})
	var failed []string
	for _, r := range d.Send(ctx, msg) {
		if r.Err != nil {
			failed = append(failed, r.Err.Error())
			fmt.Fprintf(errOut, "%s: not sent: %v\n", r.Channel, r.Err)
			continue
		}
		fmt.Fprintf(out, "%s: sent\n", r.Channel)
	}
	if len(failed) == len(targets) {
		return errors.New("no alert channel accepted the message (see above)")
	}
	return nil
}
