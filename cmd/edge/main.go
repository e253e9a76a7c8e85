// Command edge serves a single-page application and its API with TLS,
// backups, health checks and a status page, as one process.
package main

import (
	"context"
	"os"

	"github.com/gitcourse/edge/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
