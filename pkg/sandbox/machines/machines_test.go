package machines

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/migrate/remote"
	"github.com/cosocial/cosocial/pkg/migrate/remote/sshdtest"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func needHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: machines need root (namespaces, sshd, podman with runc)")
	}
	for _, tool := range []string{sshdPath, "podman", "runc", "conmon", "docker-compose", "nsenter", "ssh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: %s is not installed (make test-deps installs it): %v", tool, err)
		}
	}
}

// standIn is the stand-in program: make test's, or built here.
func standIn(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("COSOCIAL_STANDIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p := filepath.Join(t.TempDir(), "cosocial-standin")
	build := exec.Command("go", "build", "-o", p, "../../../cmd/cosocial-standin")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the stand-in: %v\n%s", err, out)
	}
	return p
}

// cloudConfigWith is user data as cosocial's servers get it: a host key,
// and a login key for a user the host does not have.
func cloudConfigWith(t *testing.T, hostKey any, login ssh.PublicKey) string {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(hostKey, "host")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("#cloud-config\nusers:\n  - default\n  - name: cosocial\n    ssh_authorized_keys:\n      - " +
		strings.TrimSpace(string(ssh.MarshalAuthorizedKey(login))) + " cosocial\nssh_keys:\n  ed25519_private: |\n")
	for _, line := range strings.Split(strings.TrimSpace(string(pem.EncodeToMemory(block))), "\n") {
		b.WriteString("    " + line + "\n")
	}
	b.WriteString("  ed25519_public: " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + "\n")
	return b.String()
}

// knownHostsFor vouches for the machine at its loopback address and
// port with the key given.
func knownHostsFor(t *testing.T, m Machine, key ssh.PublicKey) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(m.Loopback, strconv.Itoa(m.Port)))}, key)
	if err := os.WriteFile(p, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func dial(t *testing.T, m Machine, knownHosts, keyFile string) (*remote.Client, error) {
	t.Helper()
	return remote.Dial(context.Background(), remote.Target{Host: m.Loopback, Port: m.Port, User: "root",
		KnownHosts: knownHosts, KeyFile: keyFile, AgentSocket: "none", ConnectTimeout: 20 * time.Second})
}

func run(t *testing.T, sh *remote.Client, cmd string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, errOut, err := sh.Run(ctx, cmd)
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", cmd, err, out, errOut)
	}
	return out
}

// composeFile is one stand-in Mastodon web process on the machine's own
// address, with its files in the machine's /opt.
const composeFile = `services:
  web:
    image: ghcr.io/mastodon/mastodon:v4.3.7
    restart: always
    network_mode: host
    command: bundle exec puma
    environment:
      BIND: ${COSOCIAL_LISTEN}
    volumes:
      - ./public/system:/mastodon/public/system
`

// version asks the stand-in on the machine's address what it runs.
func version(m Machine) (string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(m.Loopback, "3000") + "/api/v1/instance")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var inst struct{ Version string }
	err = json.NewDecoder(resp.Body).Decode(&inst)
	return inst.Version, err
}

