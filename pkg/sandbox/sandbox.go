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
	"strconv"
	"strings"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/pricing"
	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/cosocial/cosocial/pkg/sandbox/dosim"
	"github.com/cosocial/cosocial/pkg/sandbox/machines"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim"
	"github.com/cosocial/cosocial/pkg/sandbox/ovhsim"
	"github.com/cosocial/cosocial/pkg/sandbox/rgw"
	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
	"github.com/cosocial/cosocial/pkg/sandbox/valetsim"
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

	dir        string
	ports      ports
	listener   net.Listener
	server     *http.Server
	doListener net.Listener
	doServer   *http.Server
	osListener net.Listener
	osServer   *http.Server
	// rgw is Ceph's gateway in front of the S3 server, the object store
	// the OpenStack simulator's EC2 credentials reach.
	rgw         *rgw.Gateway
	rgwListener net.Listener
	rgwServer   *http.Server
	s3          *s3server.Server
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

// ports are kept between runs so that endpoints recorded in a stack's
// state stay true.
type ports struct {
	OVH    int `json:"ovh"`
	S3     int `json:"s3"`
	Spaces int `json:"spaces"`
	DO     int `json:"digitalocean"`
	OS     int `json:"openstack"`
	OSS3   int `json:"openstack_s3"`
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
	sb := &Sandbox{dir: opts.Dir, held: held, Credentials: ovhsim.Credentials{
		ApplicationKey: "sandbox-" + random(8), ApplicationSecret: random(32), ConsumerKey: random(32),
	}, DOToken: "dop_v1_" + random(64), OSCredentials: ossim.Credentials{
		Username: "cosocial", Password: random(32), ProjectName: "cosocial", DomainName: "Default",
		ApplicationCredentialID: random(32), ApplicationCredentialSecret: random(48),
	}}
	sb.loadPorts()
	var backends ovhsim.Backends
	var doBackends dosim.Backends
	if !opts.NoBackends {
		if sb.s3, err = startS3(ctx, filepath.Join(opts.Dir, "s3"), sb.ports.S3); err != nil {
			sb.Close()
			return nil, err
		}
		sb.ports.S3 = sb.s3.Port
		if sb.spaces, err = startS3(ctx, filepath.Join(opts.Dir, "spaces"), sb.ports.Spaces); err != nil {
			sb.Close()
			return nil, err
		}
		sb.ports.Spaces = sb.spaces.Port
		sb.pg = NewDatabases(filepath.Join(opts.Dir, "postgres"), filepath.Join(opts.Dir, "mysql"))
		backends = ovhsim.Backends{Databases: ovhDatabases{sb.pg}, Objects: objectBackend{sb.s3}}
		doBackends = dosim.Backends{Databases: sb.pg, Objects: sb.spaces}
	}
	timing := opts.Timing
	if timing == (ovhsim.Timing{}) {
		timing = DefaultTiming
	}
	logFile, err := os.OpenFile(filepath.Join(opts.Dir, "sandbox.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		sb.Close()
		return nil, err
	}
	sb.logFile = logFile
	var room simcore.Machines
	if !opts.NoBackends {
		if sb.machines, err = machines.Open(ctx, machines.Options{Dir: filepath.Join(opts.Dir, "machines"), Log: logFile}); err != nil {
			sb.Close()
			return nil, fmt.Errorf("starting the sandbox's machines: %w", err)
		}
		room = machineRoom{sb.machines}
	}
	sim, err := ovhsim.New(ovhsim.Options{
		Credentials: sb.Credentials, Projects: opts.Projects, Zones: opts.Zones, Catalog: opts.Catalog,
		Timing: timing, Faults: opts.Faults, Backends: backends,
		StateFile: filepath.Join(opts.Dir, "ovh.json"), LogFile: filepath.Join(opts.Dir, "ovh-requests.log"),
		ErrorLog: logFile, Machines: room,
	})
	if err != nil {
		sb.Close()
		return nil, err
	}
	sb.OVH = sim
	if !opts.NoBackends {
		if err := sim.ResumeBackends(ctx); err != nil {
			sb.Close()
			return nil, err
		}
	}
	if sb.listener, err = listen(sb.ports.OVH); err != nil {
		sb.Close()
		return nil, err
	}
	sb.ports.OVH = sb.listener.Addr().(*net.TCPAddr).Port
	sb.server = &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go sb.server.Serve(sb.listener)
	if err := sb.startDigitalOcean(ctx, opts, timing, doBackends, room, !opts.NoBackends); err != nil {
		sb.Close()
		return nil, err
	}
	if err := sb.startOpenStack(opts, timing, room); err != nil {
		sb.Close()
		return nil, err
	}
	sb.savePorts()
	return sb, nil
}

// startDigitalOcean serves the DigitalOcean simulator on its own port:
// godo's database paths are absolute (/v2/databases), so it cannot share
// the OVHcloud simulator's server under a prefix.
func (sb *Sandbox) startDigitalOcean(ctx context.Context, opts Options, timing ovhsim.Timing, backends dosim.Backends, room simcore.Machines, resume bool) error {
	doTiming := opts.DOTiming
	if doTiming == (dosim.Timing{}) {
		doTiming = dosim.Timing{DropletBuild: timing.InstanceBuild, DatabaseCreate: timing.DatabaseCreate, DatabaseResize: timing.DatabaseUpdate}
	}
	sim, err := dosim.New(dosim.Options{
		Token: sb.DOToken, Catalog: opts.Catalog, Timing: doTiming, Faults: opts.DOFaults, Backends: backends,
		StateFile: filepath.Join(sb.dir, "digitalocean.json"), LogFile: filepath.Join(sb.dir, "digitalocean-requests.log"),
		ErrorLog: sb.logFile, Machines: room,
	})
	if err != nil {
		return err
	}
	sb.DO = sim
	if resume {
		if err := sim.ResumeBackends(ctx); err != nil {
			return err
		}
	}
	if sb.doListener, err = listen(sb.ports.DO); err != nil {
		return err
	}
	sb.ports.DO = sb.doListener.Addr().(*net.TCPAddr).Port
	// The Bank of Canada's Valet shares the DigitalOcean simulator's
	// port: a cost in US dollars is converted at its rate.
	doMux := http.NewServeMux()
	doMux.Handle(valetPrefix+"/", valetsim.Handler(valetPrefix, time.Now))
	doMux.Handle("/", sim.Handler())
	sb.doServer = &http.Server{Handler: doMux, ReadHeaderTimeout: 10 * time.Second}
	go sb.doServer.Serve(sb.doListener)
	return nil
}

// startOpenStack serves the OpenStack simulator on its own port, every
// service under it as the catalog says; EC2 credentials are keys on the
// sandbox's S3 server.
func (sb *Sandbox) startOpenStack(opts Options, timing ovhsim.Timing, room simcore.Machines) error {
	osTiming := opts.OSTiming
	if osTiming == (ossim.Timing{}) {
		osTiming = ossim.Timing{
			ServerBuild: timing.InstanceBuild, ServerDelete: timing.InstanceDelete, ServerResize: timing.DatabaseUpdate,
			VolumeCreate: timing.UserCreate, VolumeChange: timing.UserCreate, VolumeDelete: timing.UserCreate, DNSChange: timing.UserCreate,
		}
	}
	simOpts := ossim.Options{
		Credentials: sb.OSCredentials, Catalog: opts.Catalog, Timing: osTiming, Faults: opts.OSFaults,
		StateFile: filepath.Join(sb.dir, "openstack.json"), LogFile: filepath.Join(sb.dir, "openstack-requests.log"),
		ErrorLog: sb.logFile, Machines: room,
	}
	if sb.s3 != nil {
		if err := sb.startGateway(); err != nil {
			return err
		}
		simOpts.Objects = sb.rgw
	}
	sim, err := ossim.New(simOpts)
	if err != nil {
		return err
	}
	sb.OS = sim
	if sb.rgw != nil {
		sb.rgwServer = &http.Server{Handler: sb.rgw, ReadHeaderTimeout: 10 * time.Second}
		go sb.rgwServer.Serve(sb.rgwListener)
	}
	if sb.osListener, err = listen(sb.ports.OS); err != nil {
		return err
	}
	sb.ports.OS = sb.osListener.Addr().(*net.TCPAddr).Port
	sb.osServer = &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go sb.osServer.Serve(sb.osListener)
	return nil
}

// startGateway opens Ceph's gateway on a port of its own; it serves once
// the OpenStack simulator, whose Keystone it asks for EC2 credentials,
// is there.
func (sb *Sandbox) startGateway() error {
	var err error
	if sb.rgwListener, err = listen(sb.ports.OSS3); err != nil {
		return err
	}
	sb.ports.OSS3 = sb.rgwListener.Addr().(*net.TCPAddr).Port
	sb.rgw, err = rgw.New(rgw.Options{
		Backend: sb.s3.Endpoint(), RootAccess: sb.s3.RootAccess, RootSecret: sb.s3.RootSecret, Region: s3server.Region,
		Endpoint: fmt.Sprintf("http://127.0.0.1:%d", sb.ports.OSS3),
		Keys:     rgw.KeysFunc(func(access string) (string, string, bool) { return sb.OS.EC2Key(access) }),
		Ledger:   filepath.Join(sb.dir, "openstack-s3.log"),
	})
	return err
}

// OSAuthURL is Keystone v3's URL, the auth URL to give gophercloud.
func (sb *Sandbox) OSAuthURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/identity/v3", sb.ports.OS)
}

