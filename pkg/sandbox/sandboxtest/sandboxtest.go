// Package sandboxtest starts the sandbox for a test: quick asynchronous
// statuses, a folder the database server's account can reach, a visible
// skip when the real servers behind it are missing, and a stop when the
// test ends.
package sandboxtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/ovhsim"
)

var standIn struct {
	once sync.Once
	path string
	err  error
}

// BuildStandIn builds the stand-in program the sandbox's machines serve
// as the apps' images (cmd/cosocial-standin, static) into dir.
func BuildStandIn(dir string) (string, error) {
	path := filepath.Join(dir, "cosocial-standin")
	build := exec.Command("go", "build", "-o", path, "github.com/cosocial/cosocial/cmd/cosocial-standin")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the stand-in: %v\n%s", err, out)
	}
	return path, nil
}

// Fast keeps every asynchronous status visible to a poller but short.
var Fast = ovhsim.Timing{
	InstanceBuild: 60 * time.Millisecond, InstanceDelete: 40 * time.Millisecond,
	DatabaseCreate: 60 * time.Millisecond, DatabaseUpdate: 60 * time.Millisecond, DatabaseDelete: 40 * time.Millisecond,
	UserCreate: 20 * time.Millisecond,
}

// Start starts a sandbox with opts, filling in Dir and Timing when unset.
// Unless opts.NoBackends, it needs PostgreSQL and versitygw, and skips
// the test, saying so, without them.
func Start(t testing.TB, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	if !opts.NoBackends {
		if _, err := pgserver.BinDir(); err != nil {
			t.Skipf("SKIP: %v", err)
		}
		if _, _, err := s3server.Binary(); err != nil {
			t.Skipf("SKIP: %v", err)
		}
	}
	if !opts.NoBackends && os.Getenv("COSOCIAL_STANDIN") == "" {
		// The machines serve it as the apps' images; make test builds it
		// into bin/, a lone `go test` here.
		standIn.once.Do(func() {
			dir, err := os.MkdirTemp("", "cosocial-standin-")
			if err == nil {
				standIn.path, standIn.err = BuildStandIn(dir)
			} else {
				standIn.err = err
			}
		})
		if standIn.err != nil {
			t.Fatal(standIn.err)
		}
		os.Setenv("COSOCIAL_STANDIN", standIn.path)
	}
	if opts.Dir == "" {
		opts.Dir = pgserver.TempDir(t)
	}
	if opts.Timing == (ovhsim.Timing{}) {
		opts.Timing = Fast
	}
	sb, err := sandbox.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

// Keystone logs in to the sandbox's OpenStack with its password, as its
// one user in its one project, and gives the identity client too.
func Keystone(t testing.TB, sb *sandbox.Sandbox) (*gophercloud.ProviderClient, *gophercloud.ServiceClient) {
	t.Helper()
	c := sb.OSCredentials
	p, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: sb.OSAuthURL(), Username: c.Username, Password: c.Password, DomainName: c.DomainName,
		Scope: &gophercloud.AuthScope{ProjectName: c.ProjectName, DomainName: c.DomainName},
	})
	if err != nil {
		t.Fatal(err)
	}
	id, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	return p, id
}
