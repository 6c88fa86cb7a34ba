// Package provider defines what the tool asks of a cloud provider, one small
// interface per capability: servers, databases, buckets, DNS records. Each
// provider (OVHcloud, OpenStack, DigitalOcean) lives in its own folder below
// this one and implements the capabilities its cloud has; the Pulumi
// resources, the migration and the database planner see only these
// interfaces. Every call waits for the provider's asynchronous work to
// finish (or the context to end), so a returned resource is usable.
package provider

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ServerSpec is a server to create.
type ServerSpec struct {
	Name     string
	Region   string
	Flavor   string
	Image    string
	SSHKeys  []string // OpenSSH public keys
	UserData string   // cloud-init; may hold secrets
	DiskGB   int      // a volume of this size where the flavor has no disk
}

// Server is a server as the provider reports it.
type Server struct {
	ID     string
	Name   string
	Region string
	Flavor string
	Image  string
	Status string
	IPv4   string
	IPv6   string
}

// Servers creates and looks after virtual machines.
type Servers interface {
	// CreateServer makes a server and waits until it runs. An error after
	// the server was made is an *Unfinished naming it.
	CreateServer(ctx context.Context, spec ServerSpec) (*Server, error)
	Server(ctx context.Context, id string) (*Server, error)
	ResizeServer(ctx context.Context, id, flavor string) (*Server, error)
	DeleteServer(ctx context.Context, id string) error
}

// DatabaseSpec is a database cluster to create or to bring an existing one
// to. Databases and Users are created inside the cluster; AllowedIPs are
// the addresses (or CIDR blocks) that may connect.
type DatabaseSpec struct {
	// SSHKeys may log in to the server of a database the tool runs itself
	// (OpenStack); read at creation only. Managed services have no server
	// to log in to.
	SSHKeys []string

	Name       string
	Region     string
	Engine     string
	Version    string
	Plan       string
	Flavor     string
	Nodes      int
	DiskGB     int
	Databases  []string
	Users      []string
	AllowedIPs []string
}

// Database is a database cluster as the provider reports it.
type Database struct {
	ID         string
	Name       string
	Region     string
	Engine     string
	Version    string
	Plan       string
	Flavor     string
	Nodes      int
	DiskGB     int
	Status     string
	Host       string
	Port       int
	SSLMode    string
	Databases  []string
	Users      []string
	AllowedIPs []string
	// Backup is the bucket the tool's nightly dumps go to, where it runs
	// the database itself (OpenStack); managed services keep their own.
	Backup string
}

// Databases creates and looks after managed database clusters.
type Databases interface {
	// CreateDatabase creates the cluster, its databases, users and allowed
	// addresses, and returns each user's password.
	CreateDatabase(ctx context.Context, spec DatabaseSpec) (*Database, map[string]string, error)
	Database(ctx context.Context, id string) (*Database, error)
	// UpdateDatabase brings a cluster from old to new in place: a resize,
	// an upgrade, new databases, users (whose passwords it returns) and
	// addresses. What cannot change in place is the caller's to replace.
	UpdateDatabase(ctx context.Context, id string, old, new DatabaseSpec) (*Database, map[string]string, error)
	DeleteDatabase(ctx context.Context, id string) error
}

// BucketSpec is an object storage bucket to create.
type BucketSpec struct {
	Name      string
	Region    string
	Public    bool // objects readable by anyone
	Versioned bool // every object's old versions kept
}

// Bucket is a bucket as the provider reports it.
type Bucket struct {
	ID       string
	Name     string
	Region   string
	Endpoint string // the S3 endpoint, e.g. https://s3.bhs.io.cloud.ovh.net
	Public   bool
	Objects  int64
	Bytes    int64
	UserID   string // the user whose credentials reach only this bucket
}

// S3Credentials reach one bucket through the S3 API.
type S3Credentials struct {
	AccessKey string
	SecretKey string
}

// Buckets creates and looks after object storage.
type Buckets interface {
	// CreateBucket creates the bucket and credentials that reach only it.
	CreateBucket(ctx context.Context, spec BucketSpec) (*Bucket, S3Credentials, error)
	Bucket(ctx context.Context, id string) (*Bucket, error)
	// SetBucketPublic makes a bucket's objects readable by anyone, or not,
	// through the S3 API with the bucket's own credentials.
	SetBucketPublic(ctx context.Context, id string, creds S3Credentials, public bool) (*Bucket, error)
	// DeleteBucket removes an empty bucket and its credentials; a bucket
	// holding objects is refused with ErrNotEmpty, never emptied silently.
	DeleteBucket(ctx context.Context, id string) error
}

// Login checks a provider's credentials up front, for providers whose
// clients otherwise log in at the first call: a refused login then stops
// a plan before any change, in the cloud's own words.
type Login interface {
	Login(ctx context.Context) error
}

// StateBuckets is what keeping the engine's state in a bucket needs beyond
// Buckets: the state bucket lives outside any stack, so the tool finds it
// by name and fetches its credentials again on every run instead of
// storing them anywhere.
type StateBuckets interface {
	// BucketByName finds a bucket; ErrNotFound when there is none.
	BucketByName(ctx context.Context, region, name string) (*Bucket, error)
	BucketCredentials(ctx context.Context, id string) (S3Credentials, error)
}

// RecordSpec is a DNS record to publish.
type RecordSpec struct {
	Zone   string
	Name   string // relative to the zone; "" for the apex
	Type   string // A, AAAA, CNAME, TXT
	Target string
	TTL    int
}

// Record is a published DNS record.
type Record struct {
	ID string
	RecordSpec
}

