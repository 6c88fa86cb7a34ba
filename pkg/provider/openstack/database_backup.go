package openstack

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/cosocial/cosocial/pkg/provider"
)

// Backup is the bucket the nightly dumps go to and the S3 keys that reach
// it. The keys are written into the server's user data, in a root-only
// file.
type Backup struct {
	Endpoint    string // the S3 endpoint, e.g. the bucket's
	Bucket      string
	Prefix      string // before "<database>/<time>.dump"; e.g. "db/main/"
	Credentials provider.S3Credentials
	// Schedule is a systemd OnCalendar expression; empty is 03:17 UTC.
	Schedule string
}

// backupFor makes, or finds again, the private, versioned bucket
// "<name>-backups" that a self-managed database's nightly dumps go to,
// with an EC2 credential that reaches it. Nothing deletes it with the
// database: the dumps are what is left after a mistake. A database made
// again under the same name finds it, and a credential of the project
// that reaches it. A cloud without object storage gets no dumps, and is
// told so.
func (c *Cloud) backupFor(ctx context.Context, s *session, name string) (*Backup, error) {
	endpoint, err := c.s3Endpoint(s)
	if err != nil {
		provider.Report(ctx, "database %s: no nightly dumps: %v", name, err)
		return nil, nil
	}
	bucket := name + "-backups"
	known, err := c.ec2List(ctx, s)
	if err != nil {
		return nil, err
	}
	access := make([]string, 0, len(known))
	for a := range known {
		access = append(access, a)
	}
	sort.Strings(access)
	for _, a := range access {
		creds := provider.S3Credentials{AccessKey: a, SecretKey: known[a].Secret}
		mc, err := c.s3Client(endpoint, creds)
		if err != nil {
			return nil, err
		}
		if ok, err := mc.BucketExists(ctx, bucket); err == nil && ok {
			return &Backup{Endpoint: endpoint, Bucket: bucket, Credentials: creds}, nil
		}
	}
	creds, err := c.ec2Credential(ctx, s)
	if err != nil {
		return nil, err
	}
	if _, err := c.makeBucket(ctx, endpoint, creds, provider.BucketSpec{Name: bucket, Versioned: true}); err != nil {
		if derr := c.deleteEC2(ctx, s, creds.AccessKey); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, fmt.Errorf("database %s: the bucket for its nightly dumps: %w", name, err)
	}
	return &Backup{Endpoint: endpoint, Bucket: bucket, Credentials: creds}, nil
}
