// Package model holds the typed description of a co-op's services: what the
// HCL files say once they are parsed, decoded and their references resolved.
// Every other package (policy, stack, migrate, dbplan) reads this model and
// never the HCL itself, so the language can change without touching them.
package model

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Kinds of resources a description declares. They are also the first step of
// a reference: `server.web` names the server "web".
const (
	KindProvider = "provider"
	KindServer   = "server"
	KindDatabase = "database"
	KindBucket   = "bucket"
	KindDNS      = "dns"
	KindService  = "service"
)

// ResourceKinds lists the kinds that a reference can name, in the order the
// tool reports them.
var ResourceKinds = []string{KindServer, KindDatabase, KindBucket, KindDNS}

// Applications a service can run.
const (
	AppMastodon = "mastodon"
	AppCastopod = "castopod"
	AppPixelfed = "pixelfed"
)

// Apps lists the applications in the order the tool reports them.
var Apps = []string{AppMastodon, AppCastopod, AppPixelfed}

// Database engines.
const (
	EnginePostgreSQL = "postgresql"
	EngineMySQL      = "mysql"
	EngineMariaDB    = "mariadb"
)

// AppEngines says which database engines each application runs on.
var AppEngines = map[string][]string{
	AppMastodon: {EnginePostgreSQL},
	AppCastopod: {EngineMySQL, EngineMariaDB},
	AppPixelfed: {EnginePostgreSQL, EngineMySQL, EngineMariaDB},
}

// Engines lists the database engines the language accepts.
var Engines = []string{EnginePostgreSQL, EngineMySQL, EngineMariaDB}

// State backends.
const (
	BackendLocal       = "local"
	BackendS3          = "s3"
	BackendPulumiCloud = "pulumi-cloud"
)

// Backends lists the state backends the language accepts.
var Backends = []string{BackendLocal, BackendS3, BackendPulumiCloud}

// Residency rules a waiver can set aside.
const (
	RuleDataCountry = "data_country"
	RuleOwnership   = "ownership"
)

// Rules lists the residency rules.
var Rules = []string{RuleDataCountry, RuleOwnership}

// Values of policy "residency".ownership and on_violation.
const (
	OwnershipCanadian = "canadian"
	OwnershipAny      = "any"
	OnViolationError  = "error"
	OnViolationWarn   = "warn"
)

// Source remembers where a block and its attributes were written, so that
// diagnostics raised long after parsing can still point at the exact line.
type Source struct {
	Decl  hcl.Range            // the block's header, e.g. `server "web"`
	Attrs map[string]hcl.Range // each attribute's whole `name = value` range
}

// Attr returns the range of the named attribute, or the block header when the
// attribute was not written (a missing attribute is reported at its block).
func (s Source) Attr(name string) *hcl.Range {
	if r, ok := s.Attrs[name]; ok {
		return &r
	}
	r := s.Decl
	return &r
}

// Where names a place in a description the way people read it:
// "cosocial.hcl line 12".
func Where(r hcl.Range) string {
	return r.Filename + " line " + strconv.Itoa(r.Start.Line)
}

// Addr names a resource the way a description refers to it: kind and name.
type Addr struct {
	Kind string
	Name string
}

func (a Addr) String() string { return a.Kind + "." + a.Name }

// Ref is a reference written in the description (`provider.montreal`),
// with the range it was written at.
type Ref struct {
	Addr
	Range hcl.Range
}

// Description is a whole co-op description: one file, or every *.hcl file of
// a folder taken together.
type Description struct {
	Files []string // the files it was read from, in load order

	Coop      *Coop
	Policy    *Policy
	State     *State
	Providers []*Provider
	Servers   []*Server
	Databases []*Database
	Buckets   []*Bucket
	DNS       []*DNS
	Services  []*Service
	Migration *Migration
}

// Coop identifies the co-operative.
type Coop struct {
	ID           string
	Name         string
	Domain       string
	Members      int
	FeeCADYearly float64
	Src          Source
}

