// Package sandbox runs the provider simulators on this machine (OVHcloud,
// DigitalOcean and OpenStack, each on its own port), with real servers
// behind them: PostgreSQL and MariaDB servers for managed databases and an S3
// server for buckets. `cosocial sandbox` serves it for other tools, and
// --sandbox runs plan, up and destroy against it, so anyone can rehearse a
// change with no cloud account.
package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/cosocial/cosocial/pkg/sandbox/dosim"
	"github.com/cosocial/cosocial/pkg/sandbox/machines"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim"
	"github.com/cosocial/cosocial/pkg/sandbox/ovhsim"
	"github.com/cosocial/cosocial/pkg/sandbox/rgw"
)

// Options configure a sandbox.
type Options struct {
	// Dir holds the simulators' records, the database clusters and the
	// objects. It is the providers' side: keep it out of a stack's folder.
	Dir      string
	Projects []string
	Zones    []string
	Timing   ovhsim.Timing
	Faults   ovhsim.Faults
	// Waiting is told who holds the sandbox when another process is
	// using it: Start waits for it to finish (or ctx to end).
	Waiting func(holder string)
	// DOTiming is the DigitalOcean simulator's; left zero, it follows
	// Timing (droplets build as instances do, databases as clusters).
	DOTiming dosim.Timing
	// DOFaults are the DigitalOcean simulator's injected failures.
	DOFaults dosim.Faults
	// OSTiming is the OpenStack simulator's; left zero, it follows
	// Timing (servers build as instances do, volumes as users).
	OSTiming ossim.Timing
	// OSFaults are the OpenStack simulator's injected failures.
	OSFaults ossim.Faults
	// NoBackends runs the simulators alone: databases and buckets are then
	// refused with a message saying so.
	NoBackends bool
	Catalog    *catalog.Catalog
}

// DefaultTiming keeps asynchronous statuses visible without making a
// rehearsal slow.
var DefaultTiming = ovhsim.Timing{
	InstanceBuild: 3 * time.Second, InstanceDelete: 2 * time.Second,
	DatabaseCreate: 4 * time.Second, DatabaseUpdate: 3 * time.Second, DatabaseDelete: 2 * time.Second,
	UserCreate: time.Second,
}

// Sandbox is a running set of simulators.
type Sandbox struct {
	held        *os.File // the folder's lock, while the sandbox runs
	OVH         *ovhsim.Server
	Credentials ovhsim.Credentials
	DO          *dosim.Server
	// DOToken is the API token the DigitalOcean simulator accepts.
	DOToken string
	// OS is the OpenStack simulator (VEXXHOST's ca-ymq-1), and
	// OSCredentials what its Keystone accepts.
	OS            *ossim.Server
	OSCredentials ossim.Credentials

	dir   string
	ports map[string]int
	// started are the simulators running, served their HTTP servers,
	// each on its port.
	started []simulator
	served  []served
	// rgw is Ceph's gateway in front of the S3 server, the object store
	// the OpenStack simulator's EC2 credentials reach.
	rgw *rgw.Gateway
	s3  *s3server.Server
	// spaces is a second S3 server playing DigitalOcean Spaces: another
	// provider's object storage is another endpoint, and a migration's
	// source and target buckets may share a name.
	spaces  *s3server.Server
	pg      *Databases
	logFile *os.File
	// machines play the servers the simulators make: a real sshd each,
	// with podman for the services deployed on them.
	machines *machines.Room
}

// served is one simulator's port and the server on it.
type served struct {
	listener net.Listener
	server   *http.Server
}

