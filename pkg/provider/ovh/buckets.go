package ovh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/cosocial/cosocial/pkg/provider"
)

// A bucket's ID is "<storage region>/<name>", e.g. "BHS/northwind-media":
// OVHcloud names buckets within a region.
func bucketID(region, name string) string { return region + "/" + name }

func splitBucketID(id string) (string, string, error) {
	region, name, ok := strings.Cut(id, "/")
	if !ok || region == "" || name == "" {
		return "", "", fmt.Errorf("ovh: %q is not a bucket ID (REGION/name)", id)
	}
	return region, name, nil
}

type container struct {
	Name         string `json:"name"`
	Region       string `json:"region"`
	OwnerID      int64  `json:"ownerId"`
	VirtualHost  string `json:"virtualHost"`
	ObjectsCount int64  `json:"objectsCount"`
	ObjectsSize  int64  `json:"objectsSize"`
}

type cloudUser struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

// storageRegion is the object storage API's name for the region ("BHS").
func (c *Cloud) storageRegion(code string) (string, error) {
	r := c.region
	if code != "" {
		if r = c.cfg.Catalog.Operator(OperatorID).Region(code); r == nil {
			return "", fmt.Errorf("OVHcloud has no region %q", code)
		}
	}
	if r.ObjectStorage == nil {
		return "", fmt.Errorf("OVHcloud offers no object storage in %s", r.Code)
	}
	return strings.ToUpper(r.ObjectStorage.Region), nil
}

// CreateBucket creates a bucket owned by a user of its own, whose S3
// credentials reach that bucket and nothing else.
func (c *Cloud) CreateBucket(ctx context.Context, spec provider.BucketSpec) (*provider.Bucket, provider.S3Credentials, error) {
	var creds provider.S3Credentials
	region, err := c.storageRegion(spec.Region)
	if err != nil {
		return nil, creds, err
	}
	body := map[string]any{"description": userDescription(spec.Name), "role": "objectstore_operator"}
	made, err := c.createFinding(ctx, c.path("/user"), body, func(ctx context.Context) ([]string, error) { return c.usersFor(ctx, spec.Name) })
	if err != nil {
		return nil, creds, err
	}
	userID, err := strconv.ParseInt(made, 10, 64)
	if err != nil {
		return nil, creds, fmt.Errorf("OVHcloud answered with S3 user id %q: %w", made, err)
	}
	user := cloudUser{ID: userID}
	// The user, its key, the bucket and the policy are made one after the
	// other: a failure on the way takes back what was made, so nothing is
	// left that no state records.
	b, creds, madeBucket, err := c.fillBucket(ctx, spec, region, user.ID)
	if err != nil {
		return nil, creds, provider.Undo(ctx, err, fmt.Sprintf("S3 user %d", user.ID), func(ctx context.Context) error {
			// Only a bucket this call made is taken back: a name already
			// taken is someone else's bucket.
			if madeBucket {
				if err := c.DeleteBucket(ctx, bucketID(region, spec.Name)); err != nil {
					return err
				}
			}
			return c.deleteUser(ctx, user.ID)
		})
	}
	return b, creds, nil
}

