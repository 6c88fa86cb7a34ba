package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/ec2credentials"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/cosocial/cosocial/pkg/provider"
)

// Buckets live on the cloud's S3 API (Ceph RGW at VEXXHOST), reached with
// Keystone EC2 credentials. Each bucket gets a credential of its own, which
// CreateBucket returns and DeleteBucket deletes. On RGW every EC2
// credential of the project reaches every bucket of the project, so "its
// own" means "made for it and removed with it", not "reaching only it".
//
// A bucket's ID is "<name>/<EC2 access key>": the name is what S3 knows,
// the access key which credential goes with it. The access key is not a
// secret; Keystone gives its secret to the credential's user on request.

func bucketID(name, access string) string { return name + "/" + access }

func splitBucketID(id string) (name, access string, err error) {
	name, access, ok := strings.Cut(id, "/")
	if !ok || name == "" || access == "" {
		return "", "", fmt.Errorf("openstack: %q is not a bucket ID (name/access-key)", id)
	}
	return name, access, nil
}

// publicSid marks the statement of the bucket policy that makes a bucket
// public, so that reading the policy back tells whether it is.
const publicSid = "cosocial-public-read"

// s3Endpoint is the S3 API of the region: the catalog's "s3" entry, or the
// root of its "object-store" (Swift) entry, where Ceph RGW also answers S3.
func (c *Cloud) s3Endpoint(s *session) (string, error) {
	eo := c.eo
	eo.Type = "s3"
	if u, err := s.provider.EndpointLocator(eo); err == nil {
		return strings.TrimSuffix(u, "/"), nil
	}
	eo.Type = "object-store"
	u, err := s.provider.EndpointLocator(eo)
	if err != nil {
		return "", fmt.Errorf("openstack: the cloud's catalog has neither an s3 nor an object-store service in %s", c.eo.Region)
	}
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	return p.Scheme + "://" + p.Host, nil
}

func (c *Cloud) s3Client(endpoint string, creds provider.S3Credentials) (*minio.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	opts := &minio.Options{Creds: credentials.NewStaticV4(creds.AccessKey, creds.SecretKey, ""), Secure: u.Scheme == "https", BucketLookup: minio.BucketLookupPath}
	if c.hc.Transport != nil {
		opts.Transport = c.hc.Transport
	}
	return minio.New(u.Host, opts)
}

// s3Error keeps S3's own code and message.
func s3Error(err error) error {
	if err == nil {
		return nil
	}
	r := minio.ToErrorResponse(err)
	if r.StatusCode == 0 {
		return err
	}
	api := &provider.APIError{Provider: "OpenStack S3", Status: r.StatusCode, Class: r.Code, Message: r.Message, QueryID: r.RequestID}
	if r.Code == "NoSuchBucket" {
		return fmt.Errorf("%w: %w", provider.ErrNotFound, api)
	}
	return api
}

func s3Code(err error) string {
	var api *provider.APIError
	if errors.As(err, &api) {
		return api.Class
	}
	return ""
}

func (c *Cloud) s3Do(ctx context.Context, op func() error) error {
	return c.cfg.Backoff.Do(ctx, func() error { return s3Error(op()) })
}

// ec2Credential makes an EC2 credential for the token's user and project.
func (c *Cloud) ec2Credential(ctx context.Context, s *session) (provider.S3Credentials, error) {
	// EC2 credentials carry nothing to tell them apart by: those there
	// before are the ones not made here, should a create answered with a
	// 5xx have happened all the same.
	before, err := c.ec2List(ctx, s)
	if err != nil {
		return provider.S3Credentials{}, err
	}
	var cred *ec2credentials.Credential
	err = c.cfg.Backoff.Do(ctx, func() error {
		now, err := c.ec2List(ctx, s)
		if err != nil {
			return err
		}
		for a, k := range now {
			if _, old := before[a]; !old {
				cred = &k
				return nil
			}
		}
		cred, err = ec2credentials.Create(ctx, s.identity, s.userID, ec2credentials.CreateOpts{TenantID: s.projectID}).Extract()
		return translate(err, "Keystone")
	})
	if err != nil {
		return provider.S3Credentials{}, err
	}
	return provider.S3Credentials{AccessKey: cred.Access, SecretKey: cred.Secret}, nil
}

