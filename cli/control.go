package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gitcourse/edge/admin"
	"github.com/gitcourse/edge/config"
)

// adminSocket finds the admin socket from the config, or the local
// defaults when there is no config file.
func adminSocket(path string, explicit bool) (string, error) {
	if !explicit {
		if _, err := os.Stat(path); err != nil {
			return config.Local().Server.AdminSocket, nil
		}
	}
	return config.AdminSocket(path)
}

func callControl(ctx context.Context, path string, explicit bool, method, endpoint string) ([]byte, error) {
	sock, err := adminSocket(path, explicit)
	if err != nil {
		return nil, err
	}
	body, err := admin.NewClient(sock).Do(ctx, method, endpoint)
	if err != nil && body == nil {
		return nil, fmt.Errorf("reach edge on %s: %w (fix: is edge running, and may this user open the socket?)", sock, err)
	}
	return body, err
}

func reloadCmd(ctx context.Context, args []string, out, _ io.Writer) error {
	fs := newFlags("reload", "[-config FILE]", out)
	cfgPath := configFlag(fs)
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	path, explicit := cfgPath()
	body, err := callControl(ctx, path, explicit, "POST", "/reload")
	if err != nil {
		return errors.New(strings.TrimSpace(err.Error()))
	}
	fmt.Fprint(out, string(body))
	return nil
}

func statusCmd(ctx context.Context, args []string, out, _ io.Writer) error {
	fs := newFlags("status", "[-json] [-cluster] [-config FILE]", out)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	asCluster := fs.Bool("cluster", false, "show every node of the cluster (needs [cluster])")
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	path, explicit := cfgPath()
	body, err := callControl(ctx, path, explicit, "GET", "/status")
	if err != nil {
		return err
	}
	if *asCluster {
		return printClusterStatus(out, body, *asJSON)
	}
	if *asJSON {
		_, err := out.Write(body)
		return err
	}
	var st admin.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("decode status: %w", err)
	}
	printStatus(out, st, colorsFor(out))
	return nil
}
