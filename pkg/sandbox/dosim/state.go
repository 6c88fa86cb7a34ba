package dosim

import (
	"context"
	"time"

	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
)

// state is every record the simulator keeps, saved as JSON between runs.
// Spaces secret keys are not in it (the S3 server keeps them, and the API
// shows them only once); database passwords are, because the API shows
// them on every read.
type state struct {
	Seq       int64                `json:"seq"`
	Droplets  map[int64]*droplet   `json:"droplets"`
	Databases map[string]*database `json:"databases"`
	Domains   map[string]*domain   `json:"domains"`
	Keys      map[string]*spaceKey `json:"spaces_keys"`
}

func newState() *state {
	st := &state{}
	st.init()
	return st
}

// init fills the maps a saved state may lack.
func (st *state) init() {
	if st.Droplets == nil {
		st.Droplets = map[int64]*droplet{}
	}
	if st.Databases == nil {
		st.Databases = map[string]*database{}
	}
	if st.Domains == nil {
		st.Domains = map[string]*domain{}
	}
	if st.Keys == nil {
		st.Keys = map[string]*spaceKey{}
	}
	for _, d := range st.Domains {
		if d.Records == nil {
			d.Records = map[int64]*record{}
		}
	}
}

// nextID returns a new sequential number, for the API's integer IDs.
func (s *Server) nextID() int64 {
	s.st.Seq++
	return s.st.Seq
}

type droplet struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Region      string    `json:"region"`
	Size        string    `json:"size"`
	Image       string    `json:"image"`
	Tags        []string  `json:"tags"`
	UserData    bool      `json:"has_user_data"` // cloud-init may hold secrets: only whether it was given is kept
	Created     time.Time `json:"created_at"`
	ActiveAt    time.Time `json:"active_at"`
	PublicIPv4  string    `json:"public_ipv4"`
	PrivateIPv4 string    `json:"private_ipv4"`
	IPv6        string    `json:"ipv6,omitempty"`
	VPC         string    `json:"vpc_uuid"`
}

type database struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Engine     string    `json:"engine"` // the API's slug: "pg"
	Version    string    `json:"version"`
	Size       string    `json:"size"`
	Region     string    `json:"region"`
	Nodes      int       `json:"num_nodes"`
	StorageMiB uint64    `json:"storage_size_mib"`
	Tags       []string  `json:"tags"`
	Created    time.Time `json:"created_at"`
	VPC        string    `json:"private_network_uuid"`
	Project    string    `json:"project_id"`
	Password   string    `json:"password"`
	// Status moves to Next at Until (creating → online, resizing → online).
	Status string    `json:"status"`
	Next   string    `json:"next,omitempty"`
	Until  time.Time `json:"until,omitempty"`
	// Host and Port are where the real server listens, once it is built.
	Host         string `json:"host,omitempty"`
	Port         int    `json:"port,omitempty"`
	BackendReady bool   `json:"backend_ready"`
	BackendError string `json:"backend_error,omitempty"`
}

type domain struct {
	Name    string            `json:"name"`
	TTL     int               `json:"ttl"`
	Records map[int64]*record `json:"records"`
}

type record struct {
	ID       int64   `json:"id"`
	Type     string  `json:"type"`
	Name     string  `json:"name"`
	Data     string  `json:"data"`
	Priority *int    `json:"priority"`
	Port     *int    `json:"port"`
	TTL      int     `json:"ttl"`
	Weight   *int    `json:"weight"`
	Flags    *int    `json:"flags"`
	Tag      *string `json:"tag"`
}

type spaceKey struct {
	Name      string    `json:"name"`
	AccessKey string    `json:"access_key"`
	Grants    []grant   `json:"grants"`
	Created   time.Time `json:"created_at"`
}

type grant struct {
	Bucket     string `json:"bucket"`
	Permission string `json:"permission"`
}

// Backends are the real servers behind managed services. A nil backend
// makes the simulator refuse that service with a message saying so.
type Backends struct {
	Databases DatabaseBackend
	Objects   ObjectBackend
}

// DatabaseBackend runs real database clusters for the simulated managed
// databases, each with its administrator.
type DatabaseBackend interface {
	simcore.Clusters
	// CreateAdmin adds the cluster's administrator, DigitalOcean's
	// doadmin: it logs in with password, may create roles and databases,
	// and owns defaultdb.
	CreateAdmin(ctx context.Context, id, name, password string) error
}

// ObjectBackend is the real S3 server behind Spaces. DigitalOcean's API
// does not create buckets (S3 does); it issues the keys that reach them.
type ObjectBackend interface {
	// Endpoint is the S3 endpoint URL clients use.
	Endpoint() string
	CreateAccessKey(ctx context.Context, access, secret string) error
	DeleteAccessKey(ctx context.Context, access string) error
	// Grant gives an access key read and write on an existing bucket.
	Grant(ctx context.Context, access, bucket string) error
}