// ec2List lists the user's EC2 credentials for the project by access key.
func (c *Cloud) ec2List(ctx context.Context, s *session) (map[string]ec2credentials.Credential, error) {
	var all []ec2credentials.Credential
	err := c.do(ctx, "Keystone", false, func() error {
		page, err := ec2credentials.List(s.identity, s.userID).AllPages(ctx)
		if err != nil {
			return err
		}
		all, err = ec2credentials.ExtractCredentials(page)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := map[string]ec2credentials.Credential{}
	for _, k := range all {
		if k.TenantID == s.projectID || k.TenantID == "" {
			out[k.Access] = k
		}
	}
	return out, nil
}

func (c *Cloud) deleteEC2(ctx context.Context, s *session, access string) error {
	err := c.do(ctx, "Keystone", false, func() error { return ec2credentials.Delete(ctx, s.identity, s.userID, access).ExtractErr() })
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	return err
}

// CreateBucket makes an EC2 credential for the bucket and creates the
// bucket through S3 with it, versioned and public as asked.
func (c *Cloud) CreateBucket(ctx context.Context, spec provider.BucketSpec) (*provider.Bucket, provider.S3Credentials, error) {
	var none provider.S3Credentials
	if spec.Region != "" && spec.Region != c.eo.Region {
		return nil, none, fmt.Errorf("openstack: bucket %s is for %s, but this provider works in %s", spec.Name, spec.Region, c.eo.Region)
	}
	s, err := c.login(ctx)
	if err != nil {
		return nil, none, err
	}
	endpoint, err := c.s3Endpoint(s)
	if err != nil {
		return nil, none, err
	}
	creds, err := c.ec2Credential(ctx, s)
	if err != nil {
		return nil, none, err
	}
	b, err := c.makeBucket(ctx, endpoint, creds, spec)
	if err != nil {
		// A credential made for a bucket that never came is of no use.
		if derr := c.deleteEC2(ctx, s, creds.AccessKey); derr != nil {
			err = errors.Join(err, fmt.Errorf("removing the EC2 credential made for it: %w", derr))
		}
		return nil, none, err
	}
	b.ID, b.UserID = bucketID(spec.Name, creds.AccessKey), creds.AccessKey
	return b, creds, nil
}

func (c *Cloud) makeBucket(ctx context.Context, endpoint string, creds provider.S3Credentials, spec provider.BucketSpec) (*provider.Bucket, error) {
	mc, err := c.s3Client(endpoint, creds)
	if err != nil {
		return nil, err
	}
	// Keystone may take a moment to let RGW see a new credential, which
	// answers InvalidAccessKeyId meanwhile: worth another try.
	err = c.cfg.Backoff.DoIf(ctx, func(err error) bool { return provider.Transient(err) || s3Code(err) == "InvalidAccessKeyId" }, func() error {
		return s3Error(mc.MakeBucket(ctx, spec.Name, minio.MakeBucketOptions{}))
	})
	switch {
	case err == nil, s3Code(err) == "BucketAlreadyOwnedByYou":
	default:
		return nil, fmt.Errorf("creating bucket %s: %w", spec.Name, err)
	}
	// Every EC2 credential of the project reaches the bucket, so which
	// one is its own (and goes with it) cannot be told by trying them:
	// the bucket says, in a tag.
	own, err := tags.NewTags(map[string]string{credentialTag: creds.AccessKey}, false)
	if err != nil {
		return nil, err
	}
	if err := c.s3Do(ctx, func() error { return mc.SetBucketTagging(ctx, spec.Name, own) }); err != nil {
		return nil, fmt.Errorf("tagging bucket %s with its credential: %w", spec.Name, err)
	}
	if spec.Versioned {
		if err := c.s3Do(ctx, func() error { return mc.EnableVersioning(ctx, spec.Name) }); err != nil {
			return nil, fmt.Errorf("turning versioning on for bucket %s: %w", spec.Name, err)
		}
	}
	if spec.Public {
		if err := c.setPublic(ctx, mc, spec.Name, true); err != nil {
			return nil, err
		}
	}
	return &provider.Bucket{Name: spec.Name, Region: c.eo.Region, Endpoint: endpoint, Public: spec.Public}, nil
}

// setPublic lets anyone read the bucket's objects, or stops it, with a
// bucket policy granting s3:GetObject to everyone: on Ceph RGW, as on
// AWS, a public-read bucket ACL lets anyone list the bucket but read
// none of its objects, so the policy is what makes media public. The
// bucket's own ACL stays private: nobody outside lists the media.
func (c *Cloud) setPublic(ctx context.Context, mc *minio.Client, name string, public bool) error {
	policy := ""
	if public {
		b, _ := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []map[string]any{{
				"Sid": publicSid, "Effect": "Allow", "Principal": map[string]any{"AWS": []string{"*"}},
				"Action": []string{"s3:GetObject"}, "Resource": []string{"arn:aws:s3:::" + name + "/*"},
			}},
		})
		policy = string(b)
	}
	err := c.s3Do(ctx, func() error { return mc.SetBucketPolicy(ctx, name, policy) })
	if err != nil && !(policy == "" && s3Code(err) == "NoSuchBucketPolicy") {
		return fmt.Errorf("setting the public-read policy of bucket %s to %v: %w", name, public, err)
	}
	return nil
}