// Policy is the residency policy the co-op's board voted for.
type Policy struct {
	DataCountry string // ISO 3166-1 alpha-2 code; empty means no country rule
	Ownership   string // OwnershipCanadian or OwnershipAny
	OnViolation string // OnViolationError or OnViolationWarn
	Waivers     []*Waiver
	Src         Source
}

// Waiver sets one rule aside for some resources, with a reason, until a date.
type Waiver struct {
	Name      string
	Resources []Ref
	Rule      string
	Reason    string
	Expires   time.Time // the last day the waiver applies (UTC midnight)
	Src       Source
}

// State says where the Pulumi state of the stack lives.
type State struct {
	Backend string
	Bucket  *Ref // for BackendS3
	Src     Source
}

// Provider is one account or project at a cloud provider.
type Provider struct {
	Kind   string // a kind registered in pkg/provider/providers
	Name   string
	Region string

	// The arguments kinds share by name (each kind registers those it
	// takes); Settings holds every argument given, these included.
	Endpoint string // the API: "ovh-ca", or a literal URL (the sandbox)
	Project  string
	Cloud    string // an entry of clouds.yaml
	Operator string // the company running the cloud, when neither cloud nor region says
	Settings map[string]string

	Src Source
}

// SetSetting records an argument of the provider block.
func (p *Provider) SetSetting(name, value string) {
	if p.Settings == nil {
		p.Settings = map[string]string{}
	}
	p.Settings[name] = value
	switch name {
	case "region":
		p.Region = value
	case "endpoint":
		p.Endpoint = value
	case "project":
		p.Project = value
	case "cloud":
		p.Cloud = value
	case "operator":
		p.Operator = value
	}
}

// Addr returns the provider's address, e.g. provider.montreal.
func (p *Provider) Addr() Addr { return Addr{KindProvider, p.Name} }

// Resource is what servers, databases, buckets and DNS zones share: they are
// created at a provider, and the residency policy judges each of them.
type Resource interface {
	Addr() Addr
	ProviderRef() Ref
	// RegionOverride is the resource's own region, or "" to use the provider's.
	RegionOverride() string
	// StoresData says whether the data_country rule applies.
	StoresData() bool
	Source() Source
	Dependencies() []Ref
}

// Common holds what every resource block has.
type Common struct {
	Name      string
	Provider  Ref
	Region    string
	DependsOn []Ref
	Src       Source
}

func (c *Common) ProviderRef() Ref       { return c.Provider }
func (c *Common) RegionOverride() string { return c.Region }
func (c *Common) Source() Source         { return c.Src }
func (c *Common) Dependencies() []Ref {
	deps := []Ref{c.Provider}
	return append(deps, c.DependsOn...)
}

// Server is a virtual machine.
type Server struct {
	Common
	Flavor  string
	Image   string
	DiskGB  int // 0: the flavor's own disk
	SSHKeys []string
}

func (s *Server) Addr() Addr       { return Addr{KindServer, s.Name} }
func (s *Server) StoresData() bool { return true }

// Database is a database cluster: managed where the provider offers it.
type Database struct {
	Common
	Engine  string
	Version string
	Plan    string
	Flavor  string
	DiskGB  int
}

func (d *Database) Addr() Addr       { return Addr{KindDatabase, d.Name} }
func (d *Database) StoresData() bool { return true }

// Bucket is an S3-compatible object storage bucket.
type Bucket struct {
	Common
	Public bool
}

func (b *Bucket) Addr() Addr       { return Addr{KindBucket, b.Name} }
func (b *Bucket) StoresData() bool { return true }

// DNS is a DNS zone the co-op publishes its records in.
type DNS struct {
	Common
	Zone string
	TTL  int // seconds; 0 means the provider's default
}

func (d *DNS) Addr() Addr { return Addr{KindDNS, d.Name} }

// StoresData is false: a zone holds public records, not members' data.
func (d *DNS) StoresData() bool { return false }