// waitFor polls until ok; the limit only bounds a hang.
func waitFor(t *testing.T, what string, ok func() error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := ok()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after a minute: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leftovers are the processes whose command line or environment names
// dir: what a closed room must not leave running.
func leftovers(dir string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		environ, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if bytes.Contains(cmdline, []byte(dir)) || bytes.Contains(environ, []byte(dir)) {
			found = append(found, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return found
}

// TestMachineLifecycle boots a server from its cloud-init and logs in
// with the key it declares, pinning the host key it declares, and a
// second beside it; deploys a stand-in Mastodon with Compose over SSH,
// pulled through the mirror; closes the room, leaving nothing running;
// opens it again, finding the machine with its key and its app back; and
// halts it.
func TestMachineLifecycle(t *testing.T) {
	needHost(t)
	dir := t.TempDir()
	logs := &sshdtest.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the room's log:\n%s", logs)
		}
	})
	open := func() *Room {
		t.Helper()
		start := time.Now()
		r, err := Open(context.Background(), Options{Dir: dir, StandIn: standIn(t), Log: logs})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		t.Logf("opened in %s", time.Since(start).Round(time.Millisecond))
		return r
	}
	room := open()

	hostKey := sshdtest.NewKey(t, "ed25519")
	hostPub := sshdtest.Signer(t, hostKey).PublicKey()
	loginPub, keyFile := sshdtest.ClientKey(t)
	userData := cloudConfigWith(t, hostKey, loginPub)

	start := time.Now()
	m, err := room.Boot(context.Background(), "srv-1", "203.0.113.5", userData)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("booted %+v in %s", m, time.Since(start).Round(time.Millisecond))
	if ip := net.ParseIP(m.Loopback).To4(); ip == nil || ip[0] != 127 || ip[3] != 2 || m.Port == 0 {
		t.Fatalf("the first machine is at %s:%d, not 127.R.S.2", m.Loopback, m.Port)
	}
	if again, err := room.Boot(context.Background(), "srv-1", "203.0.113.5", userData); err != nil || again != m {
		t.Fatalf("booting it again: %+v, %v; want %+v", again, err, m)
	}
	if got, ok := room.Machine("srv-1"); !ok || got != m {
		t.Fatalf("Machine: %+v, %v", got, ok)
	}
	// The user data holds the host's private key: only the key files
	// keep it, as a server's disk would.
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("#cloud-config")) {
				t.Errorf("%s holds the user data", p)
			}
		}
		return nil
	})

	// A client that expects another host key is refused before it logs in.
	other := sshdtest.Signer(t, sshdtest.NewKey(t, "ed25519")).PublicKey()
	var hkErr *remote.HostKeyError
	if _, err := dial(t, m, knownHostsFor(t, m, other), keyFile); !errors.As(err, &hkErr) || hkErr.Problem != remote.HostKeyChanged {
		t.Fatalf("with another host key pinned: %v", err)
	}

	sh, err := dial(t, m, knownHostsFor(t, m, hostPub), keyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if got := strings.TrimSpace(run(t, sh, `echo "$COSOCIAL_LISTEN"`)); got != m.Loopback {
		t.Fatalf("COSOCIAL_LISTEN is %q, want %s", got, m.Loopback)
	}
	name := fmt.Sprintf("cosocial-machines-test-%d", os.Getpid())
	run(t, sh, "echo private > /opt/"+name)
	if b, err := os.ReadFile(filepath.Join(dir, "srv-1", "opt", name)); err != nil || string(b) != "private\n" {
		t.Fatalf("the machine's /opt/%s: %q, %v", name, b, err)
	}
	if _, err := os.Stat("/opt/" + name); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the host's /opt has the machine's file: %v", err)
	}

	// As a volunteer would: OpenSSH, by the public address.
	out, err := exec.Command("ssh", "-F", room.SSHConfig(), "-i", keyFile, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
		"203.0.113.5", "cat /opt/"+name).CombinedOutput()
	if err != nil || string(out) != "private\n" {
		t.Fatalf("ssh -F %s 203.0.113.5: %v\n%s", room.SSHConfig(), err, out)
	}

	// A second machine has its own address and /opt, and a host key it
	// made itself, which the room's known_hosts vouches for.
	m2, err := room.Boot(context.Background(), "srv-2", "203.0.113.6",
		"#cloud-config\nssh_authorized_keys:\n  - "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(loginPub)))+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(m2.Loopback, ".3") || strings.TrimSuffix(m2.Loopback, "3") != strings.TrimSuffix(m.Loopback, "2") {
		t.Fatalf("the second machine is at %s, the first at %s", m2.Loopback, m.Loopback)
	}
	sh2, err := dial(t, m2, filepath.Join(dir, "known_hosts"), keyFile)
	if err != nil {
		t.Fatal(err)
	}
	run(t, sh2, "test ! -e /opt/"+name)
	sh2.Close()

	// Compose over SSH, with the machine's podman: the image comes
	// through the mirror, the volume is the machine's /opt.
	start = time.Now()
	run(t, sh, "mkdir -p /opt/cosocial/standin-test")
	if err := sh.WriteFile(context.Background(), "/opt/cosocial/standin-test/compose.yaml", []byte(composeFile), 0o644); err != nil {
		t.Fatal(err)
	}
	compose := "cd /opt/cosocial/standin-test && docker-compose -p standin-test "
	run(t, sh, compose+"run --rm --no-deps web bundle exec rails db:migrate")
	want := "4.3.7 bundle exec rails db:migrate SKIP_POST_DEPLOYMENT_MIGRATIONS=\n"
	if b, err := os.ReadFile(filepath.Join(dir, "srv-1", "opt/cosocial/standin-test/public/system/standin.log")); err != nil || string(b) != want {
		t.Fatalf("the task's log in the machine's /opt: %q, %v", b, err)
	}
	t.Logf("pulled the image and ran a task in %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	run(t, sh, compose+"up -d")
	var body string
	waitFor(t, "answer on the machine", func() error {
		var err error
		body, _, err = sh.Run(context.Background(), "curl -fsS http://"+net.JoinHostPort(m.Loopback, "3000")+"/api/v1/instance")
		return err
	})
	var inst struct{ Version string }
	if err := json.Unmarshal([]byte(body), &inst); err != nil || inst.Version != "4.3.7" {
		t.Fatalf("the instance API on the machine: %q, %v", body, err)
	}
	t.Logf("started the app, answering, in %s", time.Since(start).Round(time.Millisecond))
	sh.Close()

	// Closed: nothing of the room runs.
	start = time.Now()
	if err := room.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("closed in %s", time.Since(start).Round(time.Millisecond))
	if left := leftovers(dir); len(left) > 0 {
		t.Fatalf("processes left running after Close:\n%s", strings.Join(left, "\n"))
	}
	if _, err := version(m); err == nil {
		t.Fatal("the app answers after Close")
	}

	// Opened again: the same machine, its host key, its app.
	room = open()
	resumed, ok := room.Machine("srv-1")
	if !ok || resumed.Loopback != m.Loopback || resumed.Public != m.Public {
		t.Fatalf("resumed %+v, %v; was %+v", resumed, ok, m)
	}
	sh, err = dial(t, resumed, knownHostsFor(t, resumed, hostPub), keyFile)
	if err != nil {
		t.Fatalf("the resumed machine's host key: %v", err)
	}
	defer sh.Close()
	if got := strings.TrimSpace(run(t, sh, "cat /opt/"+name)); got != "private" {
		t.Fatalf("the resumed machine's /opt: %q", got)
	}
	config, _ := os.ReadFile(room.SSHConfig())
	if !strings.Contains(string(config), fmt.Sprintf("Port %d\n", resumed.Port)) {
		t.Fatalf("ssh_config does not name the new port %d:\n%s", resumed.Port, config)
	}
	waitFor(t, "app back on the resumed machine", func() error {
		v, err := version(resumed)
		if err == nil && v != "4.3.7" {
			err = fmt.Errorf("version %q", v)
		}
		return err
	})
	sh.Close()

	// Halted: its app, processes and folder are gone; the room's files
	// no longer name it.
	start = time.Now()
	if err := room.Halt(context.Background(), "srv-1"); err != nil {
		t.Fatal(err)
	}
	t.Logf("halted in %s", time.Since(start).Round(time.Millisecond))
	if _, err := version(resumed); err == nil {
		t.Fatal("the app answers after Halt")
	}
	if _, ok := room.Machine("srv-1"); ok {
		t.Fatal("Machine finds the halted machine")
	}
	if _, err := os.Stat(filepath.Join(dir, "srv-1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the halted machine's folder: %v", err)
	}
	if left := leftovers(filepath.Join(dir, "srv-1")); len(left) > 0 {
		t.Fatalf("processes left running after Halt:\n%s", strings.Join(left, "\n"))
	}
	if config, _ := os.ReadFile(room.SSHConfig()); strings.Contains(string(config), "203.0.113.5") || !strings.Contains(string(config), "203.0.113.6") {
		t.Fatalf("ssh_config after halting 203.0.113.5 of two:\n%s", config)
	}
	if _, ok := room.Machine("srv-2"); !ok {
		t.Fatal("halting one machine lost the other")
	}
	if err := room.Close(); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(dir); len(left) > 0 {
		t.Fatalf("processes left running after Close:\n%s", strings.Join(left, "\n"))
	}
}

