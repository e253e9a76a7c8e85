package config

import (
	"errors"
	"fmt"
	"os"

	toml "github.com/pelletier/go-toml/v2"
)

// ShellView is the part of the configuration that commands run from an
// operator's or deploy user's shell need ("edge status", "edge reload",
// "edge release", "edge rollback"): there the secrets of the unit's
// EnvironmentFile= are not set, so only these two keys are read, their
// ${VAR} expanded where the variable is set, and nothing is validated
// (site.root may not exist before the first release).
type ShellView struct {
	// AdminSocket is server.admin_socket, or its default.
	AdminSocket string
	// SiteRoot is site.root, or "" when it is not set.
	SiteRoot string
}

// ReadShellView reads the ShellView of the file at path. A file that
// cannot be read or decoded is an error; a key whose ${VAR} cannot be
// expanded keeps its default and is reported in an *Errors (keys
// "server.admin_socket", "site.root") returned with the view.
func ReadShellView(path string) (ShellView, error) {
	v := ShellView{AdminSocket: defaultAdminSocket}
	data, err := os.ReadFile(path)
	if err != nil {
		return v, fmt.Errorf("read config: %w (fix: check -config or $EDGE_CONFIG)", err)
	}
	var doc struct {
		Server struct {
			AdminSocket string `toml:"admin_socket"`
		} `toml:"server"`
		Site struct {
			Root string `toml:"root"`
		} `toml:"site"`
	}
	if err := toml.Unmarshal(data, &doc); err != nil {
		return v, fmt.Errorf("parse config %s: %w (run \"edge validate\")", path, err)
	}
	errs := &Errors{File: path}
	if s, err := Expand(doc.Server.AdminSocket, os.LookupEnv); err != nil {
		errs.add(0, "server.admin_socket", err)
	} else if s != "" {
		v.AdminSocket = s
	}
	if r, err := Expand(doc.Site.Root, os.LookupEnv); err != nil {
		errs.add(0, "site.root", err)
	} else {
		v.SiteRoot = r
	}
	return v, errs.orNil()
}

// AdminSocket is ReadShellView's admin socket, for "edge status" and
// "edge reload"; a ${VAR} in it that is not set is an error.
func AdminSocket(path string) (string, error) {
	v, err := ReadShellView(path)
	var fe *FieldError
	if err != nil && (!errors.As(err, &fe) || fe.Key == "server.admin_socket") {
		return "", err
	}
	return v.AdminSocket, nil
}

// defaultAdminSocket is server.admin_socket's default.
const defaultAdminSocket = "/run/edge/admin.sock"