// isPublic reads back whether anyone may read the bucket's objects: our
// policy statement.
func (c *Cloud) isPublic(ctx context.Context, mc *minio.Client, name string) (bool, error) {
	var policy string
	err := c.s3Do(ctx, func() error {
		var err error
		policy, err = mc.GetBucketPolicy(ctx, name)
		return err
	})
	if err != nil && s3Code(err) != "NoSuchBucketPolicy" {
		return false, fmt.Errorf("reading the policy of bucket %s: %w", name, err)
	}
	return strings.Contains(policy, publicSid), nil
}

// credential fetches a credential's secret again: Keystone shows it to its
// user on every read.
func (c *Cloud) credential(ctx context.Context, s *session, access string) (provider.S3Credentials, error) {
	var cred *ec2credentials.Credential
	err := c.do(ctx, "Keystone", false, func() error {
		var err error
		cred, err = ec2credentials.Get(ctx, s.identity, s.userID, access).Extract()
		return err
	})
	if err != nil {
		return provider.S3Credentials{}, err
	}
	return provider.S3Credentials{AccessKey: cred.Access, SecretKey: cred.Secret}, nil
}

// reach returns an S3 client that reaches bucket name: with the bucket's
// own credential first, then any other of the project's (on RGW they all
// do, so a bucket outlives the deletion of the credential made with it).
// provider.ErrNotFound when S3 says there is no such bucket.
func (c *Cloud) reach(ctx context.Context, s *session, name, access string) (mc *minio.Client, endpoint, used string, err error) {
	if endpoint, err = c.s3Endpoint(s); err != nil {
		return nil, "", "", err
	}
	candidates := []string{access}
	creds, err := c.ec2List(ctx, s)
	if err != nil {
		return nil, "", "", err
	}
	secrets := map[string]string{}
	for a, k := range creds {
		secrets[a] = k.Secret
		if a != access {
			candidates = append(candidates, a)
		}
	}
	sort.Strings(candidates[1:])
	var last error = fmt.Errorf("%w: bucket %s: the project has no EC2 credential left to reach it", provider.ErrNotFound, name)
	for _, a := range candidates {
		secret, ok := secrets[a]
		if !ok {
			continue
		}
		mc, err = c.s3Client(endpoint, provider.S3Credentials{AccessKey: a, SecretKey: secret})
		if err != nil {
			return nil, "", "", err
		}
		var exists bool
		err = c.s3Do(ctx, func() error {
			var err error
			exists, err = mc.BucketExists(ctx, name)
			return err
		})
		switch {
		case err == nil && exists:
			return mc, endpoint, a, nil
		case err == nil:
			return nil, "", "", fmt.Errorf("%w: S3 has no bucket %s", provider.ErrNotFound, name)
		case s3Code(err) == "AccessDenied" || s3Code(err) == "Forbidden" || s3Code(err) == "InvalidAccessKeyId":
			last = err
		default:
			return nil, "", "", err
		}
	}
	return nil, "", "", last
}

// Bucket reads a bucket, counting its objects and bytes.
func (c *Cloud) Bucket(ctx context.Context, id string) (*provider.Bucket, error) {
	name, access, err := splitBucketID(id)
	if err != nil {
		return nil, err
	}
	s, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	mc, endpoint, _, err := c.reach(ctx, s, name, access)
	if err != nil {
		return nil, err
	}
	b := &provider.Bucket{ID: id, Name: name, Region: c.eo.Region, Endpoint: endpoint, UserID: access}
	if b.Objects, b.Bytes, err = usage(ctx, mc, name, false); err != nil {
		return nil, err
	}
	if b.Public, err = c.isPublic(ctx, mc, name); err != nil {
		return nil, err
	}
	return b, nil
}