// CloudsYAML is a clouds.yaml naming the OpenStack simulator twice:
// cloudName logs in with the password, cloudName-appcred with the
// application credential. An empty region is the simulator's own; the
// file holds secrets, so keep it private (0600).
func (sb *Sandbox) CloudsYAML(cloudName, region string) []byte {
	if region == "" {
		region = sb.OS.Region()
	}
	c, q := sb.OSCredentials, strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, "clouds:\n  %s:\n    auth:\n", q(cloudName))
	fmt.Fprintf(&b, "      auth_url: %s\n      username: %s\n      password: %s\n", q(sb.OSAuthURL()), q(c.Username), q(c.Password))
	fmt.Fprintf(&b, "      project_name: %s\n      user_domain_name: %s\n      project_domain_name: %s\n", q(c.ProjectName), q(c.DomainName), q(c.DomainName))
	fmt.Fprintf(&b, "    region_name: %s\n    interface: \"public\"\n    identity_api_version: 3\n", q(region))
	fmt.Fprintf(&b, "  %s:\n    auth_type: \"v3applicationcredential\"\n    auth:\n", q(cloudName+"-appcred"))
	fmt.Fprintf(&b, "      auth_url: %s\n      application_credential_id: %s\n      application_credential_secret: %s\n", q(sb.OSAuthURL()), q(c.ApplicationCredentialID), q(c.ApplicationCredentialSecret))
	fmt.Fprintf(&b, "    region_name: %s\n    interface: \"public\"\n    identity_api_version: 3\n", q(region))
	return []byte(b.String())
}

