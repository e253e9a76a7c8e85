package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strings"
)

// unbanCmd lifts a temporary ban on the running instance.
func unbanCmd(ctx context.Context, args []string, out, _ io.Writer) error {
	fs := newFlags("unban", "[-config FILE] IP", out)
	cfgPath := configFlag(fs)
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("unban takes one IP address, such as edge unban 192.0.2.7")
	}
	ip := fs.Arg(0)
	if _, err := netip.ParseAddr(ip); err != nil {
		return usagef("%q is not an IP address (fix: edge unban 192.0.2.7 or edge unban 2001:db8::1)", ip)
	}
	path, explicit := cfgPath()
	body, err := callControl(ctx, path, explicit, "POST", "/unban?ip="+url.QueryEscape(ip))
	if err != nil {
		return errors.New(strings.TrimSpace(err.Error()))
	}
	fmt.Fprint(out, string(body))
	return nil
}