// TestCloudConfigKeys reads the keys a cloud-init declares, and makes a
// host key where it declares none.
func TestCloudConfigKeys(t *testing.T) {
	hostKey := sshdtest.NewKey(t, "ed25519")
	login, _ := sshdtest.ClientKey(t)
	userData := cloudConfigWith(t, hostKey, login) + "ssh_authorized_keys:\n  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7zOD8WWVyq1yOz2o0ZGsbbHGuM3fe8Gq8sY1Qmbd2Y top\n"
	keys, err := readCloudConfig(userData)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(keys.hostKey))
	if err != nil || !bytes.Equal(signer.PublicKey().Marshal(), sshdtest.Signer(t, hostKey).PublicKey().Marshal()) {
		t.Fatalf("the host key kept is not the one declared: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(keys.authorized), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], " top") || !strings.HasSuffix(lines[1], " cosocial") {
		t.Fatalf("authorized_keys:\n%s", keys.authorized)
	}

	keys, err = readCloudConfig("#cloud-config\nusers: [default]\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ssh.ParsePrivateKey([]byte(keys.hostKey)); err != nil || keys.authorized != "" {
		t.Fatalf("without keys: a host key that parses (%v) and no authorized keys (%q)", err, keys.authorized)
	}

	// A private key that is not one fails, without quoting the user data.
	secret := "not-a-key-SECRET"
	_, err = readCloudConfig("#cloud-config\nssh_keys:\n  ed25519_private: " + secret + "\n")
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("a broken host key: %v", err)
	}
	_, err = readCloudConfig("#cloud-config\nssh_authorized_keys: {a: " + secret + "}\n")
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("keys of the wrong form: %v", err)
	}
}