// Service is an application the co-op runs for its members.
type Service struct {
	App        string
	Name       string
	Domain     string
	Version    string
	Server     Ref
	Database   Ref
	Media      *Ref
	MediaHost  string
	DNS        *Ref
	Allowances *Allowances
	SMTP       *SMTP
	DependsOn  []Ref
	Src        Source
}

// Addr returns the service's address, e.g. service.mastodon.cosocial is
// written as {service, "mastodon.cosocial"}.
func (s *Service) Addr() Addr { return Addr{KindService, s.App + "." + s.Name} }

// Dependencies lists every resource the service refers to.
func (s *Service) Dependencies() []Ref {
	deps := []Ref{s.Server, s.Database}
	if s.Media != nil {
		deps = append(deps, *s.Media)
	}
	if s.DNS != nil {
		deps = append(deps, *s.DNS)
	}
	return append(deps, s.DependsOn...)
}

// Allowances are the per-account limits the co-op sets for its members.
type Allowances struct {
	PostsPerDay   int
	MediaMBPerDay int
	APICallsPer5m int
	Src           Source
}

// SMTP is the mail relay a service sends sign-up confirmations and
// notifications through. The password is never in the description: it is
// read from the environment variable PasswordEnv names, when the plan is
// made.
type SMTP struct {
	Host        string
	Port        int
	User        string
	PasswordEnv string
	From        string
	Src         Source
}

// DefaultSMTPPort is the submission port with STARTTLS, which every relay
// offers and Mastodon's and Castopod's mailers use by default.
const DefaultSMTPPort = 587

// Migration moves what another description runs onto this one.
type Migration struct {
	Name           string
	SourcePath     string       // as written, relative to the declaring file
	Source         *Description // the description of what runs today
	DowntimeBudget time.Duration
	Src            Source
}

// CloudName is the name a resource has at its provider: the co-op's ID
// and the resource's name, lower-case with dashes, so two co-ops in one
// account never clash.
func (d *Description) CloudName(name string) string {
	return strings.ToLower(strings.ReplaceAll(d.Coop.ID+"-"+name, "_", "-"))
}

// Resources returns every resource of the description, in declaration order
// by kind (servers, databases, buckets, DNS zones).
func (d *Description) Resources() []Resource {
	out := make([]Resource, 0, len(d.Servers)+len(d.Databases)+len(d.Buckets)+len(d.DNS))
	for _, r := range d.Servers {
		out = append(out, r)
	}
	for _, r := range d.Databases {
		out = append(out, r)
	}
	for _, r := range d.Buckets {
		out = append(out, r)
	}
	for _, r := range d.DNS {
		out = append(out, r)
	}
	return out
}

// Index gives by-address look-ups over a description. Build it once: it is
// what keeps validation linear in the number of resources.
type Index struct {
	Providers map[string]*Provider
	Resources map[Addr]Resource
}

// NewIndex indexes the description's providers and resources. When a name is
// declared twice the first declaration wins (the duplicate is an error the
// loader has already reported).
func NewIndex(d *Description) *Index {
	ix := &Index{
		Providers: make(map[string]*Provider, len(d.Providers)),
		Resources: make(map[Addr]Resource),
	}
	for _, p := range d.Providers {
		if _, dup := ix.Providers[p.Name]; !dup {
			ix.Providers[p.Name] = p
		}
	}
	for _, r := range d.Resources() {
		if _, dup := ix.Resources[r.Addr()]; !dup {
			ix.Resources[r.Addr()] = r
		}
	}
	return ix
}

// Provider returns the provider a resource is created at, or nil.
func (ix *Index) Provider(r Resource) *Provider {
	return ix.Providers[r.ProviderRef().Name]
}

// Names returns the sorted names of the declared resources of one kind (or of
// the providers, for KindProvider); diagnostics use it to say what exists.
func (ix *Index) Names(kind string) []string {
	var names []string
	if kind == KindProvider {
		for n := range ix.Providers {
			names = append(names, n)
		}
	} else {
		for a := range ix.Resources {
			if a.Kind == kind {
				names = append(names, a.Name)
			}
		}
	}
	sort.Strings(names)
	return names
}
