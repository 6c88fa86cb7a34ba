package migrate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/provider/digitalocean"
)

// Source is the DigitalOcean account a migration leaves, as the tool reads
// it: the API for droplets, databases and domains; Spaces, with a key the
// run makes for itself, for the buckets; each database, for its size.
type Source struct {
	Cloud  *digitalocean.Cloud
	Region string
	// SpacesEndpoint is Spaces' S3 API; empty means the region's.
	SpacesEndpoint string
	// Names maps a source resource's address to its name at DigitalOcean
	// when it is neither "<coop>-<name>" nor "<name>".
	Names map[string]string
}

// Stock is what TakeStock found, with what it needs to keep reading the
// source: the Spaces buckets and the databases' connection strings.
// Close deletes the Spaces key the run made.
type Stock struct {
	Facts     Facts
	Warnings  []string
	Buckets   map[string]objectstore.Bucket
	Databases map[string]string // admin connection strings: secret
	close     func(context.Context) error
}

// Close removes what TakeStock made at the source (its Spaces key).
func (s *Stock) Close(ctx context.Context) error {
	if s.close == nil {
		return nil
	}
	return s.close(ctx)
}

func (src Source) spaces() string {
	if src.SpacesEndpoint != "" {
		return src.SpacesEndpoint
	}
	return digitalocean.SpacesEndpoint(src.Region)
}

// candidates are the names a source resource may have at the provider:
// an explicit one, the tool's own "<coop>-<name>", or the bare name.
func (src Source) candidates(desc *model.Description, r model.Resource) []string {
	addr := r.Addr()
	if n, ok := src.Names[addr.String()]; ok {
		return []string{n}
	}
	out := []string{}
	if desc.Coop != nil && desc.Coop.ID != "" {
		out = append(out, strings.ToLower(desc.Coop.ID+"-"+addr.Name))
	}
	return append(out, addr.Name)
}

// TakeStock reads the source of target's migration.
func TakeStock(ctx context.Context, target *model.Description, src Source) (*Stock, error) {
	source := target.Migration.Source
	inv, err := src.Cloud.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	st := &Stock{Facts: Facts{Servers: map[string]ServerFacts{}, Databases: map[string]DatabaseFacts{}, Buckets: map[string]BucketFacts{}},
		Warnings: []string{}, Buckets: map[string]objectstore.Bucket{}, Databases: map[string]string{}}
	for _, s := range source.Servers {
		names := src.candidates(source, s)
		d, ok := inv.DropletNamed(names...)
		if !ok {
			return nil, fmt.Errorf("DigitalOcean has no droplet named %s for %s: rename it, or name it with --source-name %s=<droplet>", orList(names), s.Addr(), s.Addr())
		}
		st.Facts.Servers[s.Name] = ServerFacts{CloudName: d.Name, Size: d.Size, IPv4: d.PublicIPv4, IPv6: d.PublicIPv6}
	}
	for _, db := range source.Databases {
		names := src.candidates(source, db)
		d, ok := inv.DatabaseNamed(names...)
		if !ok {
			return nil, fmt.Errorf("DigitalOcean has no database cluster named %s for %s: name it with --source-name %s=<cluster>", orList(names), db.Addr(), db.Addr())
		}
		f := DatabaseFacts{CloudName: d.Name, Engine: d.Engine, Version: d.Version, DiskBytes: d.StorageBytes}
		if uri := d.Secrets().URI; uri != "" {
			st.Databases[db.Name] = uri
			var name string
			if f.DataBytes, name, err = dataBytes(ctx, uri); err != nil {
				st.Warnings = append(st.Warnings, fmt.Sprintf("%s: the data size could not be read (%v); its copy time is not estimated", db.Addr(), err))
			} else if name != "" {
				f.Database = name
				st.Databases[db.Name] = withDatabase(uri, name)
			}
		}
		st.Facts.Databases[db.Name] = f
	}
	if len(source.Buckets) > 0 {
		if err := st.buckets(ctx, src, source); err != nil {
			return nil, err
		}
	}
	st.Facts.Records = records(source, inv.Domains)
	return st, nil
}

