// Package config parses, expands, defaults and validates edge's TOML configuration.
//
// It is pure: no goroutines and no I/O beyond reading the file, stat-ing the
// paths it names and reading the TLS files it names (as tlsmgr will). Every
// other package receives a validated *Config.
//
// Every value the running program parses is parsed here, once, so that
// "edge validate" and "edge run" cannot disagree: durations, sizes, the
// backup schedule (Schedule), age recipients (Recipient), host:port values
// (ParseHostPort), networks (ParseNetwork), the kind of a check
// (Check.Kind). server's TestValidateAgreesWithRun holds that line.
//
// The file is strict: an unknown key is an error reported with its line.
// "${VAR}" inside a string value is replaced from the environment; a missing
// variable is an error. Validation reports every problem at once, each as
// "FILE:LINE: key: reason".
package config

// Config is the whole of edge's configuration, one field per TOML table.
type Config struct {
	// Server holds listeners, state and logging.
	Server Server `toml:"server"`
	// Site describes the static frontend.
	Site Site `toml:"site"`
	// Routes are reverse-proxied path prefixes; the longest prefix wins.
	Routes []Route `toml:"route"`
	// TLS configures certificates (ACME, internal CA or files).
	TLS TLS `toml:"tls"`
	// Headers are the security headers added to every response.
	Headers Headers `toml:"headers"`
	// Admin protects the status page, status JSON and metrics.
	Admin Admin `toml:"admin"`
	// Backup configures PostgreSQL backups; nil when the table is absent.
	Backup *Backup `toml:"backup"`
	// Checks are health checks beside the built-in ones.
	Checks []Check `toml:"check"`
	// Alerts configures where alerts are sent.
	Alerts Alerts `toml:"alerts"`
	// Limits are request rate, in-flight and ban rules (config/limits.go).
	Limits []Limit `toml:"limit"`
	// Logs ships edge's log lines to a central collector; nil when the
	// table is absent (config/logs.go).
	Logs *Logs `toml:"logs"`
	// Cluster shares state with other edge instances in PostgreSQL; nil
	// when the table is absent (a single instance).
	Cluster *Cluster `toml:"cluster"`

	// File is the path the configuration was read from; "" for built-in defaults.
	File string `toml:"-"`
	// pos maps a key path ("server.http", "route[0].path") to its line.
	pos positions
	// rawValues holds string values as written, before ${VAR} expansion.
	rawValues map[string]string
	// unexpanded holds the keys whose ${VAR} could not be expanded; Parse
	// reported them, so Validate does not report them a second time.
	unexpanded map[string]bool
	// builtin marks the configuration from Local: it has no file that could
	// hold a secret, and its domains may be IP addresses.
	builtin bool
}

// Server holds the listeners, the state directory and the access log.
type Server struct {
	// HTTP is the plain-HTTP listen address, used only when systemd passes no
	// socket named "http". Default: ":80".
	HTTP string `toml:"http"`
	// HTTPS is the HTTPS listen address, used only when systemd passes no
	// socket named "https". "" disables HTTPS: the site is then served over
	// plain HTTP (for local use and benchmarks only). Default: ":443".
	HTTPS string `toml:"https"`
	// StateDir holds ACME certificates (certs/), the internal CA (ca/) and
	// the uptime history of the checks (history/).
	// Default: "/var/lib/edge".
	StateDir string `toml:"state_dir"`
	// AdminSocket is the unix socket "edge status" and "edge reload" use.
	// Default: "/run/edge/admin.sock".
	AdminSocket string `toml:"admin_socket"`
	// AccessLog is "stdout" (journald), "off", or a file path rotated by edge.
	// Default: "stdout".
	AccessLog string `toml:"access_log"`
	// ShutdownTimeout bounds how long in-flight requests may drain on stop.
	// Default: "10s".
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// TrustedProxies are the networks (CIDR, or a single address) of proxies
	// in front of edge, such as a cloud load balancer. From such a peer the
	// X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and X-Request-ID
	// headers are kept (X-Forwarded-For appended to); from any other peer
	// they are replaced. Default: [] (trust no one).
	TrustedProxies []string `toml:"trusted_proxies"`
	// MaxConnsPerIP caps the open connections of one client address (IPv6:
	// one /64); connections from trusted_proxies are not counted.
	// 0: no cap. Default: 256.
	MaxConnsPerIP int `toml:"max_conns_per_ip"`
	// HTTP3 also serves HTTP/3 (QUIC) on UDP at the HTTPS port (the socket
	// systemd passes as "h3", else bound by edge) and advertises it with
	// Alt-Svc on HTTPS responses. Needs https. Default: true.
	HTTP3 *bool `toml:"http3"`
	// HTTP30RTT accepts TLS early data (0-RTT) on HTTP/3 resumptions: one
	// round trip less, but early data can be replayed, so only GET, HEAD and
	// OPTIONS are served from it and other methods get 425 Too Early.
	// Default: false.
	HTTP30RTT bool `toml:"http3_0rtt"`
}

