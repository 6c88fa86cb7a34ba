package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/cosocial/cosocial/pkg/mysqlserver"
	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/cosocial/cosocial/pkg/sandbox/dosim"
	"github.com/cosocial/cosocial/pkg/sandbox/ovhsim"
)

// Databases runs one real server per managed database, for every
// simulator: PostgreSQL clusters, and MariaDB servers for MySQL (MariaDB
// speaks MySQL's protocol and takes its dumps, and Debian ships it where
// it ships no MySQL). It is both an ovhsim.DatabaseBackend and a
// dosim.DatabaseBackend. It remembers each server's port, so that a server
// started again listens where the records say it does.
type Databases struct {
	pgDir, myDir string
	mu           sync.Mutex
	servers      map[string]server
}

// server is a running database server of either engine.
type server interface {
	Host() string
	Listening() int
	Start(ctx context.Context, port int) error
	Stop(ctx context.Context) error
	Destroy(ctx context.Context) error
}

// NewDatabases keeps PostgreSQL clusters in pgDir and MariaDB servers in
// myDir.
func NewDatabases(pgDir, myDir string) *Databases {
	return &Databases{pgDir: pgDir, myDir: myDir, servers: map[string]server{}}
}

var (
	_ ovhsim.DatabaseBackend = (*Databases)(nil)
	_ dosim.DatabaseBackend  = (*Databases)(nil)
)

// Engines lists postgresql, and mysql when MariaDB is installed.
func (d *Databases) Engines() []string {
	engines := []string{"postgresql"}
	if _, _, err := mysqlserver.Programs(); err == nil {
		engines = append(engines, "mysql")
	}
	return engines
}

func (d *Databases) CreateCluster(ctx context.Context, id, engine, version string) (string, int, error) {
	// PostgreSQL, run as its own account when this process is root, must
	// be able to pass through the folders.
	var (
		s   server
		err error
	)
	switch engine {
	case "postgresql":
		if err := os.MkdirAll(d.pgDir, 0o711); err != nil {
			return "", 0, err
		}
		s, err = pgserver.Create(ctx, filepath.Join(d.pgDir, id))
	case "mysql":
		if err := os.MkdirAll(d.myDir, 0o711); err != nil {
			return "", 0, err
		}
		s, err = mysqlserver.Create(ctx, filepath.Join(d.myDir, id)) // says so when MariaDB is missing
	default:
		return "", 0, fmt.Errorf("the sandbox runs no %s servers", engine)
	}
	if err != nil {
		return "", 0, err
	}
	return d.keep(id, s)
}

func (d *Databases) StartCluster(ctx context.Context, id string) (string, int, error) {
	var s server
	if c, err := pgserver.Open(filepath.Join(d.pgDir, id)); err == nil {
		s = c
	} else if m, merr := mysqlserver.Open(filepath.Join(d.myDir, id)); merr == nil {
		s = m
	} else {
		return "", 0, errors.Join(err, merr)
	}
	port := d.loadPort(id)
	if err := s.Start(ctx, port); err != nil && port != 0 {
		if err := s.Start(ctx, 0); err != nil {
			return "", 0, err
		}
	} else if err != nil {
		return "", 0, err
	}
	return d.keep(id, s)
}

// keep holds on to a running server so that later calls reach it by id,
// and notes its port so that the next run starts it there again.
func (d *Databases) keep(id string, s server) (string, int, error) {
	d.mu.Lock()
	d.servers[id] = s
	d.mu.Unlock()
	d.savePort(id, s.Listening())
	return s.Host(), s.Listening(), nil
}

func (d *Databases) server(id string) (server, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.servers[id]
	if s == nil {
		return nil, fmt.Errorf("database cluster %s is not running", id)
	}
	return s, nil
}

func (d *Databases) DeleteCluster(ctx context.Context, id string) error {
	s, err := d.server(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.servers, id)
	d.mu.Unlock()
	os.Remove(d.portFile(id))
	return s.Destroy(ctx)
}

// exec runs, as the server's superuser, the statements of its engine.
func (d *Databases) exec(ctx context.Context, id string, pg func(*pgserver.Cluster) error, my []string) error {
	s, err := d.server(id)
	if err != nil {
		return err
	}
	switch s := s.(type) {
	case *pgserver.Cluster:
		return pg(s)
	case *mysqlserver.Server:
		return s.Exec(ctx, my...)
	}
	return fmt.Errorf("database cluster %s: unknown server %T", id, s)
}

// userRights are what a managed service's users may do in every database,
// as OVHcloud's and DigitalOcean's users may: all but administration.
const userRights = "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, REFERENCES, INDEX, ALTER, CREATE TEMPORARY TABLES, " +
	"LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER"

