package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/gitcourse/edge/admin"
)

// printClusterStatus prints the cluster table of a status body, or its
// "cluster" object as JSON.
func printClusterStatus(out io.Writer, body []byte, asJSON bool) error {
	var st admin.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("decode status: %w", err)
	}
	c := st.Cluster
	if c == nil {
		return errors.New("this instance runs alone: its config has no [cluster] table (add database_url and node to join a cluster)")
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	}
	fmt.Fprintf(out, "cluster seen from %s at %s\n", c.Node, c.CheckedAt.Format(time.RFC3339))
	if c.Error != "" {
		fmt.Fprintf(out, "PostgreSQL unreachable (table as last read): %s\n", c.Error)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tVERSION\tRELEASE\tLAST SEEN\tLISTENERS")
	for _, n := range c.Nodes {
		state := "down"
		if n.Up {
			state = "up"
		}
		name := n.Name
		if n.Name == c.Node {
			name += " (this)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, state, orDash(n.Version), orDash(n.Release),
			n.LastSeen.Format(time.RFC3339), orDash(n.Listeners))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for job, mine := range c.Leaders {
		if mine {
			fmt.Fprintf(out, "this node ran the latest %s slot\n", job)
		}
	}
	return nil
}
