// Package ossimtest serves the OpenStack simulator to a test over real
// HTTP, with quick asynchronous statuses and fixed credentials, and gives
// gophercloud clients logged in to it; it stops everything when the test
// ends.
package ossimtest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim"
	"github.com/cosocial/cosocial/pkg/sandbox/rgw"
)

// Credentials are what a simulator started here accepts.
var Credentials = ossim.Credentials{
	Username: "techops", Password: "correct horse battery staple", ProjectName: "cosocial", DomainName: "Default",
	ApplicationCredentialID: "0f3c9a7e5b2d4c1a8e6f0b9d7c5a3e1f", ApplicationCredentialSecret: "sandbox-application-secret",
}

// Fast keeps every asynchronous status visible to a poller but short.
var Fast = ossim.Timing{
	ServerBuild: 60 * time.Millisecond, ServerDelete: 40 * time.Millisecond, ServerResize: 60 * time.Millisecond,
	VolumeCreate: 40 * time.Millisecond, VolumeChange: 40 * time.Millisecond, VolumeDelete: 40 * time.Millisecond,
	DNSChange: 40 * time.Millisecond,
}

// Sim is a simulator served for a test.
type Sim struct {
	*ossim.Server
	// URL is the root every API is under; AuthURL is Keystone v3's.
	URL     string
	AuthURL string
	// Credentials are the ones it was started with.
	Credentials ossim.Credentials
	// S3Endpoint is where its EC2 credentials reach (StartWithS3).
	S3Endpoint string
}

// Start serves a simulator with opts, filling in Credentials and Timing
// when unset.
func Start(t testing.TB, opts ossim.Options) *Sim {
	t.Helper()
	if opts.Credentials == (ossim.Credentials{}) {
		opts.Credentials = Credentials
	}
	if opts.Timing == (ossim.Timing{}) {
		opts.Timing = Fast
	}
	s, err := ossim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := s.Close(); err != nil {
			t.Errorf("closing the simulator: %v", err)
		}
	})
	return &Sim{Server: s, URL: srv.URL, AuthURL: srv.URL + "/identity/v3", Credentials: opts.Credentials}
}

// StartWithS3 serves a simulator whose EC2 credentials reach the S3
// server s3 through Ceph's gateway (package rgw), as the sandbox serves
// them.
func StartWithS3(t testing.TB, opts ossim.Options, s3 *s3server.Server) *Sim {
	t.Helper()
	var sim *Sim
	front := httptest.NewUnstartedServer(nil)
	gw, err := rgw.New(rgw.Options{
		Backend:  s3,
		Endpoint: "http://" + front.Listener.Addr().String(),
		Keys:     rgw.KeysFunc(func(access string) (string, string, bool) { return sim.EC2Key(access) }),
		Ledger:   filepath.Join(t.TempDir(), "rgw.log"),
	})
	if err != nil {
		t.Fatal(err)
	}
	front.Config.Handler = gw
	opts.Objects = gw
	sim = Start(t, opts)
	sim.S3Endpoint = gw.Endpoint()
	front.Start()
	t.Cleanup(func() {
		front.Close()
		gw.Close()
	})
	return sim
}

// Password is the password login to the simulator, as clouds.yaml or
// OS_* variables would give it.
func (s *Sim) Password() gophercloud.AuthOptions {
	c := s.Credentials
	return gophercloud.AuthOptions{
		IdentityEndpoint: s.AuthURL, Username: c.Username, Password: c.Password, DomainName: c.DomainName,
		Scope: &gophercloud.AuthScope{ProjectName: c.ProjectName, DomainName: c.DomainName},
	}
}

// Provider logs in with the password, failing the test if it cannot.
func (s *Sim) Provider(t testing.TB) *gophercloud.ProviderClient {
	t.Helper()
	p, err := openstack.AuthenticatedClient(context.Background(), s.Password())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
