// Package providertest is the contract every provider meets, run against
// each provider's simulator: what a server, database, bucket or DNS record
// must do when created, read, changed in place and deleted. A provider's
// own tests call these with a live simulator.
package providertest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cosocial/cosocial/pkg/provider"
)

// timeout bounds each contract; simulators answer in well under it.
const timeout = 3 * time.Minute

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c
}

// ServerCase is what the server contract needs to know about a provider.
type ServerCase struct {
	Servers      provider.Servers
	Region       string
	Flavor       string
	BiggerFlavor string
	Image        string
	SSHKey       string
}

// Servers checks create (waits until usable, with an address), read,
// in-place resize (same ID, new flavor), delete, and not-found after.
func Servers(t *testing.T, c ServerCase) {
	ctx := ctx(t)
	s, err := c.Servers.CreateServer(ctx, provider.ServerSpec{Name: "contract-web", Region: c.Region, Flavor: c.Flavor, Image: c.Image, SSHKeys: []string{c.SSHKey}, UserData: "#cloud-config\n"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if s.ID == "" || s.Status != "ACTIVE" || s.IPv4 == "" || s.Flavor != c.Flavor || s.Image != c.Image {
		t.Fatalf("created server = %+v", s)
	}
	got, err := c.Servers.Server(ctx, s.ID)
	if err != nil || got.ID != s.ID || got.Name != "contract-web" {
		t.Fatalf("read: %+v, %v", got, err)
	}
	resized, err := c.Servers.ResizeServer(ctx, s.ID, c.BiggerFlavor)
	if err != nil {
		t.Fatalf("resize: %v", err)
	}
	if resized.ID != s.ID || resized.Flavor != c.BiggerFlavor || resized.Status != "ACTIVE" {
		t.Fatalf("resized server = %+v", resized)
	}
	if err := c.Servers.DeleteServer(ctx, s.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.Servers.Server(ctx, s.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("read after delete: %v, want ErrNotFound", err)
	}
	if err := c.Servers.DeleteServer(ctx, s.ID); err != nil {
		t.Fatalf("deleting a server already gone: %v", err)
	}
}

// DatabaseCase is what the database contract needs.
type DatabaseCase struct {
	Databases provider.Databases
	Spec      provider.DatabaseSpec // a PostgreSQL or MySQL cluster with one database and one user
	LargerGB  int                   // a disk size the flavor allows, larger than Spec's
}

// Databases checks that a cluster is created ready, that its user can
// really log in to its database with the password returned, that a disk
// resize happens in place, and that it is gone after delete.
func Databases(t *testing.T, c DatabaseCase) {
	ctx := ctx(t)
	spec := c.Spec
	db, passwords, err := c.Databases.CreateDatabase(ctx, spec)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if db.Status != "READY" || db.Host == "" || db.Port == 0 || db.DiskGB != spec.DiskGB {
		t.Fatalf("created database = %+v", db)
	}
	user, name := spec.Users[0], spec.Databases[0]
	if passwords[user] == "" {
		t.Fatalf("no password returned for %s", user)
	}
	if strings.Join(db.Databases, ",") != strings.Join(spec.Databases, ",") || strings.Join(db.Users, ",") != strings.Join(spec.Users, ",") {
		t.Fatalf("databases %v and users %v, want %v and %v", db.Databases, db.Users, spec.Databases, spec.Users)
	}
	createTable(t, ctx, spec.Engine, db, user, passwords[user], name)

	larger := spec
	larger.DiskGB = c.LargerGB
	resized, newPasswords, err := c.Databases.UpdateDatabase(ctx, db.ID, spec, larger)
	if err != nil {
		t.Fatalf("resize: %v", err)
	}
	if resized.ID != db.ID || resized.DiskGB != c.LargerGB || resized.Status != "READY" || len(newPasswords) != 0 {
		t.Fatalf("resized database = %+v (new passwords for %d users)", resized, len(newPasswords))
	}
	if err := c.Databases.DeleteDatabase(ctx, db.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.Databases.Database(ctx, db.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("read after delete: %v, want ErrNotFound", err)
	}
}

// BucketCase is what the bucket contract needs.
type BucketCase struct {
	Buckets provider.Buckets
	Region  string
	Name    string
}

// Buckets checks that a bucket comes with credentials that reach it, that
// public means anonymous reads work, that a bucket holding objects is
// never deleted, and that an empty one is.
func Buckets(t *testing.T, c BucketCase) {
	ctx := ctx(t)
	b, creds, err := c.Buckets.CreateBucket(ctx, provider.BucketSpec{Name: c.Name, Region: c.Region, Public: false})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if b.Endpoint == "" || creds.AccessKey == "" || creds.SecretKey == "" || b.Name != c.Name {
		t.Fatalf("created bucket = %+v (credentials given: %v)", b, creds.AccessKey != "")
	}
	u, err := url.Parse(b.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	s3, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(creds.AccessKey, creds.SecretKey, ""), Secure: u.Scheme == "https", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("media")
	if _, err := s3.PutObject(ctx, b.Name, "cache/a.png", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "image/png"}); err != nil {
		t.Fatalf("the bucket's credentials cannot write to it: %v", err)
	}
	anonymous := func() int {
		resp, err := http.Get(strings.TrimSuffix(b.Endpoint, "/") + "/" + b.Name + "/cache/a.png")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := anonymous(); code == http.StatusOK {
		t.Fatal("a private bucket answers anonymous reads")
	}
	if _, err := c.Buckets.SetBucketPublic(ctx, b.ID, creds, true); err != nil {
		t.Fatalf("making public: %v", err)
	}
	if code := anonymous(); code != http.StatusOK {
		t.Fatalf("a public bucket refuses anonymous reads: %d", code)
	}
	got, err := c.Buckets.Bucket(ctx, b.ID)
	if err != nil || got.Objects != 1 || got.Bytes != int64(len(body)) {
		t.Fatalf("read: %+v, %v", got, err)
	}
	var notEmpty *provider.NotEmptyError
	if err := c.Buckets.DeleteBucket(ctx, b.ID); !errors.As(err, &notEmpty) {
		t.Fatalf("deleting a bucket with objects: %v, want NotEmptyError", err)
	}
	if err := s3.RemoveObject(ctx, b.Name, "cache/a.png", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Buckets.DeleteBucket(ctx, b.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.Buckets.Bucket(ctx, b.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("read after delete: %v, want ErrNotFound", err)
	}
}

// DNS checks create, read, in-place update and delete of a record.
func DNS(t *testing.T, d provider.DNS, zone string) {
	ctx := ctx(t)
	rec, err := d.CreateRecord(ctx, provider.RecordSpec{Zone: zone, Name: "social", Type: "A", Target: "192.0.2.10", TTL: 300})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	got, err := d.Record(ctx, zone, rec.ID)
	if err != nil || got.Target != "192.0.2.10" || got.Name != "social" || got.TTL != 300 {
		t.Fatalf("read: %+v, %v", got, err)
	}
	updated, err := d.UpdateRecord(ctx, rec.ID, provider.RecordSpec{Zone: zone, Name: "social", Type: "A", Target: "192.0.2.20", TTL: 60})
	if err != nil || updated.ID != rec.ID || updated.Target != "192.0.2.20" || updated.TTL != 60 {
		t.Fatalf("update: %+v, %v", updated, err)
	}
	if err := d.DeleteRecord(ctx, zone, rec.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := d.Record(ctx, zone, rec.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("read after delete: %v, want ErrNotFound", err)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// createTable logs in as the user with its password, over the engine's own
// protocol, and creates a table in its database.
func createTable(t *testing.T, ctx context.Context, engine string, db *provider.Database, user, password, name string) {
	t.Helper()
	if engine == "mysql" || engine == "mariadb" {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, password, "tcp", net.JoinHostPort(db.Host, strconv.Itoa(db.Port)), name
		if db.SSLMode != "disable" {
			cfg.TLSConfig = "true"
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		sqlDB := sql.OpenDB(conn)
		defer sqlDB.Close()
		if err := sqlDB.PingContext(ctx); err != nil {
			t.Fatalf("the user cannot log in with the password given: %v", err)
		}
		if _, err := sqlDB.ExecContext(ctx, "CREATE TABLE episodes (id BIGINT AUTO_INCREMENT PRIMARY KEY, title TEXT)"); err != nil {
			t.Fatalf("the user cannot create a table: %v", err)
		}
		return
	}
	dsn := (&url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: db.Host + ":" + strconv.Itoa(db.Port), Path: "/" + name, RawQuery: "sslmode=" + orDefault(db.SSLMode, "require")}).String()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("the user cannot log in with the password given: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE accounts (id bigserial primary key, username text)"); err != nil {
		t.Fatalf("the user cannot create a table: %v", err)
	}
}

// LeftoverCase is what the leftovers contract needs: a provider that can
// make servers and buckets, and find them by name.
type LeftoverCase struct {
	Leftovers provider.Leftovers
	Servers   provider.Servers
	Region    string
	Flavor    string
	Image     string
	// Buckets and Databases, where the provider finds those too.
	Buckets   provider.Buckets
	Databases provider.Databases
	Database  provider.DatabaseSpec
}

// Leftovers checks that a server, a database and a bucket no state
// records are found by name, that recorded ones (known), other kinds and
// other names are not, and that removing what was found leaves nothing.
func Leftovers(t *testing.T, c LeftoverCase) {
	ctx := ctx(t)
	s, err := c.Servers.CreateServer(ctx, provider.ServerSpec{Name: "contract-orphan", Region: c.Region, Flavor: c.Flavor, Image: c.Image})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := c.Servers.CreateServer(ctx, provider.ServerSpec{Name: "contract-orphan", Region: c.Region, Flavor: c.Flavor, Image: c.Image})
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{kept.ID: true}
	found, err := c.Leftovers.Leftovers(ctx, provider.KindServer, c.Region, "contract-orphan", known)
	if err != nil || len(found) != 1 || found[0].ID != s.ID || found[0].Kind != provider.KindServer {
		t.Fatalf("server leftovers = %v, %v; want only %s", found, err, s.ID)
	}
	if other, err := c.Leftovers.Leftovers(ctx, provider.KindServer, c.Region, "contract-other", known); err != nil || len(other) != 0 {
		t.Fatalf("leftovers of another name = %v, %v", other, err)
	}
	if err := c.Leftovers.RemoveLeftover(ctx, found[0]); err != nil {
		t.Fatalf("removing %v: %v", found[0], err)
	}
	if _, err := c.Servers.Server(ctx, s.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("the removed leftover still reads: %v", err)
	}
	if _, err := c.Servers.Server(ctx, kept.ID); err != nil {
		t.Fatalf("the recorded server went too: %v", err)
	}

	if c.Databases != nil {
		leftoverDatabase(t, ctx, c)
	}
	if c.Buckets != nil {
		leftoverBucket(t, ctx, c)
	}
}

func leftoverDatabase(t *testing.T, ctx context.Context, c LeftoverCase) {
	db, _, err := c.Databases.CreateDatabase(ctx, c.Database)
	if err != nil {
		t.Fatal(err)
	}
	name := c.Database.Name
	if none, err := c.Leftovers.Leftovers(ctx, provider.KindDatabase, c.Region, name, map[string]bool{db.ID: true}); err != nil || len(none) != 0 {
		t.Fatalf("a recorded database counted as a leftover: %v, %v", none, err)
	}
	if servers, err := c.Leftovers.Leftovers(ctx, provider.KindServer, c.Region, name, nil); err != nil || len(servers) != 0 {
		t.Fatalf("a database counted as a leftover server: %v, %v", servers, err)
	}
	found, err := c.Leftovers.Leftovers(ctx, provider.KindDatabase, c.Region, name, nil)
	if err != nil || len(found) != 1 || found[0].ID != db.ID {
		t.Fatalf("database leftovers = %v, %v; want %s alone", found, err, db.ID)
	}
	if err := c.Leftovers.RemoveLeftover(ctx, found[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Databases.Database(ctx, db.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("the removed database still reads: %v", err)
	}
	if after, err := c.Leftovers.Leftovers(ctx, provider.KindDatabase, c.Region, name, nil); err != nil || len(after) != 0 {
		t.Fatalf("after removing the database, left: %v, %v", after, err)
	}
}

func leftoverBucket(t *testing.T, ctx context.Context, c LeftoverCase) {
	b, _, err := c.Buckets.CreateBucket(ctx, provider.BucketSpec{Name: "contract-orphan-media", Region: c.Region})
	if err != nil {
		t.Fatal(err)
	}
	if none, err := c.Leftovers.Leftovers(ctx, provider.KindBucket, c.Region, b.Name, map[string]bool{b.ID: true}); err != nil || len(none) != 0 {
		t.Fatalf("a recorded bucket and its own user counted as leftovers: %v, %v", none, err)
	}
	found, err := c.Leftovers.Leftovers(ctx, provider.KindBucket, c.Region, b.Name, nil)
	if err != nil || len(found) != 1 || found[0].ID != b.ID {
		t.Fatalf("bucket leftovers = %v, %v; want %s alone (its user owns it)", found, err, b.ID)
	}
	if err := c.Leftovers.RemoveLeftover(ctx, found[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Buckets.Bucket(ctx, b.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("the removed bucket still reads: %v", err)
	}
	if after, err := c.Leftovers.Leftovers(ctx, provider.KindBucket, c.Region, b.Name, nil); err != nil || len(after) != 0 {
		t.Fatalf("after removing the bucket, left: %v, %v", after, err)
	}
}
