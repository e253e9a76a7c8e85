package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// upstreamCmd is "edge upstream drain|enable ADDR": take an upstream out
// of rotation, waiting for its requests in flight, or put it back.
func upstreamCmd(ctx context.Context, args []string, out, _ io.Writer) error {
	fs := newFlags("upstream", "[-config FILE] drain|enable ADDR", out)
	cfgPath := configFlag(fs)
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) > 2 { // flags after the arguments: edge upstream drain ADDR -config FILE
		if err := parse(fs, rest[2:]); err != nil {
			return err
		}
		rest = append(rest[:2], fs.Args()...)
	}
	if len(rest) != 2 || (rest[0] != "drain" && rest[0] != "enable") {
		return usagef("usage: edge upstream drain|enable ADDR (ADDR as in [[route]] upstreams, e.g. 127.0.0.1:8001)")
	}
	path, explicit := cfgPath()
	body, err := callControl(ctx, path, explicit, "POST", "/upstream/"+rest[0]+"?addr="+url.QueryEscape(rest[1]))
	if err != nil {
		return errors.New(strings.TrimSpace(err.Error()))
	}
	fmt.Fprint(out, string(body))
	return nil
}