// buckets reads the source's buckets, each with a read-only Spaces key
// made for this run and deleted by Close. The key is asked for each name a
// bucket may have: DigitalOcean grants keys on existing buckets only, so
// the grant that succeeds also says which name the bucket has.
func (st *Stock) buckets(ctx context.Context, src Source, source *model.Description) error {
	var keys []string
	st.close = func(ctx context.Context) error {
		var errs []error
		for _, k := range keys {
			errs = append(errs, src.Cloud.DeleteSpacesKey(ctx, k))
		}
		return errors.Join(errs...)
	}
	for _, b := range source.Buckets {
		names := src.candidates(source, b)
		var refused []string
		for _, name := range names {
			key, err := src.Cloud.CreateSpacesKey(ctx, fmt.Sprintf("cosocial-migration-%s-%d", b.Name, time.Now().Unix()), []string{name}, "read")
			if err != nil {
				refused = append(refused, err.Error())
				continue
			}
			keys = append(keys, key.AccessKey)
			bucket := key.Bucket(src.spaces(), name)
			objects, bytes, err := bucket.Usage(ctx)
			if err != nil {
				st.Close(ctx)
				return fmt.Errorf("counting %s (Spaces bucket %s): %w", b.Addr(), name, err)
			}
			st.Buckets[b.Name] = bucket
			st.Facts.Buckets[b.Name] = BucketFacts{CloudName: name, Objects: objects, Bytes: bytes}
			break
		}
		if _, ok := st.Buckets[b.Name]; !ok {
			st.Close(ctx)
			return fmt.Errorf("no Spaces bucket named %s in %s could be read for %s (%s): name it with --source-name %s=<bucket>",
				orList(names), src.Region, b.Addr(), strings.Join(refused, "; "), b.Addr())
		}
	}
	return nil
}

// dataBytes is what a cluster's databases hold, the system ones aside,
// and the largest of them: the app's (mastodon_production, or DigitalOcean's
// defaultdb when the app was installed there).
func dataBytes(ctx context.Context, uri string) (int64, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		// pgx's errors can quote the connection string; say only what failed.
		return 0, "", fmt.Errorf("cannot connect to the cluster")
	}
	defer conn.Close(context.Background())
	var total int64
	var largest string
	rows, err := conn.Query(ctx, `SELECT datname, pg_database_size(datname) FROM pg_database
	                             WHERE NOT datistemplate AND datname NOT IN ('postgres', '_dodb')
	                             ORDER BY pg_database_size(datname) DESC`)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return 0, "", err
		}
		if largest == "" {
			largest = name
		}
		total += n
	}
	return total, largest, rows.Err()
}

// withDatabase points a connection URL at another database.
func withDatabase(uri, name string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	u.Path = "/" + name
	return u.String()
}

// records finds the DNS records of the source's service hosts.
func records(source *model.Description, domains []digitalocean.Domain) []RecordFacts {
	out := []RecordFacts{}
	for _, f := range hostRecords(Hosts(source), domains, "A", "AAAA", "CNAME") {
		data := f.record.Data
		if data == "@" { // DigitalOcean's name for the zone's apex
			data = f.zone
		}
		out = append(out, RecordFacts{Host: f.host, Type: f.record.Type, TTL: time.Duration(f.record.TTL) * time.Second, Data: data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host+out[i].Type < out[j].Host+out[j].Type })
	return out
}

// found is a record of a host, in the zone that serves it.
type found struct {
	host, zone string
	record     digitalocean.Record
}

// hostRecords finds each host's records of the given types, in the most
// specific zone that serves it.
func hostRecords(hosts []string, domains []digitalocean.Domain, types ...string) []found {
	var out []found
	for _, h := range hosts {
		var zone *digitalocean.Domain
		for i, d := range domains {
			if (h == d.Name || strings.HasSuffix(h, "."+d.Name)) && (zone == nil || len(d.Name) > len(zone.Name)) {
				zone = &domains[i]
			}
		}
		if zone == nil {
			continue
		}
		rel := strings.TrimSuffix(strings.TrimSuffix(h, zone.Name), ".")
		if rel == "" {
			rel = "@"
		}
		for _, r := range zone.Records {
			if r.Name == rel && slices.Contains(types, r.Type) {
				out = append(out, found{host: h, zone: zone.Name, record: r})
			}
		}
	}
	return out
}

func orList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, " or ")
}
