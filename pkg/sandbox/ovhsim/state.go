package ovhsim

import (
	"context"
	"errors"
	"time"

	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
)

// state is every record the simulator keeps. It is saved as JSON between
// runs; secrets are not in it (passwords are returned once and kept only
// by the database servers, S3 secrets by the S3 server).
type state struct {
	Seq       int64                            `json:"seq"`
	SSHKeys   map[string]*sshKey               `json:"ssh_keys"`
	Instances map[string]*instance             `json:"instances"`
	Clusters  map[string]*cluster              `json:"clusters"`
	Users     map[string]*cloudUser            `json:"users"`
	Buckets   map[string]*bucket               `json:"buckets"`
	Records   map[string]map[string]*DNSRecord `json:"records"`
	Published map[string][]DNSRecord           `json:"published"`
}

func newState() *state {
	st := &state{}
	st.init()
	return st
}

// init fills the maps a saved state may lack.
func (st *state) init() {
	if st.SSHKeys == nil {
		st.SSHKeys = map[string]*sshKey{}
	}
	if st.Instances == nil {
		st.Instances = map[string]*instance{}
	}
	if st.Clusters == nil {
		st.Clusters = map[string]*cluster{}
	}
	if st.Users == nil {
		st.Users = map[string]*cloudUser{}
	}
	if st.Buckets == nil {
		st.Buckets = map[string]*bucket{}
	}
	if st.Records == nil {
		st.Records = map[string]map[string]*DNSRecord{}
	}
	if st.Published == nil {
		st.Published = map[string][]DNSRecord{}
	}
}

// life is an asynchronous status: Status now, Next once At has passed.
// Next == "" means the record is gone at At (deleted).
type life struct {
	Status string    `json:"status"`
	Next   string    `json:"next,omitempty"`
	At     time.Time `json:"at,omitempty"`
	Gone   bool      `json:"gone,omitempty"`
}

func (l *life) set(status, next string, after time.Duration, now time.Time) {
	l.Status, l.Next, l.At, l.Gone = status, next, now.Add(after), false
}

// deleting starts a deletion that completes after d.
func (l *life) deleting(status string, d time.Duration, now time.Time) {
	l.Status, l.Next, l.At, l.Gone = status, "", now.Add(d), true
}

// advance moves the status on if its time has come; it reports false when
// the record has finished being deleted.
func (l *life) advance(now time.Time) bool {
	if l.At.IsZero() || now.Before(l.At) {
		return true
	}
	if l.Gone {
		return false
	}
	if l.Next != "" {
		l.Status, l.Next = l.Next, ""
	}
	l.At = time.Time{}
	return true
}

type sshKey struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	PublicKey string   `json:"publicKey"`
	Regions   []string `json:"regions"`
}

type instance struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Region   string    `json:"region"`
	FlavorID string    `json:"flavorId"`
	ImageID  string    `json:"imageId"`
	SSHKeyID string    `json:"sshKeyId,omitempty"`
	UserData bool      `json:"hasUserData"` // whether cloud-init was given; its text may hold secrets and is not kept
	Created  time.Time `json:"created"`
	IPv4     string    `json:"ipv4"`
	IPv6     string    `json:"ipv6"`
	Life     life      `json:"life"`
}

type cluster struct {
	ID             string             `json:"id"`
	Engine         string             `json:"engine"`
	Description    string             `json:"description"`
	Plan           string             `json:"plan"`
	Version        string             `json:"version"`
	Flavor         string             `json:"flavor"`
	NodeNumber     int                `json:"nodeNumber"`
	Region         string             `json:"region"`
	DiskSize       int                `json:"diskSize"`
	IPRestrictions []ipRestriction    `json:"ipRestrictions"`
	CreatedAt      time.Time          `json:"createdAt"`
	Life           life               `json:"life"`
	Host           string             `json:"host,omitempty"`
	Port           int                `json:"port,omitempty"`
	BackendReady   bool               `json:"backendReady"`
	BackendError   string             `json:"backendError,omitempty"`
	Users          map[string]*dbUser `json:"users"`
	Databases      map[string]*dbName `json:"databases"`
	Nodes          []string           `json:"nodes"`
}

type ipRestriction struct {
	IP          string `json:"ip"`
	Description string `json:"description"`
	Status      string `json:"status,omitempty"`
}

type dbUser struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	CreatedAt time.Time `json:"createdAt"`
	Life      life      `json:"life"`
}

type dbName struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Default bool   `json:"default"`
}

type cloudUser struct {
	ID          int64     `json:"id"`
	Username    string    `json:"username"`
	Description string    `json:"description"`
	Roles       []string  `json:"roles"`
	Created     time.Time `json:"creationDate"`
	Life        life      `json:"life"`
	AccessKeys  []string  `json:"accessKeys"`
	Policy      string    `json:"policy"`
}

type bucket struct {
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	OwnerID   int64     `json:"ownerId"`
	CreatedAt time.Time `json:"createdAt"`
	Versioned bool      `json:"versioned"`
}

// DNSRecord is a record of a simulated zone.
type DNSRecord struct {
	ID        int64  `json:"id"`
	Zone      string `json:"zone"`
	FieldType string `json:"fieldType"`
	SubDomain string `json:"subDomain"`
	Target    string `json:"target"`
	TTL       int    `json:"ttl"`
}

// Backends are the real servers behind managed services. A nil backend
// makes the simulator refuse that service with a clear message.
type Backends struct {
	Databases DatabaseBackend
	Objects   ObjectBackend
}

// DatabaseBackend runs real database clusters for the simulated managed
// databases, with the users and databases OVHcloud's API manages in them.
type DatabaseBackend interface {
	simcore.Clusters
	CreateUser(ctx context.Context, id, name, password string) error
	SetPassword(ctx context.Context, id, name, password string) error
	DropUser(ctx context.Context, id, name string) error
	CreateDatabase(ctx context.Context, id, name string) error
	DropDatabase(ctx context.Context, id, name string) error
}

// ObjectBackend is a real S3 server holding the simulated buckets.
type ObjectBackend interface {
	// Endpoint is the S3 endpoint URL clients use.
	Endpoint() string
	CreateBucket(ctx context.Context, name string) error
	// DeleteBucket removes an empty bucket; ErrBucketNotEmpty otherwise.
	DeleteBucket(ctx context.Context, name string) error
	Usage(ctx context.Context, bucket string) (objects, bytes int64, err error)
	CreateAccessKey(ctx context.Context, access, secret string) error
	DeleteAccessKey(ctx context.Context, access string) error
	Secret(ctx context.Context, access string) (string, error)
	// Grant gives an access key read and write on a bucket.
	Grant(ctx context.Context, access, bucket string) error
	// Version turns on keeping every object's old versions.
	Version(ctx context.Context, bucket string) error
}

// ErrBucketNotEmpty is what an ObjectBackend answers when asked to delete
// a bucket that holds objects.
var ErrBucketNotEmpty = errors.New("bucket not empty")

// Live counts what the simulator holds and has not deleted, by kind:
// "instances", "clusters", "users" or "buckets"; tests compare it with
// what a client believes it made.
func (s *Server) Live(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	switch kind {
	case "instances":
		for id := range s.st.Instances {
			if s.liveInstance(id) != nil {
				n++
			}
		}
	case "clusters":
		for id, c := range s.st.Clusters {
			if s.liveCluster(c.Engine, id) != nil {
				n++
			}
		}
	case "users":
		for id := range s.st.Users {
			if s.liveUser(id) != nil {
				n++
			}
		}
	case "buckets":
		n = len(s.st.Buckets)
	}
	return n
}