// Dir is the folder the sandbox keeps its data in.
func (sb *Sandbox) Dir() string { return sb.dir }

// OVHEndpoint is the URL to give go-ovh (and a description's endpoint).
func (sb *Sandbox) OVHEndpoint() string { return fmt.Sprintf("http://127.0.0.1:%d/1.0", sb.ports.OVH) }

// valetPrefix is where the Bank of Canada's Valet is served.
const valetPrefix = "/valet"

// ValetEndpoint is the Bank of Canada's Valet API, played by the sandbox.
func (sb *Sandbox) ValetEndpoint() string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", sb.ports.DO, valetPrefix)
}

// DOEndpoint is the DigitalOcean API's base URL to give godo.
func (sb *Sandbox) DOEndpoint() string { return fmt.Sprintf("http://127.0.0.1:%d/", sb.ports.DO) }

// S3Endpoint is the sandbox's S3 server, OVHcloud's object storage, or
// "" without backends.
func (sb *Sandbox) S3Endpoint() string {
	if sb.s3 == nil {
		return ""
	}
	return sb.s3.Endpoint()
}

// OSS3Endpoint is the OpenStack cloud's object storage, Ceph's gateway in
// front of the same S3 server, or "" without backends.
func (sb *Sandbox) OSS3Endpoint() string {
	if sb.rgw == nil {
		return ""
	}
	return sb.rgw.Endpoint()
}

