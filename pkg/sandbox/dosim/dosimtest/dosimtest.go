// Package dosimtest serves the DigitalOcean simulator to a test over real
// HTTP, with quick asynchronous statuses and, when asked, real PostgreSQL
// clusters behind its managed databases; it stops everything when the
// test ends.
package dosimtest

import (
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/dosim"
)

// Token is the API token a simulator started here accepts.
const Token = "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// Fast keeps every asynchronous status visible to a poller but short.
var Fast = dosim.Timing{DropletBuild: 60 * time.Millisecond, DatabaseCreate: 60 * time.Millisecond, DatabaseResize: 60 * time.Millisecond}

// Sim is a simulator served for a test.
type Sim struct {
	*dosim.Server
	// URL is the base URL to give godo.
	URL string
}

// Start serves a simulator with opts, filling in Token and Timing when
// unset.
func Start(t testing.TB, opts dosim.Options) *Sim {
	t.Helper()
	if opts.Token == "" {
		opts.Token = Token
	}
	if opts.Timing == (dosim.Timing{}) {
		opts.Timing = Fast
	}
	s, err := dosim.New(opts)
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
	return &Sim{Server: s, URL: srv.URL + "/"}
}

// NewPostgres is the sandbox's backend of real database servers, in a
// folder of the test's, stopped when the test ends. It skips the test,
// saying why, when PostgreSQL is missing.
func NewPostgres(t testing.TB) *sandbox.Databases {
	t.Helper()
	if _, err := pgserver.BinDir(); err != nil {
		t.Skipf("SKIP: managed databases need PostgreSQL: %v", err)
	}
	dir := pgserver.TempDir(t)
	b := sandbox.NewDatabases(filepath.Join(dir, "postgres"), filepath.Join(dir, "mysql"))
	t.Cleanup(func() {
		if err := b.StopAll(); err != nil {
			t.Errorf("stopping PostgreSQL: %v", err)
		}
	})
	return b
}