// Site describes the static frontend and the names it is served under.
type Site struct {
	// Domains are the host names edge answers for; requests for any other
	// Host get 404 and no certificate is ever requested for them.
	Domains []string `toml:"domains"`
	// Canonical is the domain the others 308-redirect to. Default: none.
	Canonical string `toml:"canonical"`
	// Root is the directory with index.html (often a "current" symlink).
	Root string `toml:"root"`
	// SPA serves index.html with 200 for unknown extensionless paths.
	// Default: true.
	SPA *bool `toml:"spa"`
	// Immutable path prefixes get "Cache-Control: public, max-age=31536000,
	// immutable". Default: ["/assets/"].
	Immutable []string `toml:"immutable"`
	// Compress lists the encodings offered, in order of preference
	// ("br", "gzip"). Default: ["br", "gzip"].
	Compress []string `toml:"compress"`
}

// SPAEnabled reports whether SPA fallback is on (the default).
func (s Site) SPAEnabled() bool { return s.SPA == nil || *s.SPA }

// Route is one reverse-proxied path prefix.
type Route struct {
	// Path is the URL path prefix, starting with "/".
	Path string `toml:"path"`
	// Upstreams are "host:port" backends; several are load-balanced.
	Upstreams []string `toml:"upstreams"`
	// Health is the active health check of the upstreams.
	Health HealthProbe `toml:"health"`
	// Timeouts bound the upstream connection.
	Timeouts Timeouts `toml:"timeouts"`
	// MaxBody is the largest request body accepted (413 above). Default: "10MB".
	MaxBody ByteSize `toml:"max_body"`
	// PassHost sends the Host the client asked for to the upstream; false
	// sends the upstream's own "host:port". Default: true.
	PassHost *bool `toml:"pass_host"`
	// PassiveCooldown is how long an upstream that refused or reset a
	// connection is skipped by the load balancer; "0s" turns passive checks
	// off. Default: "10s".
	PassiveCooldown Duration `toml:"passive_cooldown"`
	// RetryWindow is how long a request whose upstream connection was
	// refused or could not be opened (nothing of it was sent) waits, retried
	// with a short backoff, for an upstream to accept before the 502; any
	// method may wait. "0s" answers 502 at once. Default: "5s".
	RetryWindow Duration `toml:"retry_window"`
	// RetryMaxWaiting caps the requests of the route waiting within
	// retry_window at once; the next one gets 503 with Retry-After.
	// Default: 1024.
	RetryMaxWaiting int `toml:"retry_max_waiting"`
}

// PassHostEnabled reports whether the client's Host is sent upstream (the
// default).
func (r Route) PassHostEnabled() bool { return r.PassHost == nil || *r.PassHost }

