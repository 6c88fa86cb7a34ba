package machines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
	"golang.org/x/crypto/ssh"
)

// sshdPath is Debian's OpenSSH server.
const sshdPath = "/usr/sbin/sshd"

// record is what a machine keeps in its machine.json.
type record struct {
	ID       string `json:"id"`
	Public   string `json:"public"`
	Loopback string `json:"loopback"`
	Host     int    `json:"host"` // N in 127.R.S.N
	// Storage is podman's storage driver, chosen when the machine was
	// made: its images and containers are stored in that driver's form.
	Storage string `json:"storage_driver"`
}

// machine is a running machine: podman in its namespaces, and a
// listener that hands each connection to a new sshd in them.
type machine struct {
	Machine
	rec     record
	room    *Room
	dir     string
	socket  string // podman's Docker API
	hostKey ssh.PublicKey
	log     io.Writer

	sshd      net.Listener
	accepting sync.WaitGroup // the accept loop
	sessions  sync.WaitGroup

	init     *exec.Cmd // PID 1 of the machine's namespaces
	initDone chan struct{}
}

func socketPath(roomDir string, host int) string {
	return filepath.Join(roomDir, "podman-"+strconv.Itoa(host)+".sock")
}

// create makes a new machine's folder from its cloud-init's keys, and
// starts it.
func (r *Room) create(rec record, keys cloudKeys) (*machine, error) {
	dir := filepath.Join(r.dir, rec.ID)
	if err := os.MkdirAll(filepath.Join(dir, "opt"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "ssh_host_ed25519_key"), []byte(keys.hostKey), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(keys.authorized), 0o600); err != nil {
		return nil, err
	}
	rec.Storage = storageDriver(dir)
	if err := simcore.Save(filepath.Join(dir, "machine.json"), rec); err != nil {
		return nil, err
	}
	return r.start(rec)
}

// resume starts a machine kept in the room's folder.
func (r *Room) resume(id string) (*machine, error) {
	b, err := os.ReadFile(filepath.Join(r.dir, id, "machine.json"))
	if err != nil {
		return nil, err
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("machine.json: %w", err)
	}
	if rec.ID != id || net.ParseIP(rec.Loopback) == nil || rec.Host < 2 || rec.Host > 254 || rec.Storage == "" {
		return nil, errors.New("machine.json is incomplete")
	}
	return r.start(rec)
}

func (r *Room) start(rec record) (*machine, error) {
	dir := filepath.Join(r.dir, rec.ID)
	m := &machine{
		Machine:  Machine{ID: rec.ID, Public: rec.Public, Loopback: rec.Loopback},
		rec:      rec,
		room:     r,
		dir:      dir,
		socket:   socketPath(r.dir, rec.Host),
		log:      r.log.prefixed(rec.ID),
		initDone: make(chan struct{}),
	}
	pem, err := os.ReadFile(filepath.Join(dir, "ssh_host_ed25519_key"))
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return nil, fmt.Errorf("its host key: %w", err)
	}
	m.hostKey = signer.PublicKey()
	if err := m.writeConfig(); err != nil {
		return nil, err
	}
	if err := m.startInit(); err != nil {
		return nil, err
	}
	// Port 0: the kernel picks a free port as it binds, so no other
	// program can take it between a choice and the bind.
	if m.sshd, err = net.Listen("tcp", net.JoinHostPort(rec.Loopback, "0")); err != nil {
		m.kill()
		return nil, err
	}
	m.Port = m.sshd.Addr().(*net.TCPAddr).Port
	m.accepting.Add(1)
	go m.accept()
	return m, nil
}

