// Package machines plays the sandbox's servers on this host as machines
// one logs into: each is a real OpenSSH server on a loopback address of
// its own, letting in the keys its cloud-init declares and showing the
// host key it declares, with a private /opt and a podman of its own for
// Compose, whose images come from a local mirror registry serving small
// stand-ins under the official names.
//
// A machine is a mount and PID namespace: podman's Docker API runs in it,
// with the containers it starts, and every SSH connection enters it. So
// the paths Compose hands podman (./public/system under /opt/cosocial/…)
// name the same folders in the session and in podman, and stopping a
// machine ends everything it ran, to the last process.
package machines

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
)

// Options configure a room of machines.
type Options struct {
	// Dir is the room's folder, kept across restarts: its addresses, and
	// each machine's keys, /opt and container storage.
	Dir string
	// StandIn is the static stand-in program (bin/cosocial-standin)
	// served as the apps' images; "" looks beside this program, then in
	// $COSOCIAL_STANDIN.
	StandIn string
	// Log receives sshd's, podman's and the registry's logs; nil drops them.
	Log io.Writer
}

// Room is the machines of one sandbox, with the registry they pull from.
type Room struct {
	dir    string
	log    *logWriter
	net    subnet
	init   string // the container init that reaps a machine's orphans; "" for none
	mirror *mirror

	mu       sync.Mutex
	machines map[string]*machine
	closed   bool
	// halting are the machines being halted, closed when they are gone:
	// booting one again waits, and so does Close.
	halting map[string]chan struct{}
	halts   sync.WaitGroup
}

// Machine is a server as the sandbox shows it.
type Machine struct {
	ID       string // the simulator's server ID
	Public   string // the IPv4 the simulator handed out (203.0.113.x)
	Loopback string // 127.R.S.N: this machine's own address on lo; its sshd and its services listen there
	Port     int    // its sshd's port on Loopback
}

// subnet is the room's /24 in 127.0.0.0/8, kept in net.json: a machine's
// address must outlive restarts, as its services are configured with it.
type subnet struct {
	R int `json:"r"`
	S int `json:"s"`
}

func (n subnet) addr(host int) string { return fmt.Sprintf("127.%d.%d.%d", n.R, n.S, host) }

// Open starts the room's registry and resumes the machines kept in
// opts.Dir, with the containers they ran that restart on their own.
func Open(ctx context.Context, opts Options) (*Room, error) {
	if opts.Dir == "" {
		return nil, errors.New("machines: no folder given")
	}
	if err := checkHost(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// A podman socket's path is bounded by the kernel (108 bytes).
	if n := len(socketPath(dir, 254)); n > 107 {
		return nil, fmt.Errorf("machines: the folder %s is too deep for podman's sockets (%d bytes, at most 107)", dir, n)
	}
	r := &Room{dir: dir, log: newLogWriter(opts.Log), machines: map[string]*machine{}, halting: map[string]chan struct{}{}, init: findInit()}
	if r.net, err = loadSubnet(dir); err != nil {
		return nil, err
	}
	if r.mirror, err = startMirror(findStandIn(opts.StandIn), r.log.prefixed("registry")); err != nil {
		return nil, err
	}
	if err := writeRegistriesConf(dir, r.mirror.addr); err != nil {
		r.mirror.close()
		return nil, err
	}
	ids, err := r.kept()
	if err != nil {
		r.mirror.close()
		return nil, err
	}
	for _, id := range ids {
		m, err := r.resume(id)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("machines: resuming %s: %w", id, err)
		}
		r.machines[id] = m
	}
	if err := r.writeSSHConfig(); err != nil {
		r.Close()
		return nil, err
	}
	// The apps come back on all the machines at once, as on servers
	// booting together.
	var wg sync.WaitGroup
	for _, m := range r.machines {
		wg.Add(1)
		go func() { defer wg.Done(); m.restartContainers(ctx) }()
	}
	wg.Wait()
	return r, nil
}

// checkHost says what this host lacks to play machines.
func checkHost() error {
	if os.Geteuid() != 0 {
		return errors.New("machines: playing servers needs root (namespaces, sshd, podman with runc)")
	}
	for _, tool := range []string{sshdPath, "nsenter", "unshare", "mount", "podman", "runc", "conmon"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("machines: %s is not installed (make test-deps installs it): %w", tool, err)
		}
	}
	// sshd wants its privilege separation folder even in inetd mode.
	return os.MkdirAll("/run/sshd", 0o755)
}

func loadSubnet(dir string) (subnet, error) {
	path := filepath.Join(dir, "net.json")
	var n subnet
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &n); err != nil || n.R < 1 || n.R > 254 || n.S < 1 || n.S > 254 {
			return n, fmt.Errorf("machines: %s does not hold a 127.R.S.0/24", path)
		}
		return n, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return n, err
	}
	// Random, so that two rooms on one host rarely share addresses.
	pick := func() int {
		v, _ := rand.Int(rand.Reader, big.NewInt(254))
		return int(v.Int64()) + 1
	}
	n = subnet{R: pick(), S: pick()}
	return n, simcore.Save(path, n)
}

