// Package rehearse makes, in the sandbox's DigitalOcean, what the source
// description says runs today — droplets, database clusters, Spaces
// buckets and the DNS zone — filled with Mastodon-shaped sample data, so
// that volunteers can rehearse a migration end to end before the night.
package rehearse

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/provider/digitalocean"
)

// MastodonSchema is the part of Mastodon's schema (db/schema.rb of 4.3,
// trimmed) that its clean-ups and the migration's checks read.
//
//go:embed mastodon.sql
var MastodonSchema string

// Options size the sample data.
type Options struct {
	// Statuses is how many posts the database gets; Objects how many media
	// files each bucket gets.
	Statuses int
	Objects  int
	// Seed makes the data reproducible.
	Seed uint64
	// MakeBucket creates a Spaces bucket. DigitalOcean's API does not make
	// buckets (its S3 API does, with a key), so the sandbox passes its S3
	// server's.
	MakeBucket func(ctx context.Context, name string) error
	// SpacesEndpoint is where the buckets are filled: the sandbox's S3.
	SpacesEndpoint string
}

// Source is what Seed made.
type Source struct {
	Droplets  map[string]digitalocean.Droplet
	Databases map[string]digitalocean.Database
	// Buckets lists each bucket's objects and bytes.
	Buckets map[string][2]int64
}

// Seed creates the source description's resources at cloud, named the way
// the tool's own resources are ("<coop>-<name>"), and fills them. A
// resource that already exists is left as it is, so a rehearsal can be
// seeded once and run many times.
func Seed(ctx context.Context, cloud *digitalocean.Cloud, source *model.Description, region string, opts Options) (*Source, error) {
	inv, err := cloud.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	out := &Source{Droplets: map[string]digitalocean.Droplet{}, Databases: map[string]digitalocean.Database{}, Buckets: map[string][2]int64{}}
	name := func(n string) string { return strings.ToLower(source.Coop.ID + "-" + n) }
	for _, s := range source.Servers {
		if d, ok := inv.DropletNamed(name(s.Name)); ok {
			out.Droplets[s.Name] = d
			continue
		}
		d, err := cloud.CreateDroplet(ctx, digitalocean.DropletSpec{Name: name(s.Name), Region: region, Size: s.Flavor, Image: s.Image})
		if err != nil {
			return nil, err
		}
		out.Droplets[s.Name] = d
	}
	for _, db := range source.Databases {
		d, ok := inv.DatabaseNamed(name(db.Name))
		if !ok {
			if d, err = cloud.CreateDatabase(ctx, digitalocean.DatabaseSpec{Name: name(db.Name), Version: db.Version, Size: db.Flavor, Region: region}); err != nil {
				return nil, err
			}
			if err := fillDatabase(ctx, d.Secrets().URI, opts); err != nil {
				return nil, fmt.Errorf("filling %s: %w", db.Addr(), err)
			}
		}
		out.Databases[db.Name] = d
	}
	var fresh []*model.Bucket
	for _, b := range source.Buckets {
		err := opts.MakeBucket(ctx, name(b.Name))
		switch code := minio.ToErrorResponse(err).Code; {
		case err == nil:
			fresh = append(fresh, b)
		case code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists":
		default:
			return nil, fmt.Errorf("making %s: %w", b.Addr(), err)
		}
	}
	if len(fresh) > 0 {
		var names []string
		for _, b := range fresh {
			names = append(names, name(b.Name))
		}
		key, err := cloud.CreateSpacesKey(ctx, "cosocial-rehearsal-seed", names, "readwrite")
		if err != nil {
			return nil, err
		}
		defer cloud.DeleteSpacesKey(context.Background(), key.AccessKey)
		for _, b := range fresh {
			objects, bytes, err := fillBucket(ctx, key.Bucket(opts.SpacesEndpoint, name(b.Name)), b.Public, opts)
			if err != nil {
				return nil, fmt.Errorf("filling %s: %w", b.Addr(), err)
			}
			out.Buckets[b.Name] = [2]int64{objects, bytes}
		}
	}
	return out, seedDNS(ctx, cloud, source, inv, out)
}

