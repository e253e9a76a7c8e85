package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/gitcourse/edge/logging"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/demo"
	"github.com/gitcourse/edge/server"
	"golang.org/x/crypto/bcrypt"
)

func demoCmd(ctx context.Context, args []string, out, _ io.Writer) error {
	fs := newFlags("demo", "[-http ADDR] [-https ADDR]", out)
	httpAddr := fs.String("http", "127.0.0.1:8080", "plain-HTTP listen `address`")
	httpsAddr := fs.String("https", "127.0.0.1:8443", "HTTPS listen `address` (internal CA); \"\" for none")
	quiet := fs.Bool("quiet", false, "do not log each request")
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "edge-demo-")
	if err != nil {
		return fmt.Errorf("create demo dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "site")
	if err := demo.WriteSite(root); err != nil {
		return err
	}
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the demo API: %w", err)
	}
	api := &http.Server{Handler: demo.API(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = api.Serve(apiLn) }()
	defer api.Close()

	password := randomPassword()
	cfg, err := demoConfig(root, tmp, *httpAddr, *httpsAddr, apiLn.Addr().String(), password, *quiet)
	if err != nil {
		return err
	}
	log := logging.New(out)
	srv, err := server.New(cfg, server.Options{
		Version: version(), Stdout: out, Logger: log, PlainHTTP: true,
		OnReady: func(s *server.Server) { printDemoBanner(out, s, password) },
	})
	if err != nil {
		return fmt.Errorf("%w (fix: free the port or pick others: edge demo -http 127.0.0.1:18080 -https 127.0.0.1:18443)", err)
	}
	return srv.Run(ctx)
}

func demoConfig(root, tmp, httpAddr, httpsAddr, apiAddr, password string, quiet bool) (*config.Config, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("hash the admin password: %w", err)
	}
	cfg := config.Local()
	cfg.Server.HTTP, cfg.Server.HTTPS = httpAddr, httpsAddr
	cfg.Server.AdminSocket = filepath.Join(tmp, "admin.sock")
	cfg.Site.Root = root
	cfg.Routes[0].Upstreams = []string{apiAddr}
	cfg.Admin.Users = map[string]config.Secret{"admin": config.Secret(hash)}
	if quiet {
		cfg.Server.AccessLog = "off"
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	return cfg, nil
}

func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("read random bytes: " + err.Error()))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func printDemoBanner(out io.Writer, s *server.Server, password string) {
	fmt.Fprintln(out, "")
	fmt.Fprintln(out, "edge demo is running. Open:")
	if a := s.HTTPAddr(); a != "" {
		fmt.Fprintf(out, "  http://%s/            the sample SPA (plain HTTP in the demo)\n", localhostAddr(a))
	}
	if a := s.HTTPSAddr(); a != "" {
		fmt.Fprintf(out, "  https://%s/           the same over HTTPS (edge's internal CA)\n", localhostAddr(a))
		if m := s.TLS(); m != nil && m.InternalCA() != nil {
			fmt.Fprintf(out, "    trust it: curl --cacert %s https://%s/\n", m.InternalCA().RootPath(), localhostAddr(a))
		}
	}
	base := "http://" + localhostAddr(s.HTTPAddr())
	fmt.Fprintf(out, "  %s/api/health  the sample API through edge's reverse proxy\n", base)
	fmt.Fprintf(out, "  %s/admin/status  status page: user admin, password %s\n", base, password)
	fmt.Fprintln(out, "Stop with Ctrl-C.")
	fmt.Fprintln(out, "")
}

// localhostAddr shows 127.0.0.1:PORT as localhost:PORT.
func localhostAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || (host != "127.0.0.1" && host != "::1" && host != "") {
		return addr
	}
	return "localhost:" + port
}