// SpacesEndpoint is the S3 server playing DigitalOcean Spaces, or ""
// without backends.
func (sb *Sandbox) SpacesEndpoint() string {
	if sb.spaces == nil {
		return ""
	}
	return sb.spaces.Endpoint()
}

// CreateSpacesBucket makes a bucket on the S3 server behind the
// DigitalOcean simulator's Spaces: DigitalOcean's API does not create
// buckets (S3 does), so a rehearsal makes them here and then grants them
// to a Spaces key through the API.
func (sb *Sandbox) CreateSpacesBucket(ctx context.Context, name string) error {
	if sb.spaces == nil {
		return errors.New("the sandbox runs without its S3 servers: Spaces buckets cannot be made")
	}
	return sb.spaces.CreateBucket(ctx, name)
}

// Env is the environment a client of the sandbox needs: OVHcloud
// credentials for go-ovh, DigitalOcean's token and API URL for
// pkg/provider/digitalocean, and OpenStack's OS_* variables for
// gophercloud.
func (sb *Sandbox) Env() map[string]string {
	env := map[string]string{
		"OVH_APPLICATION_KEY":            sb.Credentials.ApplicationKey,
		"OVH_APPLICATION_SECRET":         sb.Credentials.ApplicationSecret,
		"OVH_CONSUMER_KEY":               sb.Credentials.ConsumerKey,
		"COSOCIAL_OVH_ENDPOINT":          sb.OVHEndpoint(),
		"DIGITALOCEAN_TOKEN":             sb.DOToken,
		"COSOCIAL_DIGITALOCEAN_ENDPOINT": sb.DOEndpoint(),
		pricing.ValetEnv:                 sb.ValetEndpoint(),
		"OS_AUTH_URL":                    sb.OSAuthURL(),
		"OS_USERNAME":                    sb.OSCredentials.Username,
		"OS_PASSWORD":                    sb.OSCredentials.Password,
		"OS_PROJECT_NAME":                sb.OSCredentials.ProjectName,
		"OS_USER_DOMAIN_NAME":            sb.OSCredentials.DomainName,
		"OS_PROJECT_DOMAIN_NAME":         sb.OSCredentials.DomainName,
		"OS_REGION_NAME":                 sb.OS.Region(),
		// gophercloud's AuthOptionsFromEnv reads neither domain above, only
		// this one; openstacksdk takes it as the default of both.
		"OS_DOMAIN_NAME":          sb.OSCredentials.DomainName,
		"OS_IDENTITY_API_VERSION": "3",
		"OS_INTERFACE":            "public",
	}
	if sb.machines != nil {
		// Where each server's sshd really listens (the plugin deploys
		// services over SSH); `ssh -F` takes the same file.
		env["COSOCIAL_SSH_CONFIG"] = sb.machines.SSHConfig()
	}
	return env
}

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
	errs := []error{shutdown(sb.server, sb.listener), shutdown(sb.doServer, sb.doListener), shutdown(sb.osServer, sb.osListener), shutdown(sb.rgwServer, sb.rgwListener)}
	if sb.rgw != nil {
		errs = append(errs, sb.rgw.Close())
	}
	if sb.OVH != nil {
		errs = append(errs, sb.OVH.Close())
	}
	if sb.OS != nil {
		errs = append(errs, sb.OS.Close())
	}
	// Before the PostgreSQL clusters stop: it waits for those still being
	// built.
	if sb.DO != nil {
		errs = append(errs, sb.DO.Close())
	}
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

// objectBackend adapts the S3 server to the simulator's interface.
type objectBackend struct{ *s3server.Server }

func (o objectBackend) DeleteBucket(ctx context.Context, name string) error {
	err := o.Server.DeleteBucket(ctx, name)
	if errors.Is(err, s3server.ErrBucketNotEmpty) {
		return ovhsim.ErrBucketNotEmpty
	}
	return err
}
