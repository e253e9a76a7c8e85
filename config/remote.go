package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// BackupRemote configures the off-site copy of every backup in an
// S3-compatible bucket ([backup.remote]).
type BackupRemote struct {
	// URL is "s3://BUCKET/PREFIX": the bucket and the key prefix.
	URL string `toml:"url"`
	// Endpoint is the service's base URL. Default:
	// "https://s3.REGION.amazonaws.com".
	Endpoint string `toml:"endpoint"`
	// Region signs the requests. Default: "us-east-1".
	Region string `toml:"region"`
	// AccessKey and SecretKey are the credentials (from the environment).
	AccessKey Secret `toml:"access_key"`
	SecretKey Secret `toml:"secret_key"`
	// PathStyle uses https://endpoint/BUCKET/KEY URLs instead of
	// https://BUCKET.endpoint/KEY.
	PathStyle bool `toml:"path_style"`
	// CAFile is an extra root CA (PEM) for a private endpoint.
	CAFile string `toml:"ca_file"`
	// RequireEncryption refuses to upload a backup that is not
	// age-encrypted. Default: true.
	RequireEncryption *bool `toml:"require_encryption"`
	// Bandwidth caps the upload rate per second, such as "20MB"; "": none.
	Bandwidth string `toml:"bandwidth"`
	// Drill is "weekly", "monthly" or "off": how often the newest remote
	// copy is restored into a scratch target. Default: "monthly".
	Drill string `toml:"drill"`
	// DrillIdentity is an age identity file that lets the drill decrypt
	// and restore encrypted backups; "": the drill of an encrypted backup
	// checks the downloaded copy's SHA-256 only.
	DrillIdentity string `toml:"drill_identity"`
	// KeepDaily, KeepWeekly and KeepMonthly are the remote retention.
	// Default: [backup]'s.
	KeepDaily   int `toml:"keep_daily"`
	KeepWeekly  int `toml:"keep_weekly"`
	KeepMonthly int `toml:"keep_monthly"`
}

// Drill intervals of [backup.remote].
const (
	DrillWeekly  = "weekly"
	DrillMonthly = "monthly"
	DrillOff     = "off"
)

// EncryptionRequired reports whether unencrypted uploads are refused.
func (r *BackupRemote) EncryptionRequired() bool {
	return r.RequireEncryption == nil || *r.RequireEncryption
}

// BandwidthBytes is the upload cap in bytes per second; 0 means none.
// The value was checked by Validate.
func (r *BackupRemote) BandwidthBytes() int64 {
	if strings.TrimSpace(r.Bandwidth) == "" {
		return 0
	}
	n, _ := ParseByteSize(r.Bandwidth)
	return n
}

// Bucket and Prefix split URL; Prefix is "" or ends in "/". The value was
// checked by Validate.
func (r *BackupRemote) Bucket() string { b, _, _ := ParseRemoteURL(r.URL); return b }

// Prefix is the key prefix of URL ("" or ending in "/").
func (r *BackupRemote) Prefix() string { _, p, _ := ParseRemoteURL(r.URL); return p }

// ErrRemoteURL reports a [backup.remote] url that is not s3://BUCKET/PREFIX.
var ErrRemoteURL = errors.New(`not an s3://BUCKET/PREFIX URL (fix: such as "s3://gitcourse-backups/prod")`)

var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ParseRemoteURL splits "s3://BUCKET/PREFIX" into the bucket and the key
// prefix, which is "" or ends in "/". Bucket names follow the S3 rules
// (3-63 lowercase letters, digits, dots and hyphens); the prefix may not
// hold empty, "." or ".." segments.
func ParseRemoteURL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q: %w", s, ErrRemoteURL)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if !bucketRE.MatchString(bucket) || strings.Contains(bucket, "..") || net.ParseIP(bucket) != nil {
		return "", "", fmt.Errorf("%q: bucket %q: %w", s, bucket, ErrRemoteURL)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return bucket, "", nil
	}
	for _, seg := range strings.Split(prefix, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\\?#\x00") || !isPrintable(seg) {
			return "", "", fmt.Errorf("%q: prefix segment %q: %w", s, seg, ErrRemoteURL)
		}
	}
	return bucket, prefix + "/", nil
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func (r *BackupRemote) applyDefaults(b *Backup, pos positions) {
	setDefault(&r.Region, "us-east-1")
	if r.Endpoint == "" {
		r.Endpoint = "https://s3." + r.Region + ".amazonaws.com"
	}
	setDefault(&r.Drill, DrillMonthly)
	if r.RequireEncryption == nil {
		t := true
		r.RequireEncryption = &t
	}
	for _, k := range []struct {
		key      string
		v        *int
		fallback int
	}{{"keep_daily", &r.KeepDaily, b.KeepDaily}, {"keep_weekly", &r.KeepWeekly, b.KeepWeekly}, {"keep_monthly", &r.KeepMonthly, b.KeepMonthly}} {
		if !pos.has("backup.remote." + k.key) {
			*k.v = k.fallback
		}
	}
}

// backupRemote validates [backup.remote].
func (v *validator) backupRemote(b *Backup) {
	r := b.Remote
	if r == nil {
		return
	}
	const p = "backup.remote."
	if r.URL == "" {
		v.failf(p+"url", ErrRequired, `the bucket and prefix, such as "s3://gitcourse-backups/prod"`)
	} else if _, _, err := ParseRemoteURL(r.URL); err != nil {
		v.fail(p+"url", err)
	}
	v.remoteEndpoint(p+"endpoint", r.Endpoint)
	if r.AccessKey == "" {
		v.failf(p+"access_key", ErrRequired, `such as "${S3_ACCESS_KEY}"`)
	}
	if r.SecretKey == "" {
		v.failf(p+"secret_key", ErrRequired, `such as "${S3_SECRET_KEY}"`)
	} else {
		v.fromEnv(p + "secret_key")
	}
	if r.CAFile != "" {
		v.rootFile(p+"ca_file", r.CAFile)
	}
	if r.DrillIdentity != "" {
		v.identityFile(p+"drill_identity", r.DrillIdentity)
	}
	if strings.TrimSpace(r.Bandwidth) != "" {
		if n, err := ParseByteSize(r.Bandwidth); err != nil {
			v.fail(p+"bandwidth", err)
		} else if n < 64*1024 {
			v.failf(p+"bandwidth", ErrInvalidValue, "%q is below 64KiB per second (fix: a larger value, or \"\" for no cap)", r.Bandwidth)
		}
	}
	switch r.Drill {
	case DrillWeekly, DrillMonthly, DrillOff:
	default:
		v.failf(p+"drill", ErrInvalidValue, "%q (fix: \"weekly\", \"monthly\" or \"off\")", r.Drill)
	}
	for key, n := range map[string]int{"keep_daily": r.KeepDaily, "keep_weekly": r.KeepWeekly, "keep_monthly": r.KeepMonthly} {
		if n < 0 {
			v.failf(p+key, ErrInvalidValue, "%d must not be negative", n)
		}
	}
}

// remoteEndpoint accepts an https:// URL, or http:// to a loopback
// address only (credentials and backups never cross a network in clear).
func (v *validator) remoteEndpoint(key, raw string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.User != nil {
		v.failf(key, ErrInvalidValue, "%q is not a base URL such as \"https://s3.eu-central-1.amazonaws.com\"", raw)
		return
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		v.failf(key, ErrInvalidValue, "%q: plain http only to a loopback address (fix: use https://)", raw)
	}
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
