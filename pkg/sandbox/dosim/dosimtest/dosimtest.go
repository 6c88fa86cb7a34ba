// Package dosimtest serves the DigitalOcean simulator to a test over real
// HTTP, with quick asynchronous statuses and, when asked, real PostgreSQL
// clusters behind its managed databases; it stops everything when the
// test ends.
package dosimtest

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/pgserver"
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

// NewPostgres is a backend running real PostgreSQL clusters in a folder
// of the test's, stopped when the test ends. It skips the test, saying
// why, when PostgreSQL is missing.
func NewPostgres(t testing.TB) *Postgres {
	t.Helper()
	if _, err := pgserver.BinDir(); err != nil {
		t.Skipf("SKIP: managed databases need PostgreSQL: %v", err)
	}
	b := &Postgres{dir: pgserver.TempDir(t), clusters: map[string]*pgserver.Cluster{}}
	t.Cleanup(func() {
		if err := b.StopAll(); err != nil {
			t.Errorf("stopping PostgreSQL: %v", err)
		}
	})
	return b
}

// Postgres is a dosim.DatabaseBackend of real clusters.
type Postgres struct {
	dir      string
	mu       sync.Mutex
	clusters map[string]*pgserver.Cluster
}

func (p *Postgres) Engines() []string { return []string{"postgresql"} }

func (p *Postgres) CreateCluster(ctx context.Context, id, engine, version string) (string, int, error) {
	c, err := pgserver.Create(ctx, filepath.Join(p.dir, id))
	if err != nil {
		return "", 0, err
	}
	p.mu.Lock()
	p.clusters[id] = c
	p.mu.Unlock()
	return c.Host(), c.Port, nil
}

func (p *Postgres) StartCluster(ctx context.Context, id string) (string, int, error) {
	c, err := pgserver.Open(filepath.Join(p.dir, id))
	if err != nil {
		return "", 0, err
	}
	if err := c.Start(ctx, 0); err != nil {
		return "", 0, err
	}
	p.mu.Lock()
	p.clusters[id] = c
	p.mu.Unlock()
	return c.Host(), c.Port, nil
}

func (p *Postgres) cluster(id string) (*pgserver.Cluster, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.clusters[id]
	if c == nil {
		return nil, fmt.Errorf("database cluster %s is not running", id)
	}
	return c, nil
}

func (p *Postgres) DeleteCluster(ctx context.Context, id string) error {
	c, err := p.cluster(id)
	if err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.clusters, id)
	p.mu.Unlock()
	return c.Destroy(ctx)
}

func (p *Postgres) CreateAdmin(ctx context.Context, id, name, password string) error {
	c, err := p.cluster(id)
	if err != nil {
		return err
	}
	return c.Exec(ctx, "postgres",
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s CREATEDB CREATEROLE", pgserver.QuoteIdent(name), pgserver.QuoteLiteral(password)),
		fmt.Sprintf("ALTER DATABASE %s OWNER TO %s", pgserver.QuoteIdent(dosim.DefaultDatabase), pgserver.QuoteIdent(name)))
}

// StopAll stops every cluster, keeping its data, as a sandbox that stops
// does.
func (p *Postgres) StopAll() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for id, c := range p.clusters {
		errs = append(errs, c.Stop(context.Background()))
		delete(p.clusters, id)
	}
	return errors.Join(errs...)
}

var _ dosim.DatabaseBackend = (*Postgres)(nil)
