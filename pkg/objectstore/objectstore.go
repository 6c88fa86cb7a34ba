// Package objectstore works on a co-op's buckets through the S3 API with a
// bucket's own credentials: counting what a bucket holds and emptying it,
// deliberately, when the person has confirmed it.
//
// It is one of three S3 packages, each with its own job: this one is the
// client for small whole-bucket chores (destroy, plan's counts);
// migrate/objects is the copier, built for millions of objects with a
// journal and hashes; s3server runs a real S3 server for the sandbox and
// the tests. They share the Bucket type defined here, not code.
package objectstore

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Bucket is one bucket and how to reach it.
type Bucket struct {
	Endpoint  string // https://s3.bhs.io.cloud.ovh.net
	Name      string
	AccessKey string
	SecretKey string
}

// Client connects to the bucket's endpoint, path-style (it works
// everywhere) and with the region the bucket reports.
func (b Bucket) Client() (*minio.Client, error) {
	u, err := url.Parse(b.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bucket %s: %q is not an S3 endpoint", b.Name, b.Endpoint)
	}
	return minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""), Secure: u.Scheme == "https", BucketLookup: minio.BucketLookupPath,
	})
}

// SigningRegion is the region an S3 client signs for at the endpoint's
// host: the one in a DigitalOcean Spaces or OVHcloud host name (they
// refuse another), else us-east-1, which Ceph RGW and versitygw accept.
func SigningRegion(host string) string {
	if r, ok := strings.CutSuffix(host, ".digitaloceanspaces.com"); ok && !strings.Contains(r, ".") {
		return r
	}
	if r, ok := strings.CutSuffix(host, ".io.cloud.ovh.net"); ok {
		if r, ok := strings.CutPrefix(r, "s3."); ok && !strings.Contains(r, ".") {
			return r
		}
	}
	return "us-east-1"
}

// Usage counts a bucket's objects and bytes, listing page by page.
func (b Bucket) Usage(ctx context.Context) (objects, bytes int64, err error) {
	c, err := b.Client()
	if err != nil {
		return 0, 0, err
	}
	for obj := range c.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return 0, 0, obj.Err
		}
		objects++
		bytes += obj.Size
	}
	return objects, bytes, nil
}

// Empty deletes every object of the bucket in batches, reporting the
// running count; it is called only after the person has confirmed.
func (b Bucket) Empty(ctx context.Context, progress func(deleted int64)) error {
	c, err := b.Client()
	if err != nil {
		return err
	}
	objects := make(chan minio.ObjectInfo)
	go func() {
		defer close(objects)
		for obj := range c.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if obj.Err != nil {
				return
			}
			select {
			case objects <- obj:
			case <-ctx.Done():
				return
			}
		}
	}()
	var deleted int64
	for res := range c.RemoveObjectsWithResult(ctx, b.Name, objects, minio.RemoveObjectsOptions{}) {
		if res.Err != nil {
			return fmt.Errorf("emptying %s: %s: %w", b.Name, res.ObjectName, res.Err)
		}
		deleted++
		if progress != nil && deleted%500 == 0 {
			progress(deleted)
		}
	}
	if progress != nil {
		progress(deleted)
	}
	objs, _, err := b.Usage(ctx)
	if err != nil {
		return err
	}
	if objs != 0 {
		return fmt.Errorf("bucket %s still holds %d objects after emptying", b.Name, objs)
	}
	return nil
}

// HumanBytes writes a size the way people read it.
func HumanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
