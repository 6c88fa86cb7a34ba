package digitalocean

import (
	"context"
	"fmt"
	"strconv"

	"github.com/digitalocean/godo"

	"github.com/cosocial/cosocial/pkg/objectstore"
)

// Inventory is everything the account runs that a migration moves.
type Inventory struct {
	Droplets  []Droplet
	Databases []Database
	Domains   []Domain
}

// Droplet is a virtual machine.
type Droplet struct {
	ID          int
	Name        string
	Size        string // the size slug, e.g. s-2vcpu-4gb
	Region      string // e.g. tor1
	Status      string // new, active, off, archive
	Image       string // the image's slug, or its name where it has none (snapshots)
	PublicIPv4  string
	PublicIPv6  string // where the droplet has IPv6 turned on
	PrivateIPv4 string
	VCPUs       int
	MemoryMB    int
	DiskGB      int
}

// Database is a managed database cluster. Its admin password is kept
// apart, in Secrets, so that printing or logging a Database never shows
// it.
type Database struct {
	ID      string
	Name    string
	Engine  string // pg, mysql, …
	Version string
	Size    string // e.g. db-s-2vcpu-4gb
	Region  string
	Nodes   int
	Status  string // creating, online, resizing, …
	// StorageBytes is the disk the cluster has, which DigitalOcean counts
	// in MiB and shows in GiB (61440 MiB is its "60 GB").
	StorageBytes int64
	// Host and Port are the public connection's, PrivateHost the VPC's.
	Host        string
	Port        int
	PrivateHost string
	User        string // the admin user, doadmin
	DBName      string // the default database, defaultdb
	SSL         bool

	secrets *Secrets
}

// StorageGB is the disk in DigitalOcean's gigabytes (GiB).
func (d Database) StorageGB() float64 { return float64(d.StorageBytes) / (1 << 30) }

// Secrets is what connects to the cluster as its admin. The caller asks
// for it explicitly; it prints, formats and marshals as "[redacted]" so
// that it cannot leak into a log by accident.
func (d Database) Secrets() Secrets {
	if d.secrets == nil {
		return Secrets{}
	}
	return *d.secrets
}

// Secrets are a managed database's admin credentials.
type Secrets struct {
	Password   string
	URI        string // postgresql://doadmin:…@host:port/defaultdb?sslmode=…
	PrivateURI string
}

func (Secrets) String() string   { return "[redacted]" }
func (Secrets) GoString() string { return "[redacted]" }

// MarshalJSON keeps the credentials out of any JSON output.
func (Secrets) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Domain is a DNS zone that DigitalOcean serves, with its records.
type Domain struct {
	Name    string
	TTL     int
	Records []Record
}

// Record is one DNS record; Name is relative to the domain ("@" for the
// domain itself).
type Record struct {
	ID       int
	Type     string
	Name     string
	Data     string
	TTL      int
	Priority int // MX, SRV
	Port     int // SRV
	Weight   int // SRV
	Flags    int // CAA
	Tag      string
}

// Inventory lists every droplet, database and domain with its records,
// following every page.
func (c *Cloud) Inventory(ctx context.Context) (Inventory, error) {
	var inv Inventory
	droplets, err := listAll(ctx, c, "droplets", func(d godo.Droplet) string { return strconv.Itoa(d.ID) }, c.api.Droplets.List)
	if err != nil {
		return Inventory{}, err
	}
	for _, d := range droplets {
		inv.Droplets = append(inv.Droplets, dropletFrom(&d))
	}
	dbs, err := listAll(ctx, c, "databases", func(d godo.Database) string { return d.ID }, c.api.Databases.List)
	if err != nil {
		return Inventory{}, err
	}
	for _, d := range dbs {
		inv.Databases = append(inv.Databases, databaseFrom(&d))
	}
	domains, err := listAll(ctx, c, "domains", func(d godo.Domain) string { return d.Name }, c.api.Domains.List)
	if err != nil {
		return Inventory{}, err
	}
	for _, d := range domains {
		records, err := c.records(ctx, d.Name)
		if err != nil {
			return Inventory{}, err
		}
		inv.Domains = append(inv.Domains, Domain{Name: d.Name, TTL: d.TTL, Records: records})
	}
	return inv, nil
}

