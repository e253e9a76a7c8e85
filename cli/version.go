package cli

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X github.com/gitcourse/edge/cli.Version=v1.2.3";
// otherwise it comes from the module build info.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func versionCmd(_ context.Context, args []string, out, _ io.Writer) error {
	fs := newFlags("version", "", out)
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	fmt.Fprintf(out, "edge %s\n", version())
	return nil
}
