package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/gitcourse/edge/logging"
	"io"
	"io/fs"
	"os"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/server"
)

func runCmd(ctx context.Context, args []string, out, _ io.Writer) error {
	fset := newFlags("run", "[-config FILE]", out)
	cfgPath := configFlag(fset)
	if err := helpOrParse(fset, args, out); err != nil {
		return err
	}
	if err := noArgs(fset); err != nil {
		return err
	}
	log := logging.New(out)
	path, explicit := cfgPath()
	cfg, load, err := loadForRun(path, explicit)
	if err != nil {
		return err
	}
	if cfg.File == "" {
		log.Info("no config file; using built-in local defaults", "looked_for", path)
	}
	srv, err := server.New(cfg, server.Options{Version: version(), Stdout: out, Logger: log, Load: load})
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// loadForRun loads the config at path. Without an explicit path and with no
// file at the default place, it returns the built-in local defaults (and no
// reload function).
func loadForRun(path string, explicit bool) (*config.Config, func() (*config.Config, error), error) {
	if !explicit {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			cfg := config.Local()
			if err := cfg.Validate(); err != nil {
				return nil, nil, fmt.Errorf("built-in defaults: %w (fix: run from the folder that holds dist/, or pass -config)", err)
			}
			return cfg, nil, nil
		}
	}
	load := func() (*config.Config, error) { return config.Load(path) }
	cfg, err := load()
	if err != nil {
		return nil, nil, configError(err)
	}
	return cfg, load, nil
}

// configError makes a multi-line config error fit the one-line contract:
// the first problem, and how many more "edge validate" will list.
func configError(err error) error {
	var errs *config.Errors
	if errors.As(err, &errs) && len(errs.List) > 1 {
		return fmt.Errorf("%s (and %d more: run \"edge validate\")", errs.List[0], len(errs.List)-1)
	}
	return err
}
