// Package sshdtest starts a real OpenSSH server on a loopback port for a
// test, in a temporary folder, letting in the keys it was given, with the
// known_hosts file and client keys a test needs to reach it.
package sshdtest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/localserver"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Path is where Debian's openssh-server puts sshd.
const Path = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	Dir      string
	Host     string
	Port     int
	HostKeys []ssh.PublicKey
	log      *SyncBuffer
}

// SyncBuffer collects a log written from many goroutines.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start starts sshd with host keys of the given types ("ed25519",
// "ecdsa"), letting in the authorized keys, for any local account. It
// skips the test, saying so, when sshd is not installed; it is stopped
// when the test ends.
func Start(t testing.TB, hostKeyTypes []string, authorized ...ssh.PublicKey) *Server {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		t.Skipf("SKIP: %s not found (make test installs openssh-server): %v", Path, err)
	}
	// sshd wants its privilege separation folder even when it never uses it.
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Straight under the temporary folder, not in t.TempDir's private
	// parent, so that sessions of other accounts can read the authorized
	// keys.
	dir, err := os.MkdirTemp("", "sshdtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	s := &Server{Dir: dir, Host: "127.0.0.1", log: &SyncBuffer{}}
	var hostKeyLines []string
	for _, typ := range hostKeyTypes {
		priv := NewKey(t, typ)
		path := filepath.Join(dir, "ssh_host_"+typ+"_key")
		WriteKey(t, path, priv, nil)
		s.HostKeys = append(s.HostKeys, Signer(t, priv).PublicKey())
		hostKeyLines = append(hostKeyLines, "HostKey "+path)
	}
	var auth bytes.Buffer
	for _, k := range authorized {
		auth.Write(ssh.MarshalAuthorizedKey(k))
	}
	authFile := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authFile, auth.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	for try := 0; try < 3; try++ {
		s.Port = freePort(t)
		config := strings.Join(append(hostKeyLines,
			"Port "+strconv.Itoa(s.Port),
			"ListenAddress "+s.Host,
			"PidFile "+filepath.Join(dir, "sshd.pid"),
			"AuthorizedKeysFile "+authFile,
			"StrictModes no",
			"UsePAM no",
			"PermitRootLogin prohibit-password",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"PubkeyAuthentication yes",
			"LogLevel VERBOSE",
		), "\n") + "\n"
		cfg := filepath.Join(dir, "sshd_config")
		if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(Path, "-D", "-e", "-f", cfg)
		cmd.Stdout, cmd.Stderr = s.log, s.log
		// Its own process group, so clean-up also ends the per-connection
		// processes it forks.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if waitForSSH(s.Host, s.Port, exited) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("sshd log:\n%s", s.log)
				}
			})
			return s
		}
		stop()
	}
	t.Fatalf("sshd did not start:\n%s", s.log)
	return nil
}

func freePort(t testing.TB) int {
	p, err := localserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitForSSH waits until the port answers with an SSH banner.
func waitForSSH(host string, port int, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 4)
			_, err = c.Read(buf)
			c.Close()
			if err == nil && string(buf) == "SSH-" {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Log is what sshd has logged so far.
func (s *Server) Log() string { return s.log.String() }

// KnownHosts writes a known_hosts file vouching for this server with the
// given keys (its own, or others to test a mismatch), after a line for
// another host.
func (s *Server) KnownHosts(t testing.TB, keys ...ssh.PublicKey) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(knownhosts.Line([]string{"other.example.net"}, Signer(t, NewKey(t, "ed25519")).PublicKey()) + "\n")
	for _, k := range keys {
		b.WriteString(knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, k) + "\n")
	}
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// NewKey makes a private key of a type: "ed25519" or "ecdsa".
func NewKey(t testing.TB, typ string) crypto.Signer {
	t.Helper()
	switch typ {
	case "ed25519":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return priv
	case "ecdsa":
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return priv
	}
	t.Fatalf("no key type %s", typ)
	return nil
}

// Signer wraps a private key for SSH.
func Signer(t testing.TB, k crypto.Signer) ssh.Signer {
	t.Helper()
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// WriteKey writes an OpenSSH private key file, encrypted if passphrase
// is set.
func WriteKey(t testing.TB, path string, k crypto.Signer, passphrase []byte) {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase != nil {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(k, "cosocial test", passphrase)
	} else {
		block, err = ssh.MarshalPrivateKey(k, "cosocial test")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ClientKey is a fresh client key written to a file in the test's folder.
func ClientKey(t testing.TB) (ssh.PublicKey, string) {
	t.Helper()
	k := NewKey(t, "ed25519")
	path := filepath.Join(t.TempDir(), "id_ed25519")
	WriteKey(t, path, k, nil)
	return Signer(t, k).PublicKey(), path
}