// HealthProbe is an active upstream health check.
type HealthProbe struct {
	// Path is requested on each upstream; "" disables active checks.
	Path string `toml:"path"`
	// Interval between probes. Default: "10s".
	Interval Duration `toml:"interval"`
	// Timeout of one probe. Default: "2s".
	Timeout Duration `toml:"timeout"`
	// Healthy is how many consecutive successful probes (2xx or 3xx) bring
	// a down upstream back. Default: 2.
	Healthy int `toml:"healthy"`
	// Unhealthy is how many consecutive failed probes take an upstream
	// down. Default: 3.
	Unhealthy int `toml:"unhealthy"`
}

// Timeouts bound one upstream exchange.
type Timeouts struct {
	// Connect bounds dialing the upstream (502 after). Default: "2s".
	Connect Duration `toml:"connect"`
	// ResponseHeader bounds waiting for the response header (504 after).
	// Default: "30s".
	ResponseHeader Duration `toml:"response_header"`
	// Idle closes pooled upstream connections unused this long. Default: "90s".
	Idle Duration `toml:"idle"`
}

// TLS configures where certificates come from.
type TLS struct {
	// Email is the ACME account contact.
	Email string `toml:"email"`
	// ACMECA is the ACME directory URL. Default: Let's Encrypt production.
	ACMECA string `toml:"acme_ca"`
	// ACMECARoot is a PEM file of an extra root trusted for the ACME server.
	ACMECARoot string `toml:"acme_ca_root"`
	// Challenges are the ACME challenge types allowed.
	// Default: ["http-01", "tls-alpn-01"].
	Challenges []string `toml:"challenges"`
	// Internal issues certificates from edge's own local CA instead of ACME.
	Internal bool `toml:"internal"`
	// MinVersion is the lowest TLS version accepted, "1.2" or "1.3".
	// Default: "1.2".
	MinVersion string `toml:"min_version"`
	// Certificates are bring-your-own certificate files, used for the names
	// they cover instead of ACME.
	Certificates []CertFile `toml:"certificates"`
	// RenewInterval is how often managed certificates are checked for
	// renewal. Default: "10m".
	RenewInterval Duration `toml:"renew_interval"`
	// RenewalWindowRatio renews a certificate when this fraction of its
	// lifetime is left (ARI, where the CA offers it, takes precedence).
	// Default: 0.33.
	RenewalWindowRatio float64 `toml:"renewal_window_ratio"`
	// ReadyTimeout bounds how long start-up (the systemd READY signal) waits
	// for the first certificates while they are obtained. Default: "60s".
	ReadyTimeout Duration `toml:"ready_timeout"`
}

// CertFile is one bring-your-own certificate and its key.
type CertFile struct {
	// Cert is a PEM file with the full chain.
	Cert string `toml:"cert"`
	// Key is the PEM private key.
	Key string `toml:"key"`
}

// Headers are the security headers; each may be set to "" to drop it.
type Headers struct {
	// HSTS is Strict-Transport-Security, sent over HTTPS only.
	HSTS *string `toml:"hsts"`
	// CSP is Content-Security-Policy.
	CSP *string `toml:"csp"`
	// CSPReportOnly sends the CSP as Content-Security-Policy-Report-Only.
	CSPReportOnly bool `toml:"csp_report_only"`
	// FrameOptions is X-Frame-Options.
	FrameOptions *string `toml:"frame_options"`
	// ReferrerPolicy is Referrer-Policy.
	ReferrerPolicy *string `toml:"referrer_policy"`
	// PermissionsPolicy is Permissions-Policy.
	PermissionsPolicy *string `toml:"permissions_policy"`
}

// Admin protects the admin pages.
type Admin struct {
	// Path is the URL prefix of the admin pages. Default: "/admin".
	Path string `toml:"path"`
	// Users maps user names to bcrypt hashes (from the environment).
	Users map[string]Secret `toml:"users"`
	// Allow lists the client networks allowed at all (CIDR).
	// Default: ["127.0.0.1/32", "::1/128"].
	Allow []string `toml:"allow"`
	// Token, when set, is also accepted as "Authorization: Bearer TOKEN"
	// (for monitoring scrapers); at least 16 characters, from the
	// environment, such as "${EDGE_ADMIN_TOKEN}". Default: none.
	Token Secret `toml:"token"`
}