// kept lists the machines persisted in the room's folder.
func (r *Room) kept() ([]string, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(r.dir, e.Name(), "machine.json")); e.IsDir() && err == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Boot makes the server id a machine, with the keys its cloud-init
// declares; a machine already booted is returned as it is. The user data
// is not kept: only the keys are, as a server's disk keeps them.
func (r *Room) Boot(ctx context.Context, id, public, userData string) (Machine, error) {
	if err := checkID(id); err != nil {
		return Machine{}, err
	}
	if public != "" && net.ParseIP(public) == nil {
		return Machine{}, fmt.Errorf("machines: server %s: %q is not an IP address", id, public)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		gone, ok := r.halting[id]
		if !ok {
			break
		}
		r.mu.Unlock()
		select {
		case <-gone:
		case <-ctx.Done():
			r.mu.Lock()
			return Machine{}, ctx.Err()
		}
		r.mu.Lock()
	}
	if r.closed {
		return Machine{}, errors.New("machines: the room is closed")
	}
	if m, ok := r.machines[id]; ok {
		return m.Machine, nil
	}
	keys, err := readCloudConfig(userData)
	if err != nil {
		return Machine{}, fmt.Errorf("machines: server %s: %w", id, err)
	}
	// Not a machine, or it would have been resumed: one of the room's
	// own files, which a failed boot must not remove.
	if _, err := os.Lstat(filepath.Join(r.dir, id)); err == nil {
		return Machine{}, fmt.Errorf("machines: server %s: the room's folder has a %s already", id, id)
	}
	n, err := r.freeHost()
	if err != nil {
		return Machine{}, err
	}
	rec := record{ID: id, Public: public, Loopback: r.net.addr(n), Host: n}
	m, err := r.create(rec, keys)
	if err != nil {
		os.RemoveAll(filepath.Join(r.dir, id))
		return Machine{}, fmt.Errorf("machines: booting %s: %w", id, err)
	}
	r.machines[id] = m
	if err := r.writeSSHConfig(); err != nil {
		return m.Machine, err
	}
	return m.Machine, nil
}

func checkID(id string) error {
	if id == "" || id == "." || id == ".." || len(id) > 128 || strings.ContainsAny(id, "/\x00\n") {
		return fmt.Errorf("machines: %q cannot be a server ID", id)
	}
	return nil
}

// freeHost is the lowest host number no machine holds.
func (r *Room) freeHost() (int, error) {
	used := map[int]bool{}
	for _, m := range r.machines {
		used[m.rec.Host] = true
	}
	for n := 2; n <= 254; n++ {
		if !used[n] {
			return n, nil
		}
	}
	return 0, fmt.Errorf("machines: all of 127.%d.%d.0/24 is taken", r.net.R, r.net.S)
}

// Halt deletes the machine: its containers, its processes and its
// folder. A machine the room does not have is already halted; one being
// halted is waited for.
func (r *Room) Halt(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errors.New("machines: the room is closed")
	}
	if gone, ok := r.halting[id]; ok {
		r.mu.Unlock()
		select {
		case <-gone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m, ok := r.machines[id]
	if !ok {
		r.mu.Unlock()
		return nil
	}
	delete(r.machines, id)
	gone := make(chan struct{})
	r.halting[id] = gone
	r.halts.Add(1)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.halting, id)
		r.mu.Unlock()
		close(gone)
		r.halts.Done()
	}()

	errs := []error{m.stop(ctx, true)}
	os.Remove(m.socket)
	errs = append(errs, os.RemoveAll(m.dir))
	r.mu.Lock()
	if !r.closed {
		errs = append(errs, r.writeSSHConfig())
	}
	r.mu.Unlock()
	return errors.Join(errs...)
}

// Machine is the machine of the server id, if it was booted.
func (r *Room) Machine(id string) (Machine, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.machines[id]
	if !ok {
		return Machine{}, false
	}
	return m.Machine, true
}

// SSHConfig is the path of an ssh_config naming every machine by its
// public address, for `ssh -F <it> 203.0.113.5`; it is rewritten as
// machines come and go, and its known_hosts beside it.
func (r *Room) SSHConfig() string { return filepath.Join(r.dir, "ssh_config") }

// Close stops every machine, letting its containers stop first, and the
// registry; the folder stays for the next Open.
func (r *Room) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	ms := make([]*machine, 0, len(r.machines))
	for _, m := range r.machines {
		ms = append(ms, m)
	}
	r.mu.Unlock()
	errs := make([]error, len(ms)+1)
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = m.stop(context.Background(), false) }()
	}
	wg.Wait()
	r.halts.Wait()
	errs[len(ms)] = r.mirror.close()
	return errors.Join(errs...)
}

// sorted is the machines in address order, for files people read.
func (r *Room) sorted() []*machine {
	ms := make([]*machine, 0, len(r.machines))
	for _, m := range r.machines {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].rec.Host < ms[j].rec.Host })
	return ms
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
