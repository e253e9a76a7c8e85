// Command s3put uploads one file with minio-go's own uploader
// (FPutObject, its defaults: parallel parts read from the file), as the
// reference for bench/offsite.sh.
//
//	s3put -endpoint http://127.0.0.1:PORT -bucket B -key K FILE
//
// Credentials come from S3_ACCESS_KEY and S3_SECRET_KEY.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func main() {
	endpoint := flag.String("endpoint", "", "service base URL")
	bucket := flag.String("bucket", "", "bucket")
	key := flag.String("key", "", "object key")
	flag.Parse()
	if flag.NArg() != 1 || *endpoint == "" || *bucket == "" || *key == "" {
		fmt.Fprintln(os.Stderr, "usage: s3put -endpoint URL -bucket B -key K FILE")
		os.Exit(2)
	}
	u, err := url.Parse(*endpoint)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3put:", err)
		os.Exit(2)
	}
	c, err := minio.New(u.Host, &minio.Options{Secure: u.Scheme == "https", Region: "us-east-1",
		Creds: credentials.NewStaticV4(os.Getenv("S3_ACCESS_KEY"), os.Getenv("S3_SECRET_KEY"), ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3put:", err)
		os.Exit(1)
	}
	start := time.Now()
	info, err := c.FPutObject(context.Background(), *bucket, *key, flag.Arg(0), minio.PutObjectOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3put:", err)
		os.Exit(1)
	}
	fmt.Printf("uploaded %d bytes in %s\n", info.Size, time.Since(start).Round(time.Millisecond))
}