// seedDNS publishes each service's hosts at its droplet with the TTLs a
// co-op that never planned a move has: an hour.
func seedDNS(ctx context.Context, cloud *digitalocean.Cloud, source *model.Description, inv digitalocean.Inventory, out *Source) error {
	for _, s := range source.Services {
		zone := s.Domain
		if _, ok := inv.DomainNamed(zone); ok {
			continue
		}
		if _, err := cloud.CreateDomain(ctx, zone); err != nil {
			return err
		}
		ip := out.Droplets[s.Server.Name].PublicIPv4
		if _, err := cloud.CreateRecord(ctx, zone, digitalocean.RecordSpec{Type: "A", Name: "@", Data: ip, TTL: 3600}); err != nil {
			return err
		}
		if s.MediaHost != "" && strings.HasSuffix(s.MediaHost, "."+zone) {
			rel := strings.TrimSuffix(s.MediaHost, "."+zone)
			if _, err := cloud.CreateRecord(ctx, zone, digitalocean.RecordSpec{Type: "CNAME", Name: rel, Data: zone + ".", TTL: 3600}); err != nil {
				return err
			}
		}
	}
	return nil
}

// fillDatabase makes Mastodon's tables in the cluster's default database
// with accounts, posts, media and follows.
func fillDatabase(ctx context.Context, adminURI string, opts Options) error {
	conn, err := pgx.Connect(ctx, adminURI)
	if err != nil {
		return fmt.Errorf("cannot connect to the new cluster")
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, MastodonSchema); err != nil {
		return err
	}
	n := max(opts.Statuses, 100)
	stmts := []string{
		fmt.Sprintf(`INSERT INTO accounts (username, domain, note)
		  SELECT 'user' || i, CASE WHEN i %% 4 = 0 THEN NULL ELSE 'remote' || (i %% 50) || '.example' END, repeat(md5(i::text), 4)
		  FROM generate_series(1, %d) i`, max(n/10, 10)),
		fmt.Sprintf(`INSERT INTO statuses (uri, text, account_id, local, created_at)
		  SELECT 'https://x/' || i, repeat('toot ', 1 + i %% 60), 1 + i %% %d, i %% 4 = 0, now() - (i %% 200) * interval '1 day'
		  FROM generate_series(1, %d) i`, max(n/10, 10), n),
		`INSERT INTO media_attachments (status_id, account_id, file_file_name, file_file_size, remote_url, created_at)
		  SELECT id, account_id, 'f.jpg', 100000, CASE WHEN local THEN '' ELSE 'https://remote/f.jpg' END, created_at FROM statuses WHERE id % 3 = 0`,
		`INSERT INTO follows (account_id, target_account_id)
		  SELECT a.id, b.id FROM accounts a JOIN accounts b ON b.id = a.id + 1 WHERE a.domain IS NULL`,
		"ANALYZE",
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// fillBucket uploads media files of Mastodon's usual sizes: mostly
// images of tens to hundreds of kilobytes, some small videos.
func fillBucket(ctx context.Context, b objectstore.Bucket, public bool, opts Options) (objects, total int64, err error) {
	client, err := b.Client()
	if err != nil {
		return 0, 0, err
	}
	bucket := b.Name
	r := rand.New(rand.NewPCG(opts.Seed, 7))
	n := max(opts.Objects, 10)
	type obj struct {
		key  string
		size int
		typ  string
	}
	work := make(chan obj)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				body := make([]byte, o.size)
				for i := range body {
					body[i] = byte(o.size*31 + i*7)
				}
				po := minio.PutObjectOptions{ContentType: o.typ, CacheControl: "public, max-age=315576000, immutable"}
				if public {
					po.UserMetadata = map[string]string{"x-amz-acl": "public-read"}
				}
				_, err := client.PutObject(ctx, bucket, o.key, bytes.NewReader(body), int64(o.size), po)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		o := obj{key: fmt.Sprintf("media_attachments/files/%03d/%03d/%06d/original/%016x.jpg", i/1000000, i/1000%1000, i, r.Uint64()), size: 5_000 + r.IntN(200_000), typ: "image/jpeg"}
		if i%25 == 0 {
			o.key, o.size, o.typ = strings.Replace(o.key, ".jpg", ".mp4", 1), 1_000_000+r.IntN(2_000_000), "video/mp4"
		}
		objects++
		total += int64(o.size)
		work <- o
	}
	close(work)
	wg.Wait()
	return objects, total, firstErr
}