// fillBucket makes the rest of a bucket once its user exists: the user's
// S3 key, the bucket owned by it, the policy that limits the key to it.
func (c *Cloud) fillBucket(ctx context.Context, spec provider.BucketSpec, region string, userID int64) (b *provider.Bucket, creds provider.S3Credentials, madeBucket bool, err error) {
	userPath := c.path("/user/%d", userID)
	if _, err := wait(ctx, c, "bucket "+spec.Name+" user", c.cfg.Timeouts.Server,
		func(ctx context.Context) (*cloudUser, error) {
			var u cloudUser
			return &u, c.call(ctx, http.MethodGet, userPath, nil, &u)
		},
		func(u *cloudUser) string { return u.Status },
		func(st string) (bool, error) { return st == "ok", nil },
	); err != nil {
		return nil, creds, madeBucket, err
	}
	var s3 struct {
		Access string `json:"access"`
		Secret string `json:"secret"`
	}
	if err := c.call(ctx, http.MethodPost, userPath+"/s3Credentials", nil, &s3); err != nil {
		return nil, creds, madeBucket, err
	}
	creds = provider.S3Credentials{AccessKey: s3.Access, SecretKey: s3.Secret}
	var created container
	body := map[string]any{"name": spec.Name, "ownerId": userID}
	if spec.Versioned {
		body["versioning"] = map[string]string{"status": "enabled"}
	}
	if err := c.call(ctx, http.MethodPost, c.path("/region/%s/storage", url.PathEscape(region)), body, &created); err != nil {
		return nil, creds, madeBucket, err
	}
	madeBucket = true
	policy, _ := json.Marshal(map[string]any{"Statement": []map[string]any{{
		"Sid": "cosocial", "Effect": "Allow", "Action": []string{"s3:*"},
		"Resource": []string{"arn:aws:s3:::" + spec.Name, "arn:aws:s3:::" + spec.Name + "/*"},
	}}})
	if err := c.call(ctx, http.MethodPost, userPath+"/policy", map[string]string{"policy": string(policy)}, nil); err != nil {
		return nil, creds, madeBucket, err
	}
	id := bucketID(region, spec.Name)
	if spec.Public {
		if _, err := c.SetBucketPublic(ctx, id, creds, true); err != nil {
			return nil, creds, madeBucket, err
		}
	}
	if b, err = c.Bucket(ctx, id); err != nil {
		return nil, creds, madeBucket, err
	}
	b.Public = spec.Public
	return b, creds, madeBucket, nil
}

func (c *Cloud) container(ctx context.Context, id string) (*container, error) {
	region, name, err := splitBucketID(id)
	if err != nil {
		return nil, err
	}
	var ct container
	if err := c.call(ctx, http.MethodGet, c.path("/region/%s/storage/%s", url.PathEscape(region), url.PathEscape(name)), nil, &ct); err != nil {
		return nil, err
	}
	return &ct, nil
}

// endpointOf turns the API's virtual host into the region's S3 endpoint:
// https://name.s3.bhs.io.cloud.ovh.net/ → https://s3.bhs.io.cloud.ovh.net,
// and a path-style host (the sandbox's) → its scheme and host.
func endpointOf(virtualHost, bucket string) string {
	u, err := url.Parse(virtualHost)
	if err != nil || u.Host == "" {
		return ""
	}
	host := strings.TrimPrefix(u.Host, bucket+".")
	return u.Scheme + "://" + host
}

// Bucket reads a bucket with its object count and size.
func (c *Cloud) Bucket(ctx context.Context, id string) (*provider.Bucket, error) {
	ct, err := c.container(ctx, id)
	if err != nil {
		return nil, err
	}
	return &provider.Bucket{
		ID: id, Name: ct.Name, Region: ct.Region, Endpoint: endpointOf(ct.VirtualHost, ct.Name),
		Objects: ct.ObjectsCount, Bytes: ct.ObjectsSize, UserID: strconv.FormatInt(ct.OwnerID, 10),
	}, nil
}

// SetBucketPublic sets the bucket's canned ACL through S3: OVHcloud's API
// has no field for it.
func (c *Cloud) SetBucketPublic(ctx context.Context, id string, creds provider.S3Credentials, public bool) (*provider.Bucket, error) {
	b, err := c.Bucket(ctx, id)
	if err != nil {
		return nil, err
	}
	acl := "private"
	if public {
		acl = "public-read"
	}
	s3, err := s3Client(b.Endpoint, creds)
	if err != nil {
		return nil, err
	}
	// Sign for the bucket's own region, as S3 clients do: ask it.
	region, err := s3.GetBucketLocation(ctx, b.Name)
	if err != nil {
		return nil, fmt.Errorf("finding the region of bucket %s: %w", b.Name, err)
	}
	if err := c.cfg.Backoff.Do(ctx, func() error { return putBucketACL(ctx, c.httpClient(), b.Endpoint, region, b.Name, acl, creds) }); err != nil {
		return nil, err
	}
	b.Public = public
	return b, nil
}

func s3Client(endpoint string, creds provider.S3Credentials) (*minio.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	return minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(creds.AccessKey, creds.SecretKey, ""), Secure: u.Scheme == "https", BucketLookup: minio.BucketLookupPath,
	})
}

