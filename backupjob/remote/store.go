package remote

import (
	"context"
	"errors"
	"io"
	"time"
)

// Object describes one stored object.
type Object struct {
	// Key is the object's full key in the bucket.
	Key string
	// Size is its length in bytes.
	Size int64
	// ETag is the service's entity tag, without quotes.
	ETag string
	// SHA256 is the hex SHA-256 edge stored in the object's metadata at
	// upload ("" when absent or not returned by List).
	SHA256 string
	// Modified is when the service last wrote it.
	Modified time.Time
}

// Store is the small part of an S3-compatible service that off-site
// backups use. S3 implements it; unit tests use an in-memory fake.
type Store interface {
	// Put uploads size bytes read from src as key, with the SHA-256 sum
	// (hex) of the whole object recorded in its metadata. When the bytes
	// read do not hash to sum, the upload is not completed
	// (ErrLocalChanged).
	Put(ctx context.Context, key string, src io.ReaderAt, size int64, sum string) (Object, error)
	// Get opens key for reading.
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// Stat describes key, with its metadata.
	Stat(ctx context.Context, key string) (Object, error)
	// List describes every object whose key starts with prefix.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ErrLocalChanged reports a local backup file that no longer hashes to
// the sum it is uploaded with: the upload is not completed.
var ErrLocalChanged = errors.New("backup file changed on disk (not uploaded)")

// ErrNotFound reports a missing object.
var ErrNotFound = errors.New("no such object")