// usage counts a bucket's objects and bytes; with versions, every version
// and delete marker too, which S3 also counts against deleting a bucket.
func usage(ctx context.Context, mc *minio.Client, name string, versions bool) (objects, bytes int64, err error) {
	for obj := range mc.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true, WithVersions: versions}) {
		if obj.Err != nil {
			return 0, 0, fmt.Errorf("listing bucket %s: %w", name, s3Error(obj.Err))
		}
		objects++
		bytes += obj.Size
	}
	return objects, bytes, nil
}

// SetBucketPublic makes a bucket's objects readable by anyone, or not,
// through S3 with the bucket's own credentials.
func (c *Cloud) SetBucketPublic(ctx context.Context, id string, creds provider.S3Credentials, public bool) (*provider.Bucket, error) {
	name, _, err := splitBucketID(id)
	if err != nil {
		return nil, err
	}
	s, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	endpoint, err := c.s3Endpoint(s)
	if err != nil {
		return nil, err
	}
	mc, err := c.s3Client(endpoint, creds)
	if err != nil {
		return nil, err
	}
	if err := c.setPublic(ctx, mc, name, public); err != nil {
		return nil, err
	}
	return c.Bucket(ctx, id)
}

// DeleteBucket deletes an empty bucket and the credential made for it. A
// bucket holding objects is refused: the tool never empties one silently.
func (c *Cloud) DeleteBucket(ctx context.Context, id string) error {
	name, access, err := splitBucketID(id)
	if err != nil {
		return err
	}
	s, err := c.login(ctx)
	if err != nil {
		return err
	}
	mc, _, _, err := c.reach(ctx, s, name, access)
	if errors.Is(err, provider.ErrNotFound) {
		return c.deleteEC2(ctx, s, access)
	}
	if err != nil {
		return err
	}
	// Old versions are data as well: a bucket holding only those is not
	// empty either.
	versioning, err := mc.GetBucketVersioning(ctx, name)
	if err != nil {
		return fmt.Errorf("reading the versioning of bucket %s: %w", name, s3Error(err))
	}
	objects, _, err := usage(ctx, mc, name, versioning.Status != "")
	if err != nil {
		return err
	}
	if objects > 0 {
		return &provider.NotEmptyError{Bucket: name, Objects: objects}
	}
	err = c.s3Do(ctx, func() error { return mc.RemoveBucket(ctx, name) })
	switch {
	case s3Code(err) == "BucketNotEmpty":
		return &provider.NotEmptyError{Bucket: name, Objects: -1}
	case err != nil && !errors.Is(err, provider.ErrNotFound):
		return fmt.Errorf("deleting bucket %s: %w", name, err)
	}
	return c.deleteEC2(ctx, s, access)
}

// BucketByName finds a bucket by its name, with the first of the
// project's EC2 credentials that reaches it.
func (c *Cloud) BucketByName(ctx context.Context, region, name string) (*provider.Bucket, error) {
	if region != "" && region != c.eo.Region {
		return nil, fmt.Errorf("openstack: bucket %s is asked for in %s, but this provider works in %s", name, region, c.eo.Region)
	}
	s, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	mc, _, access, err := c.reach(ctx, s, name, "")
	if err != nil {
		return nil, err
	}
	// The bucket's own credential, named in its tag, when it still
	// exists; otherwise the one that reached it.
	var tagged *tags.Tags
	err = c.s3Do(ctx, func() error {
		var err error
		tagged, err = mc.GetBucketTagging(ctx, name)
		return err
	})
	switch {
	case err == nil:
		if own := tagged.ToMap()[credentialTag]; own != "" {
			creds, err := c.ec2List(ctx, s)
			if err != nil {
				return nil, err
			}
			if _, ok := creds[own]; ok {
				access = own
			}
		}
	case s3Code(err) != "NoSuchTagSet" && s3Code(err) != "NoSuchTagSetError":
		return nil, fmt.Errorf("reading the tags of bucket %s: %w", name, err)
	}
	return c.Bucket(ctx, bucketID(name, access))
}

// credentialTag is the bucket tag naming the EC2 credential made for it.
const credentialTag = "cosocial-credential"

// BucketCredentials fetches the bucket's EC2 credential again.
func (c *Cloud) BucketCredentials(ctx context.Context, id string) (provider.S3Credentials, error) {
	_, access, err := splitBucketID(id)
	if err != nil {
		return provider.S3Credentials{}, err
	}
	s, err := c.login(ctx)
	if err != nil {
		return provider.S3Credentials{}, err
	}
	return c.credential(ctx, s, access)
}