func myUser(name string) string { return mysqlserver.QuoteLiteral(name) + "@'%'" }

func (d *Databases) CreateUser(ctx context.Context, id, name, password string) error {
	return d.exec(ctx, id, func(c *pgserver.Cluster) error {
		// Managed services let their users create in every database of the
		// cluster; Mastodon's migrations need exactly that.
		return c.Exec(ctx, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s CREATEDB", pgserver.QuoteIdent(name), pgserver.QuoteLiteral(password)))
	}, []string{
		"CREATE USER " + myUser(name) + " IDENTIFIED BY " + mysqlserver.QuoteLiteral(password),
		"GRANT " + userRights + " ON *.* TO " + myUser(name),
	})
}

// CreateAdmin adds DigitalOcean's doadmin: it may create roles and
// databases, replicate (DigitalOcean gives it REPLICATION, which logical
// replication from the source needs), and owns defaultdb (PostgreSQL 15
// lets only the owner create in its public schema).
func (d *Databases) CreateAdmin(ctx context.Context, id, name, password string) error {
	return d.exec(ctx, id, func(c *pgserver.Cluster) error {
		return c.Exec(ctx, "postgres",
			fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s CREATEDB CREATEROLE REPLICATION", pgserver.QuoteIdent(name), pgserver.QuoteLiteral(password)),
			fmt.Sprintf("ALTER DATABASE %s OWNER TO %s", pgserver.QuoteIdent(dosim.DefaultDatabase), pgserver.QuoteIdent(name)))
	}, []string{
		"CREATE USER " + myUser(name) + " IDENTIFIED BY " + mysqlserver.QuoteLiteral(password),
		"GRANT " + userRights + ", CREATE USER, RELOAD, PROCESS, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO " + myUser(name) + " WITH GRANT OPTION",
	})
}

func (d *Databases) SetPassword(ctx context.Context, id, name, password string) error {
	return d.exec(ctx, id, func(c *pgserver.Cluster) error {
		return c.Exec(ctx, "postgres", fmt.Sprintf("ALTER ROLE %s PASSWORD %s", pgserver.QuoteIdent(name), pgserver.QuoteLiteral(password)))
	}, []string{"ALTER USER " + myUser(name) + " IDENTIFIED BY " + mysqlserver.QuoteLiteral(password)})
}

func (d *Databases) DropUser(ctx context.Context, id, name string) error {
	return d.exec(ctx, id, func(c *pgserver.Cluster) error {
		return c.Exec(ctx, "postgres", "DROP ROLE IF EXISTS "+pgserver.QuoteIdent(name))
	}, []string{"DROP USER IF EXISTS " + myUser(name)})
}

func (d *Databases) CreateDatabase(ctx context.Context, id, name string) error {
	return d.exec(ctx, id, func(c *pgserver.Cluster) error {
		if err := c.Exec(ctx, "postgres", "CREATE DATABASE "+pgserver.QuoteIdent(name)); err != nil {
			return err
		}
		// PostgreSQL 15 no longer lets everyone create in public; a managed
		// service's users can.
		return c.Exec(ctx, name, "GRANT ALL ON SCHEMA public TO PUBLIC", "GRANT ALL ON DATABASE "+pgserver.QuoteIdent(name)+" TO PUBLIC")
	}, []string{"CREATE DATABASE " + mysqlserver.QuoteIdent(name) + " CHARACTER SET utf8mb4"})
}

func (d *Databases) DropDatabase(ctx context.Context, id, name string) error {
	return d.exec(ctx, id, func(c *pgserver.Cluster) error {
		return c.Exec(ctx, "postgres", "DROP DATABASE IF EXISTS "+pgserver.QuoteIdent(name)+" WITH (FORCE)")
	}, []string{"DROP DATABASE IF EXISTS " + mysqlserver.QuoteIdent(name)})
}

// StopAll stops every server, keeping its data for the next run.
func (d *Databases) StopAll() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for id, s := range d.servers {
		errs = append(errs, s.Stop(context.Background()))
		delete(d.servers, id)
	}
	return errors.Join(errs...)
}

// Ports are kept beside the PostgreSQL clusters for both engines: IDs are
// UUIDs, so they never meet.
func (d *Databases) portFile(id string) string { return filepath.Join(d.pgDir, id+".port") }

func (d *Databases) savePort(id string, port int) {
	os.MkdirAll(d.pgDir, 0o711)
	os.WriteFile(d.portFile(id), []byte(fmt.Sprint(port)), 0o600)
}

func (d *Databases) loadPort(id string) int {
	var port int
	if b, err := os.ReadFile(d.portFile(id)); err == nil {
		fmt.Sscan(string(b), &port)
	}
	return port
}
