package ossim_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/ec2credentials"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/minio/minio-go/v7"
	"gopkg.in/yaml.v3"

	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim/ossimtest"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
)

// putObject writes one object into bucket with a key's own credentials.
func putObject(endpoint, bucket, access, secret string) error {
	mc, err := objectstore.Bucket{Endpoint: endpoint, Name: bucket, AccessKey: access, SecretKey: secret}.Client()
	if err != nil {
		return err
	}
	_, err = mc.PutObject(ctx, bucket, "media_attachments/1.png", strings.NewReader("png"), 3, minio.PutObjectOptions{})
	return err
}

// ec2 makes an EC2 credential through Keystone, the way the openstack
// CLI does: for the token's own user and project.
func ec2(t *testing.T, c clients) *ec2credentials.Credential {
	t.Helper()
	user, err := c.provider.GetAuthResult().(tokens.CreateResult).ExtractUser()
	if err != nil {
		t.Fatal(err)
	}
	project, err := c.provider.GetAuthResult().(tokens.CreateResult).ExtractProject()
	if err != nil {
		t.Fatal(err)
	}
	cred, err := ec2credentials.Create(ctx, c.identity, user.ID, ec2credentials.CreateOpts{TenantID: project.ID}).Extract()
	if err != nil || len(cred.Access) != 32 || len(cred.Secret) != 32 || cred.UserID != user.ID || cred.TenantID != project.ID {
		t.Fatalf("EC2 credential: %+v %v", cred, err)
	}
	return cred
}

// s3Endpoint is the S3 endpoint the catalog gives.
func s3Endpoint(t *testing.T, c clients) string {
	t.Helper()
	url, err := c.provider.EndpointLocator(gophercloud.EndpointOpts{Type: "s3", Region: ossim.DefaultRegion, Availability: gophercloud.AvailabilityPublic})
	if err != nil {
		t.Fatalf("no S3 endpoint in the catalog: %v", err)
	}
	return strings.TrimSuffix(url, "/")
}

// TestEveryEC2CredentialReachesTheProjectsBuckets: as on Ceph behind
// Keystone, each EC2 credential of the project reaches every bucket of
// the project, an older one as much as a newer one, and lists them; a
// wrong secret or a deleted credential reaches nothing.
func TestEveryEC2CredentialReachesTheProjectsBuckets(t *testing.T) {
	if _, _, err := s3server.Binary(); err != nil {
		t.Fatalf("EC2 credentials need the S3 server: %v", err)
	}
	s3, err := s3server.Start(ctx, filepath.Join(pgserver.TempDir(t), "s3"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s3.Stop() })
	if err := s3.CreateBucket(ctx, "cosocial-media"); err != nil {
		t.Fatal(err)
	}
	sim := ossimtest.StartWithS3(t, ossim.Options{}, s3)
	if err := sim.AddBucket("cosocial-media"); err != nil {
		t.Fatal(err)
	}
	c := connect(t, sim)
	endpoint := s3Endpoint(t, c)
	if endpoint == s3.Endpoint() {
		t.Fatalf("the catalog gives the S3 server itself (%s), not Ceph's gateway in front of it", endpoint)
	}
	older, newer := ec2(t, c), ec2(t, c)
	for _, cred := range []*ec2credentials.Credential{older, newer} {
		if err := putObject(endpoint, "cosocial-media", cred.Access, cred.Secret); err != nil {
			t.Fatalf("EC2 credential %s does not reach the project's bucket: %v", cred.Access, err)
		}
		mc, err := objectstore.Bucket{Endpoint: endpoint, Name: "cosocial-media", AccessKey: cred.Access, SecretKey: cred.Secret}.Client()
		if err != nil {
			t.Fatal(err)
		}
		buckets, err := mc.ListBuckets(ctx)
		if err != nil || len(buckets) != 1 || buckets[0].Name != "cosocial-media" {
			t.Fatalf("EC2 credential %s lists %+v, %v; want the project's bucket", cred.Access, buckets, err)
		}
	}
	if err := putObject(endpoint, "cosocial-media", older.Access, "not-the-secret"); err == nil || minio.ToErrorResponse(err).Code != "SignatureDoesNotMatch" {
		t.Fatalf("a wrong secret: %v", err)
	}
	page, err := ec2credentials.List(c.identity, sim.UserID()).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if all, _ := ec2credentials.ExtractCredentials(page); len(all) != 2 {
		t.Fatalf("list: %+v", all)
	}
	err = ec2credentials.Create(ctx, c.identity, "someone-else", ec2credentials.CreateOpts{TenantID: sim.ProjectID()}).Err
	apiErr(t, err, 403, "identity:ec2_create_credential")
	if err := ec2credentials.Delete(ctx, c.identity, sim.UserID(), older.Access).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := putObject(endpoint, "cosocial-media", older.Access, older.Secret); err == nil || minio.ToErrorResponse(err).Code != "InvalidAccessKeyId" {
		t.Fatalf("a deleted EC2 credential: %v", err)
	}
	if err := putObject(endpoint, "cosocial-media", newer.Access, newer.Secret); err != nil {
		t.Fatalf("deleting one credential took the bucket from the other: %v", err)
	}
	err = ec2credentials.Get(ctx, c.identity, sim.UserID(), older.Access).Err
	apiErr(t, err, 404, "Could not find credential: "+older.Access+".")
}