// writeConfig writes the machine's sshd and podman configuration afresh
// at each start: they name the room's folder, which may have moved.
func (m *machine) writeConfig() error {
	c := filepath.Join(m.dir, "containers")
	if err := os.MkdirAll(c, 0o755); err != nil {
		return err
	}
	// Its run-time state goes as a reboot clears /run: nothing of the
	// machine runs now, and podman, finding no trace of a previous boot,
	// resets what it recorded as running.
	for _, d := range []string{"run", "tmp"} {
		if err := os.RemoveAll(filepath.Join(c, d)); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(c, "containers.conf"), []byte(containersConf(inMachine)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c, "storage.conf"), []byte(storageConf(inMachine, m.rec.Storage)), 0o644); err != nil {
		return err
	}
	env := m.sessionEnv()
	setEnv := make([]string, len(env))
	for i, e := range env {
		setEnv[i] = sshdQuote(e)
	}
	cfg := strings.Join([]string{
		"# The sshd of the sandbox's server " + m.ID + " (" + m.Public + "), written by cosocial.",
		"HostKey " + sshdQuote(filepath.Join(m.dir, "ssh_host_ed25519_key")),
		// sshd expands % in this one.
		"AuthorizedKeysFile " + sshdQuote(strings.ReplaceAll(filepath.Join(m.dir, "authorized_keys"), "%", "%%")),
		"StrictModes no",
		"UsePAM no",
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PrintMotd no",
		"Subsystem sftp internal-sftp",
		"SetEnv " + strings.Join(setEnv, " "),
	}, "\n") + "\n"
	return os.WriteFile(filepath.Join(m.dir, "sshd_config"), []byte(cfg), 0o644)
}

// sessionEnv is what a login on the machine finds set: its podman for
// Compose and the podman command, and the address its services listen
// on, which the deployment reads from COSOCIAL_LISTEN.
func (m *machine) sessionEnv() []string {
	c := filepath.Join(m.dir, "containers")
	return []string{
		"DOCKER_HOST=unix://" + m.socket,
		"CONTAINERS_CONF=" + filepath.Join(c, "containers.conf"),
		"CONTAINERS_REGISTRIES_CONF=" + filepath.Join(m.room.dir, "registries.conf"),
		"CONTAINERS_STORAGE_CONF=" + filepath.Join(c, "storage.conf"),
		"COSOCIAL_LISTEN=" + m.Loopback,
	}
}

// sshdQuote quotes an sshd_config argument.
func sshdQuote(s string) string { return `"` + s + `"` }

// inMachine is where a machine sees its containers folder: podman's own
// default, and short. (With its storage under a path some 55 bytes long
// or more, podman 4.3 leaves a `docker start --attach` hanging after the
// container ends, which is how Compose runs one-off tasks.)
const inMachine = "/var/lib/containers"

// machineScript runs as PID 1 of the machine's new mount and PID
// namespaces: it makes them its own (no mount leaks to the host), gives
// the machine a /proc of its own PIDs (podman reads its children's there),
// its own /opt and its own containers folder, then becomes the init in
// "$@".
const machineScript = `set -e
mount --make-rprivate /
mount -t proc proc /proc
mount --bind "$1" /opt
mkdir -p "$3"
mount --bind "$2" "$3"
shift 3
exec "$@"`

// podmanScript starts podman's Docker API on the socket handed over as
// fd 3, the way systemd's socket activation does: the socket listens
// before podman starts, so the first call waits in its backlog, not on
// a timer. $$ is podman's PID once exec'd, as seen in the machine.
const podmanScript = `LISTEN_PID=$$ LISTEN_FDS=1 exec podman system service --time=0`

func (m *machine) startInit() error {
	os.Remove(m.socket)
	l, err := net.Listen("unix", m.socket)
	if err != nil {
		return err
	}
	ul := l.(*net.UnixListener)
	// The socket is podman's from here: closing this copy must not
	// remove its name.
	ul.SetUnlinkOnClose(false)
	f, err := ul.File()
	l.Close()
	if err != nil {
		return err
	}
	defer f.Close()
	args := []string{"-c", machineScript, "machine", filepath.Join(m.dir, "opt"), filepath.Join(m.dir, "containers"), inMachine}
	if m.room.init != "" {
		args = append(args, m.room.init, "--")
	}
	args = append(args, "sh", "-c", podmanScript)
	cmd := exec.Command("sh", args...)
	cmd.Env = podmanEnv(m.sessionEnv())
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stdout, cmd.Stderr = m.log, m.log
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		// Killed with this process, however it ends: its namespace's
		// other processes go with it, not to linger holding the
		// machine's addresses and files.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting its podman: %w", err)
	}
	m.init = cmd
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(m.log, "the machine stopped: %v\n", exitText(err))
		close(m.initDone)
	}()
	return nil
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// podmanEnv is this process's environment for podman, with the machine's
// settings in place of any of the same names.
func podmanEnv(machine []string) []string {
	var env []string
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		switch {
		case strings.HasPrefix(k, "CONTAINERS_"), strings.HasPrefix(k, "LISTEN_"),
			k == "DOCKER_HOST", k == "CONTAINER_HOST", k == "NOTIFY_SOCKET", k == "COSOCIAL_LISTEN":
			continue
		}
		env = append(env, e)
	}
	return append(env, machine...)
}