// Cluster makes every edge instance that uses the same database one
// cluster: certificates, locks, backup slots and membership are shared
// there (schema "edge"); each node keeps local copies to serve while
// PostgreSQL is down.
type Cluster struct {
	// DatabaseURL is the PostgreSQL database holding schema "edge" (from
	// the environment). edge creates and migrates the schema itself and
	// never touches other schemas.
	DatabaseURL Secret `toml:"database_url"`
	// Node is this instance's name, unique in the cluster: letters,
	// digits, ".", "-" and "_", at most 63. Default: the host name.
	Node string `toml:"node"`
}

// Backup configures PostgreSQL backups.
type Backup struct {
	// DatabaseURL is the database to dump (from the environment).
	DatabaseURL Secret `toml:"database_url"`
	// Dir is where backups and manifests are written.
	Dir string `toml:"dir"`
	// Schedule is "HH:MM" daily local time or a 5-field cron expression.
	// Default: "03:00".
	Schedule Schedule `toml:"schedule"`
	// Format is "custom" (pg_dump -Fc) or "plain-gzip". Default: "custom".
	Format string `toml:"format"`
	// KeepDaily is how many daily backups are kept. Default: 7.
	KeepDaily int `toml:"keep_daily"`
	// KeepWeekly is how many weekly backups are kept. Default: 4.
	KeepWeekly int `toml:"keep_weekly"`
	// KeepMonthly is how many monthly backups are kept. Default: 6.
	KeepMonthly int `toml:"keep_monthly"`
	// Verify is "none", "scratch-db" or "scratch-cluster".
	// Default: "scratch-cluster".
	Verify string `toml:"verify"`
	// EncryptTo lists age recipients ("age1..." or an SSH public key);
	// empty means not encrypted.
	EncryptTo []Recipient `toml:"encrypt_to"`
	// PGBin is the folder of pg_dump/pg_restore; "" searches PATH, then
	// /usr/lib/postgresql/*/bin.
	PGBin string `toml:"pg_bin"`
	// Remote is the off-site copy ([backup.remote]); nil when absent.
	Remote *BackupRemote `toml:"remote"`
}

// Check is one configured health check; exactly one of HTTP, TCP, Postgres,
// Disk and Route is set.
type Check struct {
	// Name identifies the check in alerts, metrics and the status page:
	// letters, digits, ".", "_" and "-", at most 64 characters.
	Name string `toml:"name"`
	// HTTP is a URL expected to answer 2xx (or Status); https URLs have
	// their certificate verified.
	HTTP string `toml:"http"`
	// TCP is a "host:port" expected to accept a connection.
	TCP string `toml:"tcp"`
	// Postgres is a database URL expected to answer SELECT 1.
	Postgres Secret `toml:"postgres"`
	// Disk is a path whose file system must keep MinFree bytes and
	// MinFreeInodes inodes free.
	Disk string `toml:"disk"`
	// Route is the path of a [[route]] whose traffic is judged from edge's
	// own counters: the share of 5xx answers and the p95 latency over
	// Window. It replaces the built-in traffic check of that route.
	Route string `toml:"route"`
	// MinFree is the free space a disk check requires. Default: "1GB".
	MinFree ByteSize `toml:"min_free"`
	// MinFreeInodes is the number of free inodes a disk check requires
	// (ignored on file systems without an inode limit). Default: 1000.
	MinFreeInodes int64 `toml:"min_free_inodes"`
	// Contains is a substring an HTTP check's body must contain.
	Contains string `toml:"contains"`
	// Status is the status code an HTTP check expects; 0 accepts any 2xx.
	// Default: 0.
	Status int `toml:"status"`
	// MaxErrorRate fails a route check when more than this share of the
	// requests in Window got a 5xx answer. Default: 0.05.
	MaxErrorRate float64 `toml:"max_error_rate"`
	// MaxP95 fails a route check when the 95th percentile latency in
	// Window is above it; "0s" turns the latency test off. Default: "2s".
	MaxP95 Duration `toml:"max_p95"`
	// Window is the time a route check looks back over. Default: "5m".
	Window Duration `toml:"window"`
	// MinRequests is the fewest requests in Window a route check judges;
	// with fewer it passes. Default: 20.
	MinRequests int `toml:"min_requests"`
	// Interval between runs; each run starts with a small random jitter.
	// Default: "30s".
	Interval Duration `toml:"interval"`
	// Timeout of one run, at most 80% of Interval. Default: "5s".
	Timeout Duration `toml:"timeout"`
	// Failures is how many failed runs in a row take the check down (and
	// send the alert). Default: 3.
	Failures int `toml:"failures"`
	// Successes is how many passed runs in a row bring a down check back
	// up (and send "resolved"); doubled while the check flaps. Default: 2.
	Successes int `toml:"successes"`
}

