package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
)

// ErrPermanent marks a failure that retrying cannot fix (credentials,
// a missing bucket, the clock): the error says which key to fix.
var ErrPermanent = errors.New("not retried")

// retry runs fn up to s.attempts times, waiting s.backoff, then twice as
// long each time (at most a minute), and explains the last error.
// Permanent errors and the end of ctx stop it at once.
func (s *S3) retry(ctx context.Context, what string, fn func() error) error {
	wait := s.backoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(); err == nil {
			return nil
		}
		err = s.explain(err)
		if errors.Is(err, ErrPermanent) || errors.Is(err, ErrNotFound) || ctx.Err() != nil || attempt >= s.attempts {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (gave up: %w)", what, err, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(2*wait, time.Minute)
	}
	if errors.Is(err, ErrPermanent) || errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w (after %d attempts)", what, err, s.attempts)
}

// explain turns the service's answer into an error that names the
// setting to fix.
func (s *S3) explain(err error) error {
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "":
		if resp.StatusCode == 0 {
			return fmt.Errorf("cannot reach backup.remote.endpoint %s: %w", s.endpoint, err)
		}
	case minio.NoSuchKey:
		return fmt.Errorf("%w: %s", ErrNotFound, resp.Key)
	case minio.NoSuchBucket:
		return fmt.Errorf("%w: bucket %q does not exist at %s (fix: create it, or correct the bucket in backup.remote.url; "+
			"an unknown backup.remote.access_key is answered the same way by some services)", ErrPermanent, s.bucket, s.endpoint)
	case minio.InvalidAccessKeyID:
		return fmt.Errorf("%w: the service does not know this access key (fix: backup.remote.access_key)", ErrPermanent)
	case "SignatureDoesNotMatch":
		return fmt.Errorf("%w: the request signature was refused: wrong secret key (fix: backup.remote.secret_key), "+
			"or a wrong backup.remote.region", ErrPermanent)
	case "RequestTimeTooSkewed":
		return fmt.Errorf("%w: this machine's clock is too far from the service's (S3 signatures are valid for 15 minutes; "+
			"fix: synchronise the clock, such as timedatectl set-ntp true)", ErrPermanent)
	case "AccessDenied", "InvalidBucketName", "AuthorizationHeaderMalformed":
		return fmt.Errorf("%w: %s: %s (fix: backup.remote.access_key, secret_key and region, and a bucket policy "+
			"that allows s3:PutObject, GetObject, ListBucket and DeleteObject)", ErrPermanent, resp.Code, resp.Message)
	}
	switch resp.StatusCode {
	case http.StatusForbidden:
		return fmt.Errorf("%w: access denied (%d %s; fix: backup.remote.access_key and secret_key)", ErrPermanent, resp.StatusCode, resp.Code)
	case http.StatusNotFound:
		if resp.Key != "" {
			return fmt.Errorf("%w: %s", ErrNotFound, resp.Key)
		}
		return fmt.Errorf("%w: bucket %q not found at %s, or the service does not know backup.remote.access_key "+
			"(fix: create the bucket, or correct backup.remote.url or backup.remote.access_key)", ErrPermanent, s.bucket, s.endpoint)
	}
	return err
}
