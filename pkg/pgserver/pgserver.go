// Package pgserver runs real PostgreSQL clusters with the machine's own
// initdb and pg_ctl: for the sandbox's managed databases and for tests that
// need a source and a target. A cluster listens on a loopback port and a
// Unix socket in its own folder; its superuser "postgres" is trusted on the
// socket only, and every other login needs its password.
package pgserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cosocial/cosocial/pkg/localserver"
	"github.com/jackc/pgx/v5"
)

// BinDir finds PostgreSQL's programs: `pg_config --bindir`, else the
// newest /usr/lib/postgresql/*/bin.
func BinDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	return "", errors.New("PostgreSQL is not installed: install Debian's postgresql package (apt-get install postgresql)")
}

// Cluster is one PostgreSQL cluster on this machine.
type Cluster struct {
	Dir  string // the data folder
	Port int
	bin  string
	// runAs is the account the server runs as when this process is root
	// (PostgreSQL refuses to run as root).
	runAs *user.User
}

// Host is the address clients connect to.
func (c *Cluster) Host() string { return "127.0.0.1" }

// Create initialises a cluster in dir (which must not exist) and starts
// it. When this process is root the cluster belongs to the "postgres"
// account, which must be able to reach dir.
func Create(ctx context.Context, dir string) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		if c.runAs, err = user.Lookup("postgres"); err != nil {
			return nil, errors.New("running as root, PostgreSQL needs the \"postgres\" account (created by Debian's postgresql package)")
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := c.own(dir); err != nil {
		return nil, err
	}
	out, err := c.run(ctx, filepath.Join(bin, "initdb"), "-D", dir, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
	if err != nil {
		return nil, fmt.Errorf("initdb %s: %w: %s", dir, err, out)
	}
	conf := "\n# cosocial\nlisten_addresses = '127.0.0.1'\nfsync = off\nwal_level = logical\nmax_wal_senders = 10\nmax_replication_slots = 10\n"
	if err := appendFile(filepath.Join(dir, "postgresql.conf"), conf); err != nil {
		return nil, err
	}
	hba := "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(dir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return nil, err
	}
	if err := c.own(filepath.Join(dir, "pg_hba.conf")); err != nil {
		return nil, err
	}
	if err := c.Start(ctx, 0); err != nil {
		return nil, err
	}
	if err := c.Exec(ctx, "postgres", "CREATE DATABASE defaultdb"); err != nil {
		// Nobody holds the cluster yet: a server left running here (the
		// run interrupted mid-create) would outlive the sandbox.
		c.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return c, nil
}

// Open finds an existing cluster in dir without starting it.
func Open(dir string) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		return nil, fmt.Errorf("no PostgreSQL cluster in %s", dir)
	}
	c := &Cluster{Dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		if c.runAs, err = user.Lookup("postgres"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// SocketDir is where the cluster's Unix socket lives: a short path of its
// own, because a socket's path may not exceed 107 bytes and data folders
// are often deeper than that.
func (c *Cluster) SocketDir() string {
	sum := sha256.Sum256([]byte(c.Dir))
	return filepath.Join(os.TempDir(), ".cosocial-pg-"+hex.EncodeToString(sum[:5]))
}

// Start starts the server on port (0: a free one), waiting until it
// accepts connections.
func (c *Cluster) Start(ctx context.Context, port int) error {
	// A server left running by a process that was killed before it could
	// stop it (a sandbox under kill -9) still holds the folder: stop it,
	// and start again on the port asked for now.
	if out, err := c.run(ctx, filepath.Join(c.bin, "pg_ctl"), "-D", c.Dir, "status"); err == nil && strings.Contains(string(out), "server is running") {
		if err := c.Stop(ctx); err != nil {
			return err
		}
	}
	if err := c.ensureTLS(); err != nil {
		return fmt.Errorf("giving PostgreSQL in %s its certificate: %w", c.Dir, err)
	}
	if err := os.MkdirAll(c.SocketDir(), 0o700); err != nil {
		return err
	}
	if err := c.own(c.SocketDir()); err != nil {
		return err
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		p := port
		if p == 0 {
			if p, err = localserver.FreePort(); err != nil {
				return err
			}
		}
		var out []byte
		out, err = c.run(ctx, filepath.Join(c.bin, "pg_ctl"), "-D", c.Dir, "-w", "-t", "60", "-l", filepath.Join(c.Dir, "server.log"),
			"-o", "-p "+strconv.Itoa(p)+" -k "+c.SocketDir(), "start")
		if err == nil {
			c.Port = p
			return nil
		}
		err = fmt.Errorf("starting PostgreSQL in %s: %w: %s", c.Dir, err, out)
		if ctx.Err() != nil {
			// pg_ctl was stopped while it waited: the server it launched
			// runs on, detached. Stop it rather than leave it behind.
			c.Stop(context.WithoutCancel(ctx))
			return err
		}
		if port != 0 {
			break // a port asked for is not swapped for another
		}
	}
	return err
}

// Stop stops the server, waiting for it to finish. Its socket folder,
// empty once the server is gone, goes too; Start makes it again.
func (c *Cluster) Stop(ctx context.Context) error {
	out, err := c.run(ctx, filepath.Join(c.bin, "pg_ctl"), "-D", c.Dir, "-w", "-m", "fast", "stop")
	if err != nil && !strings.Contains(string(out), "is the server running") {
		return fmt.Errorf("stopping PostgreSQL in %s: %w: %s", c.Dir, err, out)
	}
	os.Remove(c.SocketDir()) // only if empty: a server still running keeps its socket
	return nil
}

// Destroy stops the server and removes its folders.
func (c *Cluster) Destroy(ctx context.Context) error {
	if err := c.Stop(ctx); err != nil {
		return err
	}
	os.RemoveAll(c.SocketDir())
	return os.RemoveAll(c.Dir)
}

// AdminConn connects as the superuser over the cluster's socket.
func (c *Cluster) AdminConn(ctx context.Context, database string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Database = c.SocketDir(), uint16(c.Port), "postgres", database
	return pgx.ConnectConfig(ctx, cfg)
}

// DSN is a connection string for a user with a password over TCP.
func (c *Cluster) DSN(user, password, database string) string {
	return fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", user, password, c.Host(), c.Port, database)
}

// Exec runs statements as the superuser in a database.
func (c *Cluster) Exec(ctx context.Context, database string, statements ...string) error {
	conn, err := c.AdminConn(ctx, database)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range statements {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", localserver.StatementName(s), err)
		}
	}
	return nil
}

// run runs a PostgreSQL program, as the postgres account when root.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if c.runAs != nil {
		uid, _ := strconv.Atoi(c.runAs.Uid)
		gid, _ := strconv.Atoi(c.runAs.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Env = append(cmd.Env, "HOME="+c.runAs.HomeDir)
		cmd.Dir = "/"
	}
	// The server outlives this command: it must not share its process
	// group, or a Ctrl-C meant for cosocial would stop the databases too.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// own gives a path to the account the server runs as.
func (c *Cluster) own(path string) error {
	if c.runAs == nil {
		return nil
	}
	uid, _ := strconv.Atoi(c.runAs.Uid)
	gid, _ := strconv.Atoi(c.runAs.Gid)
	return os.Chown(path, uid, gid)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// QuoteIdent quotes a name for SQL.
func QuoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

// QuoteLiteral quotes a string for SQL.
func QuoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Listening is the port the cluster listens on.
func (c *Cluster) Listening() int { return c.Port }
