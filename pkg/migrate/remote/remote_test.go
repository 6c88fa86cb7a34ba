package remote

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// connected starts a server that lets in a fresh key file and dials it.
func connected(t *testing.T) (*testSSHD, *Client) {
	t.Helper()
	k, keyFile := userKey(t, nil)
	s := startSSHD(t, []string{"ed25519"}, signer(t, k).PublicKey())
	tg := s.target(s.knownHosts(t, s.HostKeys...))
	tg.KeyFile = keyFile
	c, err := Dial(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

func TestRunOutputAndExitStatus(t *testing.T) {
	_, c := connected(t)
	ctx := context.Background()
	out, errOut, err := c.Run(ctx, "echo hello; echo oops >&2")
	if err != nil || out != "hello\n" || errOut != "oops\n" {
		t.Errorf("Run = %q, %q, %v", out, errOut, err)
	}
	_, _, err = c.Run(ctx, "echo 'no such table' >&2; exit 3")
	var exit interface{ ExitStatus() int }
	if !errors.As(err, &exit) || exit.ExitStatus() != 3 {
		t.Fatalf("Run(exit 3) = %v, want an error with ExitStatus 3", err)
	}
	if !strings.Contains(err.Error(), "no such table") || !strings.Contains(err.Error(), "status 3") {
		t.Errorf("the error should carry the status and stderr: %v", err)
	}
}

func TestWriteFileReadFileRoundTrip(t *testing.T) {
	s, c := connected(t)
	ctx := context.Background()
	live := filepath.Join(s.Dir, "live")
	os.Mkdir(live, 0o755)
	path := filepath.Join(live, ".env.production")
	if err := os.WriteFile(path, []byte("OLD=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantOwner := "0"
	if os.Geteuid() == 0 {
		// As on a real server: root rewrites a file the app's user owns.
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		wantOwner = "65534:65534"
	} else {
		wantOwner = strings.TrimSpace(run(t, "id", "-u") + ":" + run(t, "id", "-g"))
	}

	data := []byte("DB_HOST=db.example.ca\nDB_PASS='s3cr3t pass'\n")
	for b := 0; b < 256; b++ {
		data = append(data, byte(b)) // every byte value survives the trip
	}
	if err := c.WriteFile(ctx, path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadFile(ctx, path)
	if err != nil || string(got) != string(data) {
		t.Fatalf("ReadFile = %d bytes, %v; want the %d written", len(got), err, len(data))
	}
	stat, _, err := c.Run(ctx, "stat -c '%a %u:%g' "+ShellQuote(path))
	if err != nil {
		t.Fatal(err)
	}
	if want := "640 " + wantOwner; strings.TrimSpace(stat) != want {
		t.Errorf("mode and owner = %q, want %q", strings.TrimSpace(stat), want)
	}
	leftovers, _ := filepath.Glob(filepath.Join(live, ".*cosocial-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	// A symlinked env file: the file it points to is replaced.
	link := filepath.Join(s.Dir, "env-link")
	os.Symlink(path, link)
	if err := c.WriteFile(ctx, link, []byte("NEW=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink should stay a symlink: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "NEW=1\n" {
		t.Errorf("the link's target holds %q", b)
	}

	_, err = c.ReadFile(ctx, filepath.Join(live, "missing"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v, want fs.ErrNotExist", err)
	}
	err = c.WriteFile(ctx, filepath.Join(s.Dir, "no-such-dir", "f"), []byte("x"), 0o600)
	if err == nil {
		t.Error("writing into a missing folder should fail")
	}
}

func run(t *testing.T, name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// dialThenTouch dials and, only if that succeeded, runs a command that
// leaves a marker: the marker proves whether anything ran on the server.
func dialThenTouch(t *testing.T, tg Target, marker string) error {
	c, err := Dial(context.Background(), tg)
	if err == nil {
		c.Run(context.Background(), "touch "+ShellQuote(marker))
		c.Close()
	}
	if _, serr := os.Stat(marker); serr == nil {
		t.Errorf("the command ran: %s exists", marker)
	}
	return err
}

func TestWrongHostKeyStopsBeforeAnyCommand(t *testing.T) {
	k, keyFile := userKey(t, nil)
	s := startSSHD(t, []string{"ed25519"}, signer(t, k).PublicKey())
	known := s.knownHosts(t, newSignerKey(t)) // someone else's key
	tg := s.target(known)
	tg.KeyFile = keyFile

	err := dialThenTouch(t, tg, filepath.Join(s.Dir, "marker"))
	var he *HostKeyError
	if !errors.As(err, &he) || he.Problem != HostKeyChanged {
		t.Fatalf("Dial = %v, want a changed host key", err)
	}
	msg := err.Error()
	for _, want := range []string{"[127.0.0.1]:", known, ssh.FingerprintSHA256(s.HostKeys[0]), "ssh-keygen -R", "(line 2)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(s.log.String(), "Accepted publickey") {
		t.Error("the client logged in despite the wrong host key")
	}
	t.Log(msg)
}

func TestUnknownHostStopsBeforeAnyCommand(t *testing.T) {
	k, keyFile := userKey(t, nil)
	s := startSSHD(t, []string{"ed25519"}, signer(t, k).PublicKey())
	for name, known := range map[string]string{
		"other hosts only": s.knownHosts(t),
		"no file":          filepath.Join(t.TempDir(), "known_hosts"),
	} {
		t.Run(name, func(t *testing.T) {
			tg := s.target(known)
			tg.KeyFile = keyFile
			err := dialThenTouch(t, tg, filepath.Join(s.Dir, "marker"))
			var he *HostKeyError
			if !errors.As(err, &he) || he.Problem != HostUnknown {
				t.Fatalf("Dial = %v, want an unknown host", err)
			}
			for _, want := range []string{"[127.0.0.1]:", known, ssh.FingerprintSHA256(s.HostKeys[0]), "ssh-keyscan -p"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%s", want, err)
				}
			}
			t.Log(err)
		})
	}
	if strings.Contains(s.log.String(), "Accepted publickey") {
		t.Error("the client logged in to an unknown host")
	}
}

// A server with several host keys must be asked for the kind known_hosts
// holds, not the one the client likes best.
func TestKnownKeyTypeIsAskedFor(t *testing.T) {
	k, keyFile := userKey(t, nil)
	s := startSSHD(t, []string{"ed25519", "ecdsa"}, signer(t, k).PublicKey())
	// x/crypto prefers ECDSA host keys: known_hosts holds the Ed25519 one only.
	tg := s.target(s.knownHosts(t, s.HostKeys[0]))
	tg.KeyFile = keyFile
	c, err := Dial(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// serveAgent runs an in-process ssh-agent holding keys on a unix socket.
func serveAgent(t *testing.T, keys ...any) string {
	t.Helper()
	kr := agent.NewKeyring()
	for _, k := range keys {
		if err := kr.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := os.MkdirTemp("", "agent") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); os.RemoveAll(dir) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(kr, c); c.Close() }()
		}
	}()
	return sock
}

func TestAgentAuth(t *testing.T) {
	k := newKey(t, "ed25519")
	s := startSSHD(t, []string{"ed25519"}, signer(t, k).PublicKey())
	tg := s.target(s.knownHosts(t, s.HostKeys...))
	tg.AgentSocket = serveAgent(t, newKey(t, "ed25519"), k) // the first key is refused

	c, err := Dial(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if out, _, err := c.Run(context.Background(), "echo via agent"); err != nil || out != "via agent\n" {
		t.Errorf("Run = %q, %v", out, err)
	}

	// An explicitly named agent that is not there is an error, not a fallback.
	tg.AgentSocket = filepath.Join(t.TempDir(), "gone.sock")
	if _, err := Dial(context.Background(), tg); err == nil || !strings.Contains(err.Error(), "gone.sock") {
		t.Errorf("Dial with a dead agent = %v", err)
	}
}

func TestEncryptedKeyFileAuth(t *testing.T) {
	pass := "correct horse battery staple"
	k, keyFile := userKey(t, []byte(pass))
	s := startSSHD(t, []string{"ed25519"}, signer(t, k).PublicKey())
	asked := 0
	tg := s.target(s.knownHosts(t, s.HostKeys...))
	tg.KeyFile = keyFile
	tg.Passphrase = func() ([]byte, error) { asked++; return []byte(pass), nil }

	c, err := Dial(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if out, _, err := c.Run(context.Background(), "echo via key file"); err != nil || out != "via key file\n" {
		t.Errorf("Run = %q, %v", out, err)
	}
	c.Close()
	if asked != 1 {
		t.Errorf("passphrase asked %d times, want 1", asked)
	}

	// The agent's key is enough: the key file is never unlocked.
	asked = 0
	tg.AgentSocket = serveAgent(t, k)
	c, err = Dial(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if asked != 0 {
		t.Errorf("passphrase asked %d times although the agent's key was accepted", asked)
	}

	// A slow typist does not time the handshake out: the prompt takes
	// longer than the whole connect timeout, which stays generous for the
	// handshake itself on a busy machine.
	const connect = 3 * time.Second
	tg.AgentSocket, tg.ConnectTimeout = "none", connect
	tg.Passphrase = func() ([]byte, error) { time.Sleep(connect + 500*time.Millisecond); return []byte(pass), nil }
	c, err = Dial(context.Background(), tg)
	if err != nil {
		t.Fatalf("Dial with a slow passphrase: %v", err)
	}
	c.Close()

	tg.Passphrase = func() ([]byte, error) { return []byte("Tr0ub4dor&3"), nil }
	_, err = Dial(context.Background(), tg)
	if err == nil || !strings.Contains(err.Error(), "wrong passphrase") || strings.Contains(err.Error(), "Tr0ub4dor") {
		t.Errorf("Dial with a wrong passphrase = %v", err)
	}
	tg.Passphrase = nil
	if _, err := Dial(context.Background(), tg); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("Dial without a passphrase callback = %v", err)
	}
}

func TestRefusedKeyIsAnAuthError(t *testing.T) {
	s := startSSHD(t, []string{"ed25519"}, newSignerKey(t))
	_, keyFile := userKey(t, nil)
	tg := s.target(s.knownHosts(t, s.HostKeys...))
	tg.KeyFile = keyFile
	_, err := Dial(context.Background(), tg)
	var ae *AuthError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), keyFile) {
		t.Errorf("Dial = %v, want an AuthError naming the key file", err)
	}
}

func TestCancelStopsALongCommand(t *testing.T) {
	_, c := connected(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.Run(ctx, "sleep 4321")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want the deadline", err)
	}
	// The command sleeps for over an hour: ending at all proves the
	// deadline was noticed. The bound only catches a hang, on any machine.
	if d := time.Since(start); d > time.Minute {
		t.Errorf("Run took %s to notice the deadline", d)
	}
	// The server is this machine: the sleep itself must be gone too.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if exec.Command("pgrep", "-f", "^sleep 4321$").Run() != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the remote sleep is still running")
		}
	}
	// The connection is still usable.
	if out, _, err := c.Run(context.Background(), "echo after"); err != nil || out != "after\n" {
		t.Errorf("Run after a cancel = %q, %v", out, err)
	}
}

// TestPinnedHostKeyAndKeyInMemory: a server the tool made is reached with
// the host key it gave it and the login key it keeps, no file involved;
// another host key is refused before any command, both fingerprints shown.
func TestPinnedHostKeyAndKeyInMemory(t *testing.T) {
	login := signer(t, newKey(t, "ed25519"))
	s := startSSHD(t, []string{"ed25519"}, login.PublicKey())
	tg := s.target(filepath.Join(t.TempDir(), "no-such-known_hosts"))
	tg.Signer, tg.HostKey, tg.PinnedBy = login, s.HostKeys[0], "the stack's state"
	c, err := Dial(context.Background(), tg)
	if err != nil {
		t.Fatalf("Dial with the pinned key: %v\n%s", err, s.log.String())
	}
	out, _, err := c.Run(context.Background(), "echo pinned")
	c.Close()
	if err != nil || strings.TrimSpace(out) != "pinned" {
		t.Fatalf("Run = %q, %v", out, err)
	}

	other := newSignerKey(t)
	tg.HostKey = other
	err = dialThenTouch(t, tg, filepath.Join(s.Dir, "marker"))
	var he *HostKeyError
	if !errors.As(err, &he) || he.Problem != HostKeyChanged || !he.Pinned {
		t.Fatalf("Dial = %v, want a changed pinned key", err)
	}
	for _, want := range []string{ssh.FingerprintSHA256(s.HostKeys[0]), ssh.FingerprintSHA256(other), "the stack's state"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}
