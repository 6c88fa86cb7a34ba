package digitalocean

import (
	"context"
	"fmt"

	"github.com/digitalocean/godo"
)

// The write calls below are what a rehearsal needs to make a DigitalOcean
// side in the sandbox that looks like the co-op's. Creates wait for the
// resource to be usable, as every provider call does.

// DropletSpec is a droplet to create.
type DropletSpec struct {
	Name     string
	Region   string // e.g. tor1
	Size     string // e.g. s-2vcpu-4gb
	Image    string // an image slug, e.g. debian-12-x64
	Tags     []string
	UserData string // cloud-init; may hold secrets, never logged
}

// CreateDroplet creates a droplet and waits until it is active.
func (c *Cloud) CreateDroplet(ctx context.Context, spec DropletSpec) (Droplet, error) {
	req := &godo.DropletCreateRequest{
		Name: spec.Name, Region: spec.Region, Size: spec.Size, Image: godo.DropletCreateImage{Slug: spec.Image},
		Tags: spec.Tags, UserData: spec.UserData,
	}
	var d *godo.Droplet
	err := c.call(ctx, true, func() error {
		var err error
		d, _, err = c.api.Droplets.Create(ctx, req)
		return err
	})
	if err != nil {
		return Droplet{}, fmt.Errorf("creating droplet %s: %w", spec.Name, err)
	}
	return wait(ctx, c, "droplet."+spec.Name, func(ctx context.Context) (Droplet, error) { return c.Droplet(ctx, d.ID) },
		func(d Droplet) string { return d.Status },
		func(st string) (bool, error) {
			if st == "active" {
				return true, nil
			}
			if st != "new" {
				return false, fmt.Errorf("droplet %s is %s, not active", spec.Name, st)
			}
			return false, nil
		})
}

// Droplet reads one droplet.
func (c *Cloud) Droplet(ctx context.Context, id int) (Droplet, error) {
	var d *godo.Droplet
	err := c.call(ctx, false, func() error {
		var err error
		d, _, err = c.api.Droplets.Get(ctx, id)
		return err
	})
	if err != nil {
		return Droplet{}, fmt.Errorf("reading droplet %d: %w", id, err)
	}
	return dropletFrom(d), nil
}

// DatabaseSpec is a managed database cluster to create.
type DatabaseSpec struct {
	Name       string
	Engine     string // "pg" unless set
	Version    string // the newest the region offers unless set
	Size       string // e.g. db-s-2vcpu-4gb
	Region     string
	Nodes      int    // 1 unless set
	StorageMiB uint64 // the size's least unless set
	Tags       []string
}

// CreateDatabase creates a cluster and waits until it is online. Its
// admin credentials are in the result's Secrets.
func (c *Cloud) CreateDatabase(ctx context.Context, spec DatabaseSpec) (Database, error) {
	req := &godo.DatabaseCreateRequest{
		Name: spec.Name, EngineSlug: spec.Engine, Version: spec.Version, SizeSlug: spec.Size, Region: spec.Region,
		NumNodes: spec.Nodes, StorageSizeMib: spec.StorageMiB, Tags: spec.Tags,
	}
	if req.EngineSlug == "" {
		req.EngineSlug = "pg"
	}
	if req.NumNodes == 0 {
		req.NumNodes = 1
	}
	var db *godo.Database
	err := c.call(ctx, true, func() error {
		var err error
		db, _, err = c.api.Databases.Create(ctx, req)
		return err
	})
	if err != nil {
		return Database{}, fmt.Errorf("creating database %s: %w", spec.Name, err)
	}
	return wait(ctx, c, "database."+spec.Name, func(ctx context.Context) (Database, error) { return c.Database(ctx, db.ID) },
		func(d Database) string { return d.Status },
		func(st string) (bool, error) {
			switch st {
			case "online":
				return true, nil
			case "creating":
				return false, nil
			}
			return false, fmt.Errorf("database %s is %s, not online", spec.Name, st)
		})
}

// Database reads one cluster.
func (c *Cloud) Database(ctx context.Context, id string) (Database, error) {
	var db *godo.Database
	err := c.call(ctx, false, func() error {
		var err error
		db, _, err = c.api.Databases.Get(ctx, id)
		return err
	})
	if err != nil {
		return Database{}, fmt.Errorf("reading database %s: %w", id, err)
	}
	return databaseFrom(db), nil
}

// CreateDomain adds a domain, which DigitalOcean starts with its SOA and
// NS records.
func (c *Cloud) CreateDomain(ctx context.Context, name string) (Domain, error) {
	var d *godo.Domain
	err := c.call(ctx, true, func() error {
		var err error
		d, _, err = c.api.Domains.Create(ctx, &godo.DomainCreateRequest{Name: name})
		return err
	})
	if err != nil {
		return Domain{}, fmt.Errorf("creating domain %s: %w", name, err)
	}
	return Domain{Name: d.Name, TTL: d.TTL}, nil
}

// RecordSpec is a DNS record to create; Name is relative to the domain
// ("@" for the domain itself), and a TTL of 0 takes DigitalOcean's 1800.
type RecordSpec struct {
	Type     string
	Name     string
	Data     string
	TTL      int
	Priority int
	Port     int
	Weight   int
	Flags    int
	Tag      string
}

// CreateRecord adds a record to a domain.
func (c *Cloud) CreateRecord(ctx context.Context, domain string, spec RecordSpec) (Record, error) {
	req := &godo.DomainRecordEditRequest{
		Type: spec.Type, Name: spec.Name, Data: spec.Data, TTL: spec.TTL,
		Priority: spec.Priority, Port: spec.Port, Weight: spec.Weight, Flags: spec.Flags, Tag: spec.Tag,
	}
	var r *godo.DomainRecord
	err := c.call(ctx, true, func() error {
		var err error
		r, _, err = c.api.Domains.CreateRecord(ctx, domain, req)
		return err
	})
	if err != nil {
		return Record{}, fmt.Errorf("creating %s record %s in %s: %w", spec.Type, spec.Name, domain, err)
	}
	return recordFrom(*r), nil
}
