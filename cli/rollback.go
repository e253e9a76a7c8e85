package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/gitcourse/edge/release"
)

// rollbackCmd points the site back at the previous release, or lists
// the releases with -list.
func rollbackCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("rollback", "[-config FILE] [-root DIR] [-to ID] [-list [-json]]", out)
	loc := releaseFlags(fs)
	to := fs.String("to", "", "release `ID` to switch to (default: the one before the current, skipping ones rolled back from)")
	list := fs.Bool("list", false, "list the releases instead of rolling back")
	asJSON := fs.Bool("json", false, "with -list: print JSON")
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *asJSON && !*list {
		return usagef("-json goes with -list")
	}
	root, sock, err := loc()
	if err != nil {
		return err
	}
	if *list {
		return listReleases(out, root, *asJSON)
	}
	res, err := release.Rollback(ctx, *to, release.Options{Root: root})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "rolled back from %s to %s\n", res.Previous, res.ID)
	printSwitch(out, res, root)
	tellEdge(ctx, sock, out, errOut)
	return shareRollback(ctx, fs, res.ID, out, errOut)
}

func listReleases(out io.Writer, root string, asJSON bool) error {
	infos, err := release.List(root)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(out, infos)
	}
	if len(infos) == 0 {
		fmt.Fprintf(out, "no releases beside %s (run \"edge release DIR\")\n", root)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tFILES\tCARRIED\tCREATED")
	for i := len(infos) - 1; i >= 0; i-- {
		in := infos[i]
		state := ""
		switch {
		case in.Current:
			state = "current"
		case in.Previous:
			state = "previous (rollback target)"
		case in.RolledBackAt != nil:
			state = "rolled back from"
		}
		created := "-"
		if !in.CreatedAt.IsZero() {
			created = in.CreatedAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", in.ID, state, in.Files, in.Carried, created)
	}
	return tw.Flush()
}
