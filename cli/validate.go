package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gitcourse/edge/config"
)

func validateCmd(_ context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("validate", "[-config FILE] [-print]", out)
	cfgPath := configFlag(fs)
	print := fs.Bool("print", false, "print the effective configuration as TOML (defaults filled in, secrets as their ${VAR})")
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	path, _ := cfgPath()
	cfg, err := config.Load(path)
	var errs *config.Errors
	if errors.As(err, &errs) {
		for _, fe := range errs.List {
			fmt.Fprintln(errOut, fe)
		}
		return fmt.Errorf("%s: %d problem(s)", path, len(errs.List))
	}
	if err != nil {
		return err
	}
	if *print {
		return cfg.WriteTOML(out)
	}
	fmt.Fprintf(out, "%s: ok\n", path)
	return nil
}
