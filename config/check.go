package config

// Kinds of [[check]], as Check.Kind names them (and the status page,
// metrics and alerts show them).
const (
	CheckHTTP     = "http"
	CheckTCP      = "tcp"
	CheckPostgres = "postgres"
	CheckDisk     = "disk"
	CheckTraffic  = "traffic" // route = PATH
)

// Kind is the kind of check c is, by the target it sets (http, tcp,
// postgres, disk or route, the last being "traffic"); "" when it sets
// none (Validate reports that).
func (c Check) Kind() string {
	switch {
	case c.HTTP != "":
		return CheckHTTP
	case c.TCP != "":
		return CheckTCP
	case c.Postgres != "":
		return CheckPostgres
	case c.Disk != "":
		return CheckDisk
	case c.Route != "":
		return CheckTraffic
	}
	return ""
}
