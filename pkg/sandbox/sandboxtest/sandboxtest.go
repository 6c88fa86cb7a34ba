// Package sandboxtest starts the sandbox for a test: quick asynchronous
// statuses, a folder the database server's account can reach, a visible
// skip when the real servers behind it are missing, and a stop when the
// test ends.
package sandboxtest

import (
	"context"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/ovhsim"
)

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
