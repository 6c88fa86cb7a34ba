// Package mysqlserver runs real MariaDB servers with the machine's own
// mariadb-install-db and mariadbd: the sandbox's managed MySQL databases
// (MariaDB speaks MySQL's protocol and takes its dumps). A server listens
// on a loopback port and a Unix socket of its own; its superuser "root" is
// reached on the socket only, and every other login needs its password.
package mysqlserver

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cosocial/cosocial/pkg/localserver"
	"github.com/go-sql-driver/mysql"
)

// Programs finds mariadbd and mariadb-install-db (Debian's
// mariadb-server-core and mariadb-client-core packages).
func Programs() (server, install string, err error) {
	server, err = exec.LookPath("mariadbd")
	if err != nil {
		if server, err = exec.LookPath("/usr/sbin/mariadbd"); err != nil {
			return "", "", errors.New("MariaDB is not installed: mariadbd was not found (Debian: apt-get install mariadb-server-core mariadb-client-core)")
		}
	}
	if install, err = exec.LookPath("mariadb-install-db"); err != nil {
		return "", "", errors.New("MariaDB is not installed: mariadb-install-db was not found (Debian: apt-get install mariadb-server-core mariadb-client-core)")
	}
	// mariadb-install-db cannot run without it.
	if _, err = exec.LookPath("my_print_defaults"); err != nil {
		return "", "", errors.New("MariaDB is not fully installed: my_print_defaults was not found (Debian: apt-get install mariadb-client-core)")
	}
	return server, install, nil
}

// Server is one MariaDB server on this machine.
type Server struct {
	Dir  string // holds data/, the log and the pid file
	Port int
	bin  string
}

// Host is the address clients connect to.
func (s *Server) Host() string { return "127.0.0.1" }

// Small enough for a sandbox of several servers: the defaults take 96 MB
// of redo log and 128 MB of buffer pool each.
var sizing = []string{"--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M"}

// Create initialises a server in dir (which must not exist), starts it and
// makes the database "defaultdb", as managed services do.
func Create(ctx context.Context, dir string) (*Server, error) {
	bin, install, err := Programs()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("%s already exists", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, bin: bin}
	args := append([]string{"--no-defaults", "--datadir=" + s.dataDir(), "--auth-root-authentication-method=socket",
		"--skip-test-db", "--skip-name-resolve"}, sizing...)
	args = append(args, asRoot()...)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(cctx, install, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db %s: %w: %s", dir, err, lastLines(out))
	}
	if err := s.Start(ctx, 0); err != nil {
		return nil, err
	}
	if err := s.Exec(ctx, "CREATE DATABASE defaultdb"); err != nil {
		// Nobody holds the server yet: stop it rather than leave it
		// running past an interrupted run.
		s.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// Open finds an existing server in dir without starting it.
func Open(dir string) (*Server, error) {
	bin, _, err := Programs()
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, bin: bin}
	if _, err := os.Stat(filepath.Join(s.dataDir(), "mysql")); err != nil {
		return nil, fmt.Errorf("no MariaDB server in %s", dir)
	}
	return s, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.Dir, "data") }
func (s *Server) pidFile() string { return filepath.Join(s.Dir, "mariadbd.pid") }

// Socket is the server's Unix socket: a short path of its own, because a
// socket's path may not exceed 107 bytes and data folders are often
// deeper than that.
func (s *Server) Socket() string {
	sum := sha256.Sum256([]byte(s.Dir))
	return filepath.Join(os.TempDir(), ".cosocial-my-"+hex.EncodeToString(sum[:5])+".sock")
}

// asRoot lets mariadbd run as root, which it otherwise refuses; as any
// other account it runs as that account.
func asRoot() []string {
	if os.Geteuid() == 0 {
		return []string{"--user=root"}
	}
	return nil
}

// Start starts the server on port (0: a free one), waiting until it
// accepts connections. A server of this folder left running by an earlier
// process is stopped first.
func (s *Server) Start(ctx context.Context, port int) error {
	if err := s.Stop(ctx); err != nil {
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
		if err = s.start(ctx, p); err == nil {
			s.Port = p
			return nil
		}
		if port != 0 {
			break // a port asked for is not swapped for another
		}
	}
	return err
}

func (s *Server) start(ctx context.Context, port int) error {
	args := append([]string{"--no-defaults", "--datadir=" + s.dataDir(), "--socket=" + s.Socket(), "--port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1", "--skip-name-resolve", "--pid-file=" + s.pidFile(),
		"--log-error=" + filepath.Join(s.Dir, "server.log"), "--innodb-flush-log-at-trx-commit=0"}, sizing...)
	args = append(args, asRoot()...)
	cmd := exec.Command(s.bin, args...)
	// The server outlives this process, as pg_ctl's do: a Ctrl-C meant for
	// cosocial must not stop it mid-write.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("starting MariaDB in %s: it exited (%v): %s", s.Dir, err, lastLines(readFile(filepath.Join(s.Dir, "server.log"))))
		case <-deadline.C:
			cmd.Process.Kill()
			return fmt.Errorf("starting MariaDB in %s: not accepting connections after a minute", s.Dir)
		case <-ctx.Done():
			cmd.Process.Kill()
			return ctx.Err()
		case <-tick.C:
			if c, err := net.Dial("unix", s.Socket()); err == nil {
				c.Close()
				return nil
			}
		}
	}
}

// Stop stops the server, if it runs, waiting for it to finish.
func (s *Server) Stop(ctx context.Context) error {
	b, err := os.ReadFile(s.pidFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%s: not a process ID: %q", s.pidFile(), b)
	}
	// A pid file outlives a crash, and its number may now be another
	// program's: only a mariadbd of this folder is stopped.
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !strings.Contains(string(cmdline), "--datadir="+s.dataDir()+"\x00") || syscall.Kill(pid, syscall.SIGTERM) != nil {
		os.Remove(s.pidFile())
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for syscall.Kill(pid, 0) == nil {
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopping MariaDB in %s (pid %d): %w", s.Dir, pid, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	os.Remove(s.pidFile())
	return nil
}

// Destroy stops the server and removes its folder.
func (s *Server) Destroy(ctx context.Context) error {
	if err := s.Stop(ctx); err != nil {
		return err
	}
	os.Remove(s.Socket())
	return os.RemoveAll(s.Dir)
}

// DSN is a go-sql-driver/mysql data source name for a user with a
// password over TCP.
func (s *Server) DSN(user, password, database string) string {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, password, "tcp", net.JoinHostPort(s.Host(), strconv.Itoa(s.Port)), database
	return cfg.FormatDSN()
}

// Exec runs statements as root over the socket.
func (s *Server) Exec(ctx context.Context, statements ...string) error {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "unix", s.Socket()
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	for _, st := range statements {
		if _, err := db.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", localserver.StatementName(st), err)
		}
	}
	return nil
}

// QuoteIdent quotes a name for MySQL.
func QuoteIdent(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// QuoteLiteral quotes a string for MySQL, whose default mode also takes a
// backslash as an escape.
func QuoteLiteral(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`, "\x00", `\0`).Replace(v) + "'"
}

func readFile(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// lastLines keeps the end of a program's output, where its reason is.
func lastLines(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, "\n")
}

// Listening is the port the server listens on.
func (s *Server) Listening() int { return s.Port }
