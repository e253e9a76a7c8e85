package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/time/rate"
)

// DefaultPartSize is the multipart part size. Parts are read from the
// backup file as they are sent, never buffered, so memory does not grow
// with it; a 10 GB dump takes 597 parts, well under S3's 10,000.
const DefaultPartSize = 16 << 20

// S3Options tune the S3 store; zero values take the defaults.
type S3Options struct {
	// PartSize is the multipart part size. Default: DefaultPartSize.
	PartSize int64
	// Attempts is how often one request is tried. Default: 5.
	Attempts int
	// Parallel is how many parts are uploaded at once. Default: 4.
	Parallel int
	// Backoff is the wait after the first failed attempt, doubled after
	// each next one (capped at 1 minute). Default: 2s.
	Backoff time.Duration
}

// S3 is a Store in an S3-compatible bucket, through minio-go.
type S3 struct {
	core     minio.Core
	bucket   string
	endpoint string
	partSize int64
	parallel int
	attempts int
	backoff  time.Duration
	limit    *rate.Limiter // nil: no bandwidth cap
}

// NewS3 connects nothing yet: it builds the client for cfg, which Validate
// accepted.
func NewS3(cfg *config.BackupRemote, opts S3Options) (*S3, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("backup.remote.endpoint %q: not a URL", cfg.Endpoint)
	}
	tr, err := transport(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupDNS
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey.Reveal(), cfg.SecretKey.Reveal(), ""),
		Secure: u.Scheme == "https", Region: cfg.Region, BucketLookup: lookup, Transport: tr,
		MaxRetries: 1, // edge retries whole requests itself, with its own backoff
	})
	if err != nil {
		return nil, fmt.Errorf("backup.remote: %w", err)
	}
	s := &S3{core: minio.Core{Client: c}, bucket: cfg.Bucket(), endpoint: cfg.Endpoint,
		partSize: opts.PartSize, parallel: opts.Parallel, attempts: opts.Attempts, backoff: opts.Backoff}
	if s.partSize <= 0 {
		s.partSize = DefaultPartSize
	}
	if s.parallel <= 0 {
		s.parallel = 4
	}
	if s.attempts <= 0 {
		s.attempts = 5
	}
	if s.backoff <= 0 {
		s.backoff = 2 * time.Second
	}
	if bw := cfg.BandwidthBytes(); bw > 0 {
		s.limit = rate.NewLimiter(rate.Limit(bw), int(min(bw, 1<<20)))
	}
	return s, nil
}

// transport is an HTTP transport that also trusts caFile's roots.
func transport(caFile string) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 2 * time.Minute
	tr.MaxIdleConnsPerHost = 4
	if caFile == "" {
		return tr, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("backup.remote.ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("backup.remote.ca_file %s: no PEM certificate in it", caFile)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr, nil
}

// Get opens key for reading.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	var rc io.ReadCloser
	var info minio.ObjectInfo
	err := s.retry(ctx, "download "+key, func() error {
		var err error
		rc, info, _, err = s.core.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
		return err
	})
	if err != nil {
		return nil, Object{}, err
	}
	return rc, objectOf(info), nil
}

// Stat describes key, with its metadata.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	var info minio.ObjectInfo
	err := s.retry(ctx, "stat "+key, func() error {
		var err error
		info, err = s.core.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
		return err
	})
	return objectOf(info), err
}

// List describes every object whose key starts with prefix.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	err := s.retry(ctx, "list "+prefix, func() error {
		out = out[:0]
		for info := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if info.Err != nil {
				return info.Err
			}
			out = append(out, objectOf(info))
		}
		return nil
	})
	return out, err
}

// Delete removes key; a missing key is not an error.
func (s *S3) Delete(ctx context.Context, key string) error {
	err := s.retry(ctx, "delete "+key, func() error {
		return s.core.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func objectOf(info minio.ObjectInfo) Object {
	o := Object{Key: info.Key, Size: info.Size, ETag: strings.Trim(info.ETag, `"`), Modified: info.LastModified}
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, "sha256") || strings.EqualFold(k, "X-Amz-Meta-Sha256") {
			o.SHA256 = v
		}
	}
	if o.SHA256 == "" {
		o.SHA256 = info.Metadata.Get("X-Amz-Meta-Sha256")
	}
	return o
}