// DNS publishes records in zones the co-op already holds.
type DNS interface {
	CreateRecord(ctx context.Context, spec RecordSpec) (*Record, error)
	Record(ctx context.Context, zone, id string) (*Record, error)
	UpdateRecord(ctx context.Context, id string, spec RecordSpec) (*Record, error)
	DeleteRecord(ctx context.Context, zone, id string) error
}

// Offers asks the cloud itself, before anything is made, whether it offers
// the flavor and image a server asks for, so that a plan fails in the
// cloud's own words where the catalog knows no better.
type Offers interface {
	// CheckOffer returns a problem per field ("flavor", "image") the cloud
	// does not offer; an empty image is not asked about. The error is for
	// not being able to ask at all (the credentials, the network).
	CheckOffer(ctx context.Context, flavor, image string) ([]OfferProblem, error)
}

// OfferProblem is one thing the cloud does not offer, in its words.
type OfferProblem struct {
	Field   string
	Message string
}

// ZoneSpec is a DNS zone the tool holds itself.
type ZoneSpec struct {
	Name        string // "cosocial.ca", with or without the final dot
	Email       string // the SOA's contact
	TTL         int    // 0: the service's default
	Description string
}

// Zone is a zone as the DNS service reports it.
type Zone struct {
	ID          string
	Name        string // without the final dot
	Email       string
	TTL         int
	Description string
	Status      string
	NameServers []string // what the registrar must delegate to
}

// Zones makes the DNS zones themselves, where the cloud's DNS service
// does (OpenStack's Designate); elsewhere the registrar holds the zone and
// only its records are the tool's.
type Zones interface {
	// CreateZone refuses a zone of that name that already exists: it was
	// not made here, and deleting it later would take its records along.
	CreateZone(ctx context.Context, spec ZoneSpec) (*Zone, error)
	Zone(ctx context.Context, id string) (*Zone, error)
	// UpdateZone changes the contact, TTL and description; a zone is not
	// renamed.
	UpdateZone(ctx context.Context, id string, spec ZoneSpec) (*Zone, error)
	DeleteZone(ctx context.Context, id string) error
}

// Kind is what a create makes, as far as leftovers go.
type Kind string

// The kinds whose creates can leave something behind when killed.
const (
	KindServer   Kind = "server"
	KindDatabase Kind = "database"
	KindBucket   Kind = "bucket"
	// KindS3User is a bucket's own user, made before the bucket.
	KindS3User Kind = "S3 user"
	// KindVolume is the data volume of a database the tool runs on a
	// server of its own, made before the server.
	KindVolume Kind = "volume"
)

// Leftover is something a create made that no state records.
type Leftover struct {
	Kind Kind
	ID   string
	Name string
}

func (l Leftover) String() string { return fmt.Sprintf("%s %s (id %s)", l.Kind, l.Name, l.ID) }

// Leftovers finds and takes back what a create left at the provider when
// the run making it was killed before the engine recorded its outcome
// (a power cut, kill -9, a closed terminal). Only that create knew of it:
// no state records it, and nothing was given its address or credentials,
// so removing it loses nothing, and the next run makes it again once.
// Without this, the next run makes a second one beside it.
type Leftovers interface {
	// Leftovers lists what the provider holds for a create of kind called
	// name that is none of known (the IDs a state records): for a bucket,
	// the bucket and the S3 users made for it that own none.
	Leftovers(ctx context.Context, kind Kind, region, name string, known map[string]bool) ([]Leftover, error)
	// RemoveLeftover deletes one; a bucket holding objects is refused
	// (NotEmptyError), never emptied.
	RemoveLeftover(ctx context.Context, l Leftover) error
}

// ErrNotFound means the resource does not exist (any more).
var ErrNotFound = errors.New("not found")

// NotEmptyError refuses to delete a bucket that holds objects.
type NotEmptyError struct {
	Bucket  string
	Objects int64
}

func (e *NotEmptyError) Error() string {
	return fmt.Sprintf("bucket %s still holds %d objects: cosocial never empties a bucket silently; `cosocial destroy --include-data` empties it after you confirm", e.Bucket, e.Objects)
}

// Unfinished is the error of a create that made its resource but could not
// see it through: interrupted, timed out, or the resource went to an
// error status. ID names what exists, so that the caller records it (and
// finishes or deletes it later) instead of leaving it behind unrecorded
// for the next run to make a second time.
type Unfinished struct {
	ID  string
	Err error
}

func (e *Unfinished) Error() string { return e.Err.Error() }
func (e *Unfinished) Unwrap() error { return e.Err }

// Undo runs the steps that take back a create which failed half-way. They
// get a context of their own, with a deadline: the create's may be the one
// an interrupt cancelled. When undoing fails too, the error says what is
// left behind.
func Undo(ctx context.Context, cause error, what string, undo func(ctx context.Context) error) error {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if err := undo(uctx); err != nil {
		return fmt.Errorf("%w (and %s, made for it, could not be removed, so it is left behind: %v)", cause, what, err)
	}
	return cause
}

// APIError is an error the provider's API answered with.
type APIError struct {
	Provider string
	Status   int
	Class    string
	Message  string
	QueryID  string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s API: %s", e.Provider, e.Message)
	if e.Class != "" {
		msg += " (" + e.Class + ")"
	}
	if e.QueryID != "" {
		msg += " [query " + e.QueryID + "]"
	}
	return msg
}

// Progress receives a line about long work, e.g. "database.main: CREATING".
type Progress func(message string)

type progressKey struct{}

// WithProgress returns a context whose provider calls report through p.
func WithProgress(ctx context.Context, p Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// Report sends a progress line to the context's Progress, if any.
func Report(ctx context.Context, format string, args ...any) {
	if p, ok := ctx.Value(progressKey{}).(Progress); ok && p != nil {
		p(fmt.Sprintf(format, args...))
	}
}