// Start starts the sandbox and its backends.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	if err := os.MkdirAll(opts.Dir, 0o711); err != nil {
		return nil, err
	}
	held, err := lock(ctx, opts.Dir, opts.Waiting)
	if err != nil {
		return nil, err
	}
	sb := &Sandbox{dir: opts.Dir, held: held, ports: map[string]int{}}
	sb.loadPorts()
	env := simEnv{timing: opts.Timing}
	if env.timing == (ovhsim.Timing{}) {
		env.timing = DefaultTiming
	}
	if !opts.NoBackends {
		if sb.s3, err = startS3(ctx, filepath.Join(opts.Dir, "s3"), sb.ports["s3"]); err != nil {
			sb.Close()
			return nil, err
		}
		sb.ports["s3"] = sb.s3.Port
		if sb.spaces, err = startS3(ctx, filepath.Join(opts.Dir, "spaces"), sb.ports["spaces"]); err != nil {
			sb.Close()
			return nil, err
		}
		sb.ports["spaces"] = sb.spaces.Port
		sb.pg = NewDatabases(filepath.Join(opts.Dir, "postgres"), filepath.Join(opts.Dir, "mysql"))
	}
	logFile, err := os.OpenFile(filepath.Join(opts.Dir, "sandbox.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		sb.Close()
		return nil, err
	}
	sb.logFile = logFile
	if !opts.NoBackends {
		if sb.machines, err = machines.Open(ctx, machines.Options{Dir: filepath.Join(opts.Dir, "machines"), Log: logFile}); err != nil {
			sb.Close()
			return nil, fmt.Errorf("starting the sandbox's machines: %w", err)
		}
		env.room = machineRoom{sb.machines}
	}
	for _, sim := range simulators {
		if err := sb.serve(ctx, opts, env, sim); err != nil {
			sb.Close()
			return nil, fmt.Errorf("starting the %s simulator: %w", sim.kind, err)
		}
	}
	sb.savePorts()
	return sb, nil
}

// Dir is the folder the sandbox keeps its data in.
func (sb *Sandbox) Dir() string { return sb.dir }

// Machine is the machine playing the server with the simulator's ID, if
// the sandbox runs one.
func (sb *Sandbox) Machine(id string) (machines.Machine, bool) {
	if sb.machines == nil {
		return machines.Machine{}, false
	}
	return sb.machines.Machine(id)
}

// Close stops the simulators and the servers behind them, keeping their
// data for the next run.
func (sb *Sandbox) Close() error {
	// Before the PostgreSQL clusters stop: DigitalOcean's waits for those
	// still being built.
	errs := []error{sb.stopSimulators()}
	if sb.pg != nil {
		errs = append(errs, sb.pg.StopAll())
	}
	if sb.machines != nil {
		errs = append(errs, sb.machines.Close())
	}
	for _, s3 := range []*s3server.Server{sb.s3, sb.spaces} {
		if s3 != nil {
			errs = append(errs, s3.Stop())
		}
	}
	if sb.logFile != nil {
		errs = append(errs, sb.logFile.Close())
	}
	// Last: the next user may start only once everything here stopped.
	unlock(sb.held)
	sb.held = nil
	return errors.Join(errs...)
}

// DefaultDir is where the sandbox of a description keeps its data: under
// the user's state folder, or /var/lib/cosocial when root (PostgreSQL runs
// as the postgres account there, and root's home is closed to it).
func DefaultDir(descriptionPath string) (string, error) {
	abs, err := filepath.Abs(descriptionPath)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	name := filepath.Base(abs) + "-" + hex.EncodeToString(sum[:4])
	if base := os.Getenv("COSOCIAL_SANDBOX_HOME"); base != "" {
		return filepath.Join(base, name), nil
	}
	if os.Geteuid() == 0 {
		return filepath.Join("/var/lib/cosocial/sandbox", name), nil
	}
	state := os.Getenv("XDG_STATE_HOME")
	if state == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		state = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(state, "cosocial", "sandbox", name), nil
}

func (sb *Sandbox) loadPorts() {
	b, err := os.ReadFile(filepath.Join(sb.dir, "ports.json"))
	if err == nil {
		json.Unmarshal(b, &sb.ports)
	}
}

func (sb *Sandbox) savePorts() {
	b, _ := json.Marshal(sb.ports)
	os.WriteFile(filepath.Join(sb.dir, "ports.json"), b, 0o600)
}

// shutdown stops a simulator's server, or closes the port it was to
// serve on when it never started.
func shutdown(srv *http.Server, l net.Listener) error {
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}
	if l != nil {
		l.Close()
	}
	return nil
}

// listen binds a loopback port, the one used last time if it is free.
func listen(port int) (net.Listener, error) {
	if port != 0 {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			return l, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

func startS3(ctx context.Context, dir string, port int) (*s3server.Server, error) {
	if port != 0 {
		if s, err := s3server.Start(ctx, dir, port); err == nil {
			return s, nil
		}
	}
	return s3server.Start(ctx, dir, 0)
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// machineRoom gives the simulators the machines.
type machineRoom struct{ *machines.Room }

func (m machineRoom) Boot(ctx context.Context, id, public, userData string) error {
	_, err := m.Room.Boot(ctx, id, public, userData)
	return err
}
