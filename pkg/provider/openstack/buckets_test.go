package openstack_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	gopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/ec2credentials"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/openstack"
	"github.com/cosocial/cosocial/pkg/provider/providertest"
	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim/ossimtest"
)

// startS3 serves the simulator with the real S3 server behind its EC2
// credentials, which may create buckets as on Ceph RGW. Without versitygw
// the test is skipped, saying so.
func startS3(t *testing.T) (*ossimtest.Sim, *openstack.Cloud, *s3server.Server) {
	t.Helper()
	if _, _, err := s3server.Binary(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	s3, err := s3server.Start(bg, t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s3.Stop() })
	sim := ossimtest.StartWithS3(t, ossim.Options{}, s3)
	return sim, connectTo(t, sim, nil), s3
}

func TestBucketContract(t *testing.T) {
	_, cloud, _ := startS3(t)
	providertest.Buckets(t, providertest.BucketCase{Buckets: cloud, Region: "ca-ymq-1", Name: "contract-media"})
}

func s3As(t *testing.T, endpoint string, creds provider.S3Credentials) *minio.Client {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(creds.AccessKey, creds.SecretKey, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

// TestBucketCredentialsAreS3Keys: what CreateBucket returns are EC2 keys
// that the real S3 server takes, found again by name for the state
// bucket, and they stop working once the bucket is deleted.
func TestBucketCredentialsAreS3Keys(t *testing.T) {
	sim, cloud, _ := startS3(t)
	b, creds, err := cloud.CreateBucket(bg, provider.BucketSpec{Name: "cosocial-state", Region: "ca-ymq-1", Versioned: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.Endpoint != sim.S3Endpoint || b.ID != "cosocial-state/"+creds.AccessKey || b.Public {
		t.Errorf("bucket = %+v", b)
	}
	mc := s3As(t, b.Endpoint, creds)
	if _, err := mc.PutObject(bg, b.Name, "stack.json", strings.NewReader("{}"), 2, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("the bucket's EC2 keys cannot write to it: %v", err)
	}
	if v, err := mc.GetBucketVersioning(bg, b.Name); err != nil || !v.Enabled() {
		t.Errorf("versioning: %+v %v", v, err)
	}
	wrong := s3As(t, b.Endpoint, provider.S3Credentials{AccessKey: creds.AccessKey, SecretKey: "not-the-secret"})
	if _, err := wrong.StatObject(bg, b.Name, "stack.json", minio.StatObjectOptions{}); err == nil {
		t.Error("a wrong secret reaches the bucket")
	}

	found, err := cloud.BucketByName(bg, "ca-ymq-1", "cosocial-state")
	if err != nil || found.ID != b.ID || found.Objects != 1 {
		t.Fatalf("by name: %+v %v", found, err)
	}
	again, err := cloud.BucketCredentials(bg, found.ID)
	if err != nil || again != creds {
		t.Errorf("credentials fetched again differ: %v", err)
	}
	if _, err := cloud.BucketByName(bg, "ca-ymq-1", "no-such-bucket"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("a missing bucket by name: %v", err)
	}

	if err := mc.RemoveObject(bg, b.Name, "stack.json", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// Old versions are data too: the tool never deletes them silently.
	var notEmpty *provider.NotEmptyError
	if err := cloud.DeleteBucket(bg, b.ID); !errors.As(err, &notEmpty) || notEmpty.Objects != 2 {
		t.Fatalf("deleting a bucket holding a version and a delete marker: %v", err)
	}
	for v := range mc.ListObjects(bg, b.Name, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if err := mc.RemoveObject(bg, b.Name, v.Key, minio.RemoveObjectOptions{VersionID: v.VersionID}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cloud.DeleteBucket(bg, b.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := cloud.Bucket(bg, b.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("read after delete: %v", err)
	}
	if _, err := mc.ListBuckets(bg); err == nil {
		t.Error("the bucket's EC2 keys still work after the bucket was deleted")
	}
	if left := ec2Count(t, sim); left != 0 {
		t.Errorf("%d EC2 credentials left after the bucket was deleted", left)
	}
}

func ec2Count(t *testing.T, sim *ossimtest.Sim) int {
	t.Helper()
	id, err := gopenstack.NewIdentityV3(sim.Provider(t), gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := ec2credentials.List(id, sim.UserID()).AllPages(bg)
	if err != nil {
		t.Fatal(err)
	}
	all, err := ec2credentials.ExtractCredentials(page)
	if err != nil {
		t.Fatal(err)
	}
	return len(all)
}

// TestBucketRefusedByS3: a name someone else holds is refused in S3's
// words, and the credential made for the bucket is not left behind.
func TestBucketRefusedByS3(t *testing.T) {
	sim, cloud, s3 := startS3(t)
	if err := s3.CreateBucket(bg, "cosocial-media"); err != nil {
		t.Fatal(err)
	}
	_, _, err := cloud.CreateBucket(bg, provider.BucketSpec{Name: "cosocial-media", Region: "ca-ymq-1"})
	var api *provider.APIError
	if !errors.As(err, &api) || api.Provider != "OpenStack S3" || api.Class != "BucketAlreadyExists" || api.Status != 409 {
		t.Fatalf("create: %v", err)
	}
	if left := ec2Count(t, sim); left != 0 {
		t.Errorf("%d EC2 credentials left after a failed create", left)
	}
}

// TestBucketPublicReadsBack: a bucket created public says so when read,
// anyone can read its objects, and making it private again stops that.
func TestBucketPublicReadsBack(t *testing.T) {
	_, cloud, _ := startS3(t)
	b, creds, err := cloud.CreateBucket(bg, provider.BucketSpec{Name: "cosocial-media", Region: "ca-ymq-1", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3As(t, b.Endpoint, creds).PutObject(bg, b.Name, "a.png", strings.NewReader("png"), 3, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	anonymous := func() int {
		resp, err := http.Get(b.Endpoint + "/" + b.Name + "/a.png")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got, err := cloud.Bucket(bg, b.ID); err != nil || !got.Public || anonymous() != http.StatusOK {
		t.Fatalf("public bucket read back as %+v (%v); anonymous read %d", got, err, anonymous())
	}
	if got, err := cloud.SetBucketPublic(bg, b.ID, creds, false); err != nil || got.Public {
		t.Fatalf("made private: %+v %v", got, err)
	}
	if code := anonymous(); code == http.StatusOK {
		t.Error("a bucket made private still answers anonymous reads")
	}
}

// TestABucketFoundByNameHasItsOwnCredential: on Ceph every EC2 credential
// of the project reaches every bucket, so a bucket found by name (the
// state's) must still come with the credential made for it, not another
// bucket's, which deleting that bucket deletes. A bucket made by hand,
// untagged, comes with a credential that reaches it.
func TestABucketFoundByNameHasItsOwnCredential(t *testing.T) {
	sim, cloud, _ := startS3(t)
	ids := map[string]string{}
	creds := map[string]provider.S3Credentials{}
	for _, name := range []string{"cosocial-media", "cosocial-state", "cosocial-podcasts"} {
		b, c, err := cloud.CreateBucket(bg, provider.BucketSpec{Name: name, Region: "ca-ymq-1"})
		if err != nil {
			t.Fatal(err)
		}
		ids[name], creds[name] = b.ID, c
	}
	for name, id := range ids {
		found, err := cloud.BucketByName(bg, "ca-ymq-1", name)
		if err != nil || found.ID != id {
			t.Errorf("bucket %s by name: %+v, %v; want ID %s", name, found, err, id)
		}
	}
	for _, name := range []string{"cosocial-media", "cosocial-podcasts"} {
		if err := cloud.DeleteBucket(bg, ids[name]); err != nil {
			t.Fatal(err)
		}
	}
	mc := s3As(t, sim.S3Endpoint, creds["cosocial-state"])
	if _, err := mc.PutObject(bg, "cosocial-state", "stack.json", strings.NewReader("{}"), 2, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("the state bucket's credential after the other buckets went: %v", err)
	}

	byHand := s3As(t, sim.S3Endpoint, creds["cosocial-state"])
	if err := byHand.MakeBucket(bg, "made-by-hand", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	found, err := cloud.BucketByName(bg, "ca-ymq-1", "made-by-hand")
	if err != nil || found.ID != "made-by-hand/"+creds["cosocial-state"].AccessKey {
		t.Fatalf("an untagged bucket by name: %+v, %v", found, err)
	}
}