func (c *Cloud) records(ctx context.Context, domain string) ([]Record, error) {
	recs, err := listAll(ctx, c, "records of "+domain, func(r godo.DomainRecord) string { return strconv.Itoa(r.ID) },
		func(ctx context.Context, opt *godo.ListOptions) ([]godo.DomainRecord, *godo.Response, error) {
			return c.api.Domains.Records(ctx, domain, opt)
		})
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(recs))
	for _, r := range recs {
		out = append(out, recordFrom(r))
	}
	return out, nil
}

func dropletFrom(d *godo.Droplet) Droplet {
	out := Droplet{ID: d.ID, Name: d.Name, Size: d.SizeSlug, Status: d.Status, VCPUs: d.Vcpus, MemoryMB: d.Memory, DiskGB: d.Disk}
	if d.Region != nil {
		out.Region = d.Region.Slug
	}
	if d.Image != nil {
		out.Image = d.Image.Slug
		if out.Image == "" {
			out.Image = d.Image.Name
		}
	}
	// A droplet still being built has no networks yet: no addresses.
	out.PublicIPv4, _ = d.PublicIPv4()
	out.PublicIPv6, _ = d.PublicIPv6()
	out.PrivateIPv4, _ = d.PrivateIPv4()
	return out
}

func databaseFrom(d *godo.Database) Database {
	out := Database{
		ID: d.ID, Name: d.Name, Engine: d.EngineSlug, Version: d.VersionSlug, Size: d.SizeSlug, Region: d.RegionSlug,
		Nodes: d.NumNodes, Status: d.Status, StorageBytes: int64(d.StorageSizeMib) << 20, secrets: &Secrets{},
	}
	if conn := d.Connection; conn != nil {
		out.Host, out.Port, out.User, out.DBName, out.SSL = conn.Host, conn.Port, conn.User, conn.Database, conn.SSL
		out.secrets.Password, out.secrets.URI = conn.Password, conn.URI
	}
	if conn := d.PrivateConnection; conn != nil {
		out.PrivateHost, out.secrets.PrivateURI = conn.Host, conn.URI
	}
	return out
}

func recordFrom(r godo.DomainRecord) Record {
	return Record{ID: r.ID, Type: r.Type, Name: r.Name, Data: r.Data, TTL: r.TTL, Priority: r.Priority, Port: r.Port, Weight: r.Weight, Flags: r.Flags, Tag: r.Tag}
}

// SpacesUsage is what one Spaces bucket holds.
type SpacesUsage struct {
	Bucket   string
	Endpoint string
	Objects  int64
	Bytes    int64
}

// BucketUsage counts a Spaces bucket's objects and bytes through the S3
// API with the bucket's own keys (DigitalOcean's API does not report it).
func BucketUsage(ctx context.Context, b objectstore.Bucket) (SpacesUsage, error) {
	objects, bytes, err := b.Usage(ctx)
	if err != nil {
		return SpacesUsage{}, fmt.Errorf("counting what Spaces bucket %s holds: %w", b.Name, err)
	}
	return SpacesUsage{Bucket: b.Name, Endpoint: b.Endpoint, Objects: objects, Bytes: bytes}, nil
}

// DropletNamed is the first droplet with one of the names, tried in order.
func (inv Inventory) DropletNamed(names ...string) (Droplet, bool) {
	return named(inv.Droplets, names, func(d Droplet) string { return d.Name })
}

// DatabaseNamed is the first cluster with one of the names, tried in order.
func (inv Inventory) DatabaseNamed(names ...string) (Database, bool) {
	return named(inv.Databases, names, func(d Database) string { return d.Name })
}

// DomainNamed is the domain of that name.
func (inv Inventory) DomainNamed(name string) (Domain, bool) {
	return named(inv.Domains, []string{name}, func(d Domain) string { return d.Name })
}

func named[T any](items []T, names []string, nameOf func(T) string) (T, bool) {
	for _, n := range names {
		for _, it := range items {
			if nameOf(it) == n {
				return it, true
			}
		}
	}
	var zero T
	return zero, false
}