// Alerts configures the alert channels.
type Alerts struct {
	// Repeat re-sends an alert while a check is still failing. Default: "4h".
	Repeat Duration `toml:"repeat"`
	// HeartbeatURL is a dead man's switch (healthchecks.io, Uptime Kuma
	// push, ...): it gets a GET every HeartbeatInterval while no check is
	// down, so the silence of a dead host is noticed. Default: "" (off).
	HeartbeatURL Secret `toml:"heartbeat_url"`
	// HeartbeatInterval is how often HeartbeatURL is pinged. Default: "1m".
	HeartbeatInterval Duration `toml:"heartbeat_interval"`
	// BackupHeartbeatURL gets a GET after each successful backup.
	// Default: "" (off).
	BackupHeartbeatURL Secret `toml:"backup_heartbeat_url"`
	// Email sends alerts over SMTP.
	Email *Email `toml:"email"`
	// Telegram sends alerts through the Telegram Bot API.
	Telegram *Telegram `toml:"telegram"`
	// Webhook POSTs alerts as JSON.
	Webhook *Webhook `toml:"webhook"`
}

// Email is an SMTP alert channel. STARTTLS is used whenever the server
// offers it; credentials are sent without TLS only to a loopback server.
type Email struct {
	// SMTP is the server "host:port".
	SMTP string `toml:"smtp"`
	// From is the sender address.
	From string `toml:"from"`
	// To are the recipients.
	To []string `toml:"to"`
	// Username for SMTP AUTH.
	Username string `toml:"username"`
	// Password for SMTP AUTH (from the environment).
	Password Secret `toml:"password"`
	// Timeout bounds one delivery attempt. Default: "10s".
	Timeout Duration `toml:"timeout"`
}

// Telegram is a Telegram Bot API alert channel.
type Telegram struct {
	// Token is the bot token (from the environment).
	Token Secret `toml:"token"`
	// ChatID is the chat the bot writes to.
	ChatID string `toml:"chat_id"`
	// API is the Bot API base URL. Default: "https://api.telegram.org".
	API string `toml:"api"`
	// Timeout bounds one delivery attempt. Default: "10s".
	Timeout Duration `toml:"timeout"`
}

// Webhook is a generic JSON webhook alert channel; the body carries "text"
// (Slack), "content" (Discord), "message" and "title" (ntfy) besides
// structured fields.
type Webhook struct {
	// URL receives a JSON POST per alert (from the environment).
	URL Secret `toml:"url"`
	// Topic is added to the body as "topic", for ntfy's JSON publishing
	// at the server's root URL. Default: "".
	Topic string `toml:"topic"`
	// Timeout bounds one delivery attempt. Default: "10s".
	Timeout Duration `toml:"timeout"`
}

// Line returns the line of the key path in the file, or 0 when unknown.
func (c *Config) Line(key string) int { return c.pos.line(key) }
