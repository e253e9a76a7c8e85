package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gitcourse/edge/cluster"
	"github.com/gitcourse/edge/config"
	toml "github.com/pelletier/go-toml/v2"
)

// clusterOfRelease returns the [cluster] of the config a release command
// uses, or nil: with -root (a local release) or without [cluster].
// Only database_url and node are read and expanded, like site.root.
func clusterOfRelease(fs *flag.FlagSet) (*config.Cluster, error) {
	if f := fs.Lookup("root"); f != nil && f.Value.String() != "" {
		return nil, nil
	}
	path := fs.Lookup("config").Value.String()
	if path == "" {
		path = os.Getenv("EDGE_CONFIG")
	}
	if path == "" {
		path = "/etc/edge/edge.toml"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil // readReleaseConfig already required what it needs
	}
	var doc struct {
		Cluster *struct {
			DatabaseURL string `toml:"database_url"`
			Node        string `toml:"node"`
		} `toml:"cluster"`
	}
	if err := toml.Unmarshal(data, &doc); err != nil || doc.Cluster == nil {
		return nil, nil
	}
	url, err := config.Expand(doc.Cluster.DatabaseURL, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("%s: cluster.database_url: %w (fix: run with the unit's environment file, such as "+
			"\"sudo -u edge env $(cat /etc/edge/edge.env) edge release DIR\")", path, err)
	}
	node, _ := config.Expand(doc.Cluster.Node, os.LookupEnv)
	if node == "" {
		node, _ = os.Hostname()
	}
	return &config.Cluster{DatabaseURL: config.Secret(url), Node: node}, nil
}

// openReleaseCluster connects to the cluster of a release command.
func openReleaseCluster(ctx context.Context, c *config.Cluster, errOut io.Writer) (*cluster.Cluster, error) {
	cl, err := cluster.Open(ctx, c.DatabaseURL.Reveal(), cluster.Options{Node: c.Node,
		Logger: quietLogger(errOut), LocalDir: os.TempDir()})
	if err != nil {
		return nil, err
	}
	return cl, nil
}

// shareRelease stores the build src as release id in the cluster and
// makes it the release every node serves.
func shareRelease(ctx context.Context, fs *flag.FlagSet, id, src string, out, errOut io.Writer) error {
	c, err := clusterOfRelease(fs)
	if err != nil || c == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	tarball, sha, err := cluster.Pack(src)
	if err != nil {
		return err
	}
	cl, err := openReleaseCluster(ctx, c, errOut)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.PublishRelease(ctx, id, tarball, sha); err != nil {
		return errors.Join(err, errors.New("installed on this node only: the other nodes keep their release (fix: check PostgreSQL, then run edge release again)"))
	}
	fmt.Fprintf(out, "cluster: release %s stored (%s, sha256 %.12s); every node installs it within seconds\n", id, sizeString(int64(len(tarball))), sha)
	return nil
}

// shareRollback makes release id the one every node serves.
func shareRollback(ctx context.Context, fs *flag.FlagSet, id string, out, errOut io.Writer) error {
	c, err := clusterOfRelease(fs)
	if err != nil || c == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cl, err := openReleaseCluster(ctx, c, errOut)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.SetCurrentRelease(ctx, id); err != nil {
		return errors.Join(err, errors.New("rolled back on this node only"))
	}
	fmt.Fprintf(out, "cluster: every node switches to %s within seconds\n", id)
	return nil
}

// quietLogger shows a release command's warnings (PostgreSQL not
// reachable) on errOut, without the info lines of a running node.
func quietLogger(errOut io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