func (c *Cloud) httpClient() *http.Client {
	if c.cfg.HTTPClient != nil {
		return c.cfg.HTTPClient
	}
	return &http.Client{Timeout: time.Minute}
}

// putBucketACL is S3's PUT /bucket?acl with a canned ACL, path-style so it
// works on any endpoint.
func putBucketACL(ctx context.Context, hc *http.Client, endpoint, region, bucket, acl string, creds provider.S3Credentials) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimSuffix(endpoint, "/")+"/"+url.PathEscape(bucket)+"?acl", nil)
	if err != nil {
		return err
	}
	req.Header.Set("x-amz-acl", acl)
	req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	signed := signer.SignV4(*req, creds.AccessKey, creds.SecretKey, "", region)
	resp, err := hc.Do(signed)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg := make([]byte, 512)
		n, _ := resp.Body.Read(msg)
		return &provider.APIError{Provider: "OVHcloud S3", Status: resp.StatusCode, Message: fmt.Sprintf("setting the %s ACL on %s: %s", acl, bucket, strings.TrimSpace(string(msg[:n])))}
	}
	return nil
}

// DeleteBucket deletes an empty bucket and the user that owned it. A bucket
// holding objects is refused: the tool never empties one silently.
func (c *Cloud) DeleteBucket(ctx context.Context, id string) error {
	ct, err := c.container(ctx, id)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if ct.ObjectsCount > 0 {
		return &provider.NotEmptyError{Bucket: ct.Name, Objects: ct.ObjectsCount}
	}
	region, name, _ := splitBucketID(id)
	err = c.call(ctx, http.MethodDelete, c.path("/region/%s/storage/%s", url.PathEscape(region), url.PathEscape(name)), nil, nil)
	var api *provider.APIError
	if errors.As(err, &api) && strings.Contains(api.Message, "BucketNotEmpty") {
		return &provider.NotEmptyError{Bucket: name, Objects: -1}
	}
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return err
	}
	if ct.OwnerID != 0 {
		return c.deleteUser(ctx, ct.OwnerID)
	}
	return nil
}

// deleteUser deletes a bucket's S3 user and waits until it is gone (the
// API keeps it "deleting" a while); one already gone is fine.
func (c *Cloud) deleteUser(ctx context.Context, id int64) error {
	err := c.call(ctx, http.MethodDelete, c.path("/user/%d", id), nil, nil)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return gone(ctx, c, fmt.Sprintf("S3 user %d", id), func(ctx context.Context) error {
		return c.call(ctx, http.MethodGet, c.path("/user/%d", id), nil, nil)
	})
}

// BucketByName finds a bucket by its name in a region.
func (c *Cloud) BucketByName(ctx context.Context, region, name string) (*provider.Bucket, error) {
	r, err := c.storageRegion(region)
	if err != nil {
		return nil, err
	}
	return c.Bucket(ctx, bucketID(r, name))
}

// BucketCredentials fetches again the S3 keys of the user that owns a
// bucket: OVHcloud hands a secret out as often as its owner asks.
func (c *Cloud) BucketCredentials(ctx context.Context, id string) (provider.S3Credentials, error) {
	ct, err := c.container(ctx, id)
	if err != nil {
		return provider.S3Credentials{}, err
	}
	userPath := c.path("/user/%d", ct.OwnerID)
	var keys []struct {
		Access string `json:"access"`
	}
	if err := c.call(ctx, http.MethodGet, userPath+"/s3Credentials", nil, &keys); err != nil {
		return provider.S3Credentials{}, err
	}
	if len(keys) == 0 {
		return provider.S3Credentials{}, fmt.Errorf("bucket %s: its owner has no S3 credentials", ct.Name)
	}
	var secret struct {
		Secret string `json:"secret"`
	}
	if err := c.call(ctx, http.MethodPost, userPath+"/s3Credentials/"+url.PathEscape(keys[0].Access)+"/secret", nil, &secret); err != nil {
		return provider.S3Credentials{}, err
	}
	return provider.S3Credentials{AccessKey: keys[0].Access, SecretKey: secret.Secret}, nil
}