// TestSandboxServesOpenStack logs in the ways a user of the sandbox
// would: OS_* variables, and each cloud of its clouds.yaml; a restart
// keeps the port and the records.
func TestSandboxServesOpenStack(t *testing.T) {
	dir := pgserver.TempDir(t)
	sb, err := sandbox.Start(ctx, sandbox.Options{Dir: dir, NoBackends: true, Timing: sandboxtest.Fast})
	if err != nil {
		t.Fatal(err)
	}
	env := sb.Env()
	if env["OS_AUTH_URL"] != sb.OSAuthURL() || env["OS_REGION_NAME"] != "ca-ymq-1" || env["OS_USER_DOMAIN_NAME"] != "Default" ||
		env["OS_PROJECT_DOMAIN_NAME"] != "Default" || env["OS_PASSWORD"] != sb.OSCredentials.Password || env["DIGITALOCEAN_TOKEN"] == "" {
		t.Fatalf("env: %v", env)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	ao, err := openstack.AuthOptionsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	p, err := openstack.AuthenticatedClient(ctx, ao)
	if err != nil {
		t.Fatalf("login from OS_* variables: %v", err)
	}
	compute, err := openstack.NewComputeV2(p, gophercloud.EndpointOpts{Region: os.Getenv("OS_REGION_NAME")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := flavors.Get(ctx, compute, "v3-standard-2").Extract(); err != nil {
		t.Fatal(err)
	}

	// gophercloud's own clouds.yaml reader needs gopkg.in/yaml.v2, which
	// go.mod does not list yet: read the file as it would, key by key.
	var file struct {
		Clouds map[string]struct {
			AuthType string `yaml:"auth_type"`
			Auth     struct {
				AuthURL           string `yaml:"auth_url"`
				Username          string `yaml:"username"`
				Password          string `yaml:"password"`
				ProjectName       string `yaml:"project_name"`
				UserDomainName    string `yaml:"user_domain_name"`
				ProjectDomainName string `yaml:"project_domain_name"`
				AppCredID         string `yaml:"application_credential_id"`
				AppCredSecret     string `yaml:"application_credential_secret"`
			} `yaml:"auth"`
			Region    string `yaml:"region_name"`
			Interface string `yaml:"interface"`
			Identity  int    `yaml:"identity_api_version"`
		} `yaml:"clouds"`
	}
	if err := yaml.Unmarshal(sb.CloudsYAML("vexxhost", ""), &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Clouds) != 2 || file.Clouds["vexxhost-appcred"].AuthType != "v3applicationcredential" {
		t.Fatalf("clouds.yaml: %+v", file)
	}
	for name, cloud := range file.Clouds {
		a := cloud.Auth
		ao := gophercloud.AuthOptions{
			IdentityEndpoint: a.AuthURL, Username: a.Username, Password: a.Password, DomainName: a.UserDomainName,
			ApplicationCredentialID: a.AppCredID, ApplicationCredentialSecret: a.AppCredSecret,
		}
		if a.ProjectName != "" {
			ao.Scope = &gophercloud.AuthScope{ProjectName: a.ProjectName, DomainName: a.ProjectDomainName}
		}
		if cloud.Region != "ca-ymq-1" || cloud.Interface != "public" || cloud.Identity != 3 || a.AuthURL != sb.OSAuthURL() {
			t.Fatalf("cloud %s: %+v", name, cloud)
		}
		p, err := openstack.AuthenticatedClient(ctx, ao)
		if err != nil {
			t.Fatalf("login as %s: %v", name, err)
		}
		vol, err := openstack.NewBlockStorageV3(p, gophercloud.EndpointOpts{Region: cloud.Region})
		if err != nil {
			t.Fatalf("block storage for %s: %v", name, err)
		}
		if _, err := volumes.Create(ctx, vol, volumes.CreateOpts{Size: 10, Name: name}, nil).Extract(); err != nil {
			t.Fatal(err)
		}
	}
	authURL := sb.OSAuthURL()
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}

	sb, err = sandbox.Start(ctx, sandbox.Options{Dir: dir, NoBackends: true, Timing: sandboxtest.Fast})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if sb.OSAuthURL() != authURL {
		t.Errorf("auth URL moved from %s to %s", authURL, sb.OSAuthURL())
	}
	for k, v := range sb.Env() {
		t.Setenv(k, v)
	}
	ao, _ = openstack.AuthOptionsFromEnv()
	p, err = openstack.AuthenticatedClient(ctx, ao)
	if err != nil {
		t.Fatal(err)
	}
	vol, err := openstack.NewBlockStorageV3(p, gophercloud.EndpointOpts{Region: "ca-ymq-1"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := volumes.List(vol, volumes.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if vs, _ := volumes.ExtractVolumes(page); len(vs) != 2 {
		t.Fatalf("volumes after restart: %+v", vs)
	}
}

// TestSandboxEC2CredentialsReachItsS3Server goes through the sandbox
// itself: its catalog names its S3 server, and a key made through
// Keystone creates a bucket there and writes to it, as on Ceph RGW.
func TestSandboxEC2CredentialsReachItsS3Server(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{})
	p, id := sandboxtest.Keystone(t, sb)
	c := clients{provider: p, identity: id}
	if got := s3Endpoint(t, c); got != sb.OSS3Endpoint() {
		t.Fatalf("S3 endpoint in the catalog %q, want the sandbox's %q", got, sb.OSS3Endpoint())
	}
	cred := ec2(t, c)
	mc, err := objectstore.Bucket{Endpoint: sb.OSS3Endpoint(), Name: "cosocial-media", AccessKey: cred.Access, SecretKey: cred.Secret}.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, "cosocial-media", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("the EC2 credential cannot create a bucket: %v", err)
	}
	if err := putObject(sb.OSS3Endpoint(), "cosocial-media", cred.Access, cred.Secret); err != nil {
		t.Fatalf("the EC2 credential does not reach the sandbox's bucket: %v", err)
	}
}