// TestMirrorServesStandIns asks the mirror for each image the apps'
// templates name, as podman would, and for one it does not have.
func TestMirrorServesStandIns(t *testing.T) {
	if _, err := exec.LookPath("caddy"); err != nil {
		t.Skipf("SKIP: caddy is not installed (make test-deps installs it): %v", err)
	}
	standIn := filepath.Join(t.TempDir(), "cosocial-standin")
	if err := os.WriteFile(standIn, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := startMirror(standIn, &sshdtest.SyncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	for _, c := range []struct{ image, entrypoint, env string }{
		{"mastodon/mastodon:v4.3.7", "/standin", "STANDIN_VERSION=4.3.7"},
		{"mastodon/mastodon-streaming:v4.3.7", "/standin", "STANDIN_LOG=/mastodon/public/system/standin.log"},
		{"castopod/castopod:1.13.2", "/standin", "STANDIN_LOG=/var/www/castopod/public/media/standin.log"},
		{"library/redis:7-alpine", "/standin", "STANDIN_LOG=/data/standin.log"},
		{"library/caddy:2", "/usr/bin/caddy", "XDG_DATA_HOME=/data"},
	} {
		ref, err := name.ParseReference(m.addr+"/"+c.image, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img, err := ggcr.Image(ref)
		if err != nil {
			t.Fatalf("%s: %v", c.image, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != c.entrypoint || !slices.Contains(cfg.Config.Env, c.env) {
			t.Errorf("%s: entrypoint %q, env %q", c.image, cfg.Config.Entrypoint, cfg.Config.Env)
		}
	}
	ref, _ := name.ParseReference(m.addr+"/library/postgres:16", name.Insecure)
	if _, err := ggcr.Image(ref); err == nil || !strings.Contains(err.Error(), "stand-ins for") {
		t.Fatalf("an image the mirror does not have: %v", err)
	}
}