// accept hands each connection to an sshd of its own in inetd mode, in
// the machine's namespaces.
func (m *machine) accept() {
	defer m.accepting.Done()
	for {
		c, err := m.sshd.Accept()
		if err != nil {
			return
		}
		m.sessions.Add(1)
		go func() {
			defer m.sessions.Done()
			m.serve(c)
		}()
	}
}

func (m *machine) serve(c net.Conn) {
	defer c.Close()
	select {
	case <-m.initDone:
		fmt.Fprintf(m.log, "sshd: refused a connection from %s: the machine is not running\n", c.RemoteAddr())
		return
	default:
	}
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		fmt.Fprintf(m.log, "sshd: %v\n", err)
		return
	}
	defer f.Close()
	cmd := exec.Command("nsenter", "--target", strconv.Itoa(m.init.Process.Pid), "--mount", "--pid", "--",
		sshdPath, "-i", "-e", "-f", filepath.Join(m.dir, "sshd_config"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, m.log
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(m.log, "sshd: %v\n", err)
		return
	}
	// The session holds the connection now; these copies would keep it
	// open after sshd closes it.
	f.Close()
	c.Close()
	cmd.Wait()
}

// stop stops the machine: its containers (removed when remove is set),
// podman, and with it every process in the machine, sessions included.
func (m *machine) stop(ctx context.Context, remove bool) error {
	m.sshd.Close()
	m.accepting.Wait()
	var err error
	select {
	case <-m.initDone:
	default:
		cctx, cancel := context.WithTimeout(ctx, containerStopLimit)
		if remove {
			err = m.removeContainers(cctx)
		} else {
			err = m.stopContainers(cctx)
		}
		cancel()
		if err != nil {
			err = fmt.Errorf("machines: %s: %w", m.ID, err)
		}
	}
	if remove {
		m.kill()
	} else {
		// podman shuts down on TERM (its init passes it on); when the
		// init ends, the kernel ends what is left in the machine.
		m.signal(syscall.SIGTERM)
		select {
		case <-m.initDone:
		case <-time.After(podmanStopLimit):
			fmt.Fprintf(m.log, "podman did not stop within %s: killed\n", podmanStopLimit)
			m.kill()
		}
	}
	m.sessions.Wait()
	return err
}

// kill ends the machine at once, and waits until nothing of it runs.
func (m *machine) kill() {
	m.signal(syscall.SIGKILL)
	<-m.initDone
}

// signal signals the machine's init while it runs: once it has been
// waited for, its PID may be another process's.
func (m *machine) signal(sig syscall.Signal) {
	select {
	case <-m.initDone:
	default:
		m.init.Process.Signal(sig)
	}
}

const (
	// containerStopLimit bounds stopping a machine's containers; each
	// has its own stop timeout within it (Compose's 10s by default).
	containerStopLimit = 30 * time.Second
	// podmanStopLimit is podman's time to shut down once its
	// containers are stopped.
	podmanStopLimit = 15 * time.Second
)

// findInit is an init for PID 1 of the machines, which reaps the
// processes orphaned in them (podman's conmon): Debian's podman
// recommends one of these. Without one, podman is PID 1 and its exited
// conmons stay zombies until the machine stops.
func findInit() string {
	for _, p := range []string{"catatonit", "/usr/libexec/podman/catatonit", "tini", "dumb-init"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}
