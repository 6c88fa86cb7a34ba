package digitalocean_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/digitalocean"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/dosim"
	"github.com/cosocial/cosocial/pkg/sandbox/dosim/dosimtest"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
)

// quick is a backoff that keeps retries fast but as many as in use.
var quick = provider.Backoff{Attempts: provider.DefaultBackoff.Attempts, Base: 5 * time.Millisecond, Max: 50 * time.Millisecond}

func cloud(t *testing.T, endpoint, token string, perPage int) *digitalocean.Cloud {
	t.Helper()
	c, err := digitalocean.New(digitalocean.Config{Endpoint: endpoint, Token: token, PerPage: perPage, Poll: 20 * time.Millisecond, Timeout: time.Minute, Backoff: quick})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestInventory seeds what CoSocial runs — a droplet, a PostgreSQL
// cluster, a domain with records — and reads it all back, two items a
// page.
func TestInventory(t *testing.T) {
	ctx := context.Background()
	pg := dosimtest.NewPostgres(t)
	sim := dosimtest.Start(t, dosim.Options{Backends: dosim.Backends{Databases: pg}})
	c := cloud(t, sim.URL, dosimtest.Token, 2)

	drop, err := c.CreateDroplet(ctx, digitalocean.DropletSpec{Name: "mastodon", Region: "tor1", Size: "s-4vcpu-8gb", Image: "debian-12-x64", UserData: "#cloud-config\n"})
	if err != nil {
		t.Fatal(err)
	}
	db, err := c.CreateDatabase(ctx, digitalocean.DatabaseSpec{Name: "cosocial-main", Version: "16", Size: "db-s-2vcpu-4gb", Region: "tor1", StorageMiB: 61440})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDomain(ctx, "cosocial.ca"); err != nil {
		t.Fatal(err)
	}
	apex, err := c.CreateRecord(ctx, "cosocial.ca", digitalocean.RecordSpec{Type: "A", Name: "@", Data: drop.PublicIPv4, TTL: 3600})
	if err != nil {
		t.Fatal(err)
	}
	media, err := c.CreateRecord(ctx, "cosocial.ca", digitalocean.RecordSpec{Type: "CNAME", Name: "media", Data: "cosocial-media.tor1.cdn.digitaloceanspaces.com.", TTL: 300})
	if err != nil {
		t.Fatal(err)
	}

	inv, err := c.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Droplets) != 1 || len(inv.Databases) != 1 || len(inv.Domains) != 1 {
		t.Fatalf("inventory: %+v", inv)
	}
	d := inv.Droplets[0]
	want := digitalocean.Droplet{ID: drop.ID, Name: "mastodon", Size: "s-4vcpu-8gb", Region: "tor1", Status: "active", Image: "debian-12-x64",
		PublicIPv4: drop.PublicIPv4, PrivateIPv4: drop.PrivateIPv4, VCPUs: 4, MemoryMB: 8192, DiskGB: 160}
	if d != want || !strings.HasPrefix(d.PublicIPv4, "198.51.100.") || !strings.HasPrefix(d.PrivateIPv4, "10.") {
		t.Errorf("droplet:\n got %+v\nwant %+v", d, want)
	}

	got := inv.Databases[0]
	if got.ID != db.ID || got.Name != "cosocial-main" || got.Engine != "pg" || got.Version != "16" || got.Size != "db-s-2vcpu-4gb" ||
		got.Region != "tor1" || got.Nodes != 1 || got.Status != "online" || got.StorageBytes != 60<<30 || got.StorageGB() != 60 ||
		got.Host != "127.0.0.1" || got.Port == 0 || got.PrivateHost != got.Host || got.User != "doadmin" || got.DBName != "defaultdb" {
		t.Errorf("database: %+v", got)
	}
	secrets := got.Secrets()
	if secrets.Password == "" || !strings.Contains(secrets.URI, secrets.Password) || secrets.PrivateURI == "" {
		t.Fatalf("the database's secrets are missing")
	}
	printed, _ := json.Marshal(inv)
	for _, s := range []string{fmt.Sprintf("%v", inv), fmt.Sprintf("%+v", inv), fmt.Sprintf("%#v", inv), fmt.Sprint(secrets), string(printed), fmt.Sprintf("%+v", secrets)} {
		if strings.Contains(s, secrets.Password) {
			t.Fatalf("the admin password shows when printed: %s", s)
		}
	}
	conn, err := pgx.Connect(ctx, secrets.URI)
	if err != nil {
		t.Fatalf("the inventory's connection does not connect: %v", err)
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("SELECT 1: %d %v", one, err)
	}
	conn.Close(ctx)

	dom := inv.Domains[0]
	if dom.Name != "cosocial.ca" || dom.TTL != 1800 {
		t.Errorf("domain: %+v", dom)
	}
	byID := map[int]digitalocean.Record{}
	types := map[string]int{}
	for _, r := range dom.Records {
		if _, dup := byID[r.ID]; dup {
			t.Errorf("record %d listed twice", r.ID)
		}
		byID[r.ID] = r
		types[r.Type]++
	}
	if len(dom.Records) != 6 || types["SOA"] != 1 || types["NS"] != 3 {
		t.Errorf("records: %+v", dom.Records)
	}
	if r := byID[apex.ID]; r != (digitalocean.Record{ID: apex.ID, Type: "A", Name: "@", Data: drop.PublicIPv4, TTL: 3600}) {
		t.Errorf("apex record: %+v", r)
	}
	if r := byID[media.ID]; r != (digitalocean.Record{ID: media.ID, Type: "CNAME", Name: "media", Data: "cosocial-media.tor1.cdn.digitaloceanspaces.com.", TTL: 300}) {
		t.Errorf("media record: %+v", r)
	}
	// Two a page: the records took three requests.
	pages := 0
	for _, r := range sim.Requests() {
		if strings.HasPrefix(r.Path, "/v2/domains/cosocial.ca/records?") && r.Method == http.MethodGet {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("records were read in %d requests, want 3", pages)
	}
}

// TestInventoryRidesOutRateLimits lists seven droplets two a page while
// the API answers 429 first and then one request in three with 429, 500
// or 503: every droplet is seen exactly once.
func TestInventoryRidesOutRateLimits(t *testing.T) {
	ctx := context.Background()
	sim := dosimtest.Start(t, dosim.Options{})
	c := cloud(t, sim.URL, dosimtest.Token, 2)
	seeded := map[int]bool{}
	for i := range 7 {
		d, err := c.CreateDroplet(ctx, digitalocean.DropletSpec{Name: fmt.Sprintf("web-%d", i), Region: "tor1", Size: "s-1vcpu-1gb", Image: "debian-12-x64"})
		if err != nil {
			t.Fatal(err)
		}
		seeded[d.ID] = true
	}
	before := len(sim.Requests())
	sim.SetFaults(dosim.Faults{Burst: 2, Rate: 0.33, Codes: []int{429, 500, 503}, Seed: 7})
	inv, err := c.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Droplets) != len(seeded) {
		t.Fatalf("%d droplets, want %d", len(inv.Droplets), len(seeded))
	}
	for _, d := range inv.Droplets {
		if !seeded[d.ID] {
			t.Errorf("droplet %d seen twice or never seeded", d.ID)
		}
		delete(seeded, d.ID)
	}
	limited, failed := 0, 0
	for _, r := range sim.Requests()[before:] {
		switch {
		case r.Status == http.StatusTooManyRequests:
			limited++
		case r.Status >= 500:
			failed++
		}
	}
	if limited < 2 || failed == 0 {
		t.Errorf("the storm did not happen: %d answered 429, %d 5xx", limited, failed)
	}
}

func TestErrorsCarryDigitalOceansMessageAndRequestID(t *testing.T) {
	ctx := context.Background()
	sim := dosimtest.Start(t, dosim.Options{})
	_, err := cloud(t, sim.URL, "dop_v1_wrong", 0).Inventory(ctx)
	var api *provider.APIError
	if !errors.As(err, &api) || api.Status != http.StatusUnauthorized || api.Message != "Unable to authenticate you" {
		t.Fatalf("bad token: %v", err)
	}
	reqs := sim.Requests()
	if len(reqs) != 1 || api.QueryID != reqs[0].RequestID || !strings.Contains(err.Error(), reqs[0].RequestID) {
		t.Fatalf("a 401 is not retried and names its request: %v, log %+v", err, reqs)
	}
	if strings.Contains(err.Error(), dosimtest.Token) || strings.Contains(err.Error(), "dop_v1_wrong") {
		t.Fatalf("the token shows in the error: %v", err)
	}

	c := cloud(t, sim.URL, dosimtest.Token, 0)
	_, err = c.Droplet(ctx, 12345)
	if !errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), "could not be found") {
		t.Fatalf("missing droplet: %v", err)
	}
	_, err = c.CreateDroplet(ctx, digitalocean.DropletSpec{Name: "web", Region: "tor1", Size: "s-64vcpu", Image: "debian-12-x64"})
	if !errors.As(err, &api) || api.Status != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "s-1vcpu-1gb") {
		t.Fatalf("invalid size: %v", err)
	}
}

func TestTokenAndEndpointFromTheEnvironment(t *testing.T) {
	sim := dosimtest.Start(t, dosim.Options{})
	t.Setenv(digitalocean.TokenEnv, "")
	t.Setenv(digitalocean.EndpointEnv, "")
	if _, err := digitalocean.New(digitalocean.Config{}); err == nil || !strings.Contains(err.Error(), "DIGITALOCEAN_TOKEN") {
		t.Fatalf("no token: %v", err)
	}
	t.Setenv(digitalocean.TokenEnv, dosimtest.Token)
	c, err := digitalocean.New(digitalocean.Config{})
	if err != nil || c.Endpoint() != digitalocean.DefaultEndpoint {
		t.Fatalf("default endpoint: %v %v", c, err)
	}
	t.Setenv(digitalocean.EndpointEnv, strings.TrimSuffix(sim.URL, "/"))
	c, err = digitalocean.New(digitalocean.Config{})
	if err != nil || c.Endpoint() != sim.URL {
		t.Fatalf("endpoint from %s: %v", digitalocean.EndpointEnv, err)
	}
	if _, err := c.Inventory(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.Requests()); n != 3 {
		t.Errorf("the inventory did not reach the simulator: %d requests", n)
	}
}

// TestSandboxServesDigitalOcean reaches the sandbox's DigitalOcean through
// the environment it hands out, and finds its records again after a
// restart on the same port.
func TestSandboxServesDigitalOcean(t *testing.T) {
	ctx := context.Background()
	dir := pgserver.TempDir(t)
	sb, err := sandbox.Start(ctx, sandbox.Options{Dir: dir, NoBackends: true, Timing: sandboxtest.Fast})
	if err != nil {
		t.Fatal(err)
	}
	env := sb.Env()
	if env["DIGITALOCEAN_TOKEN"] != sb.DOToken || env["COSOCIAL_DIGITALOCEAN_ENDPOINT"] != sb.DOEndpoint() || env["OVH_CONSUMER_KEY"] == "" {
		t.Fatalf("env: %v", env)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	c, err := digitalocean.New(digitalocean.Config{Poll: 20 * time.Millisecond, Backoff: quick})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.CreateDroplet(ctx, digitalocean.DropletSpec{Name: "mastodon", Region: "tor1", Size: "s-2vcpu-4gb", Image: "debian-12-x64"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateDatabase(ctx, digitalocean.DatabaseSpec{Name: "main", Size: "db-s-1vcpu-1gb", Region: "tor1"})
	if err == nil || !strings.Contains(err.Error(), "started without one for postgresql") {
		t.Fatalf("a database without backends: %v", err)
	}
	endpoint := sb.DOEndpoint()
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}

	sb, err = sandbox.Start(ctx, sandbox.Options{Dir: dir, NoBackends: true, Timing: sandboxtest.Fast})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if sb.DOEndpoint() != endpoint {
		t.Errorf("endpoint moved from %s to %s", endpoint, sb.DOEndpoint())
	}
	inv, err := cloud(t, sb.DOEndpoint(), sb.DOToken, 0).Inventory(ctx)
	if err != nil || len(inv.Droplets) != 1 || inv.Droplets[0].ID != d.ID || inv.Droplets[0].Status != "active" {
		t.Fatalf("after restart: %+v %v", inv, err)
	}
}

// TestSandboxDatabaseAndSpaces uses the sandbox's real servers: a managed
// database that accepts its doadmin, and a Spaces key whose bucket's usage
// is counted.
func TestSandboxDatabaseAndSpaces(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.Start(t, sandbox.Options{})
	c := cloud(t, sb.DOEndpoint(), sb.DOToken, 0)
	db, err := c.CreateDatabase(ctx, digitalocean.DatabaseSpec{Name: "main", Version: "15", Size: "db-s-1vcpu-2gb", Region: "tor1"})
	if err != nil {
		t.Fatal(err)
	}
	if db.StorageGB() != 30 || db.Status != "online" {
		t.Errorf("database: %+v", db)
	}
	// DigitalOcean's clusters take TLS only: the URI says so, and the
	// connection it makes is encrypted, as the migration's will be.
	if !strings.Contains(db.Secrets().URI, "sslmode=require") {
		t.Errorf("the URI does not ask for TLS")
	}
	conn, err := pgx.Connect(ctx, db.Secrets().URI)
	if err != nil {
		t.Fatalf("connect as doadmin: %v", err)
	}
	var encrypted bool
	if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&encrypted); err != nil || !encrypted {
		t.Errorf("the connection is not encrypted: %v, %v", encrypted, err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE accounts (id bigint)"); err != nil {
		t.Errorf("doadmin cannot create in defaultdb: %v", err)
	}
	conn.Close(ctx)

	// DigitalOcean's API issues Spaces keys; the bucket is made over S3.
	if err := sb.CreateSpacesBucket(ctx, "cosocial-media"); err != nil {
		t.Fatal(err)
	}
	api, err := godo.New(http.DefaultClient, godo.SetBaseURL(sb.DOEndpoint()), godo.SetRequestHeaders(map[string]string{"Authorization": "Bearer " + sb.DOToken}))
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := api.SpacesKeys.Create(ctx, &godo.SpacesKeyCreateRequest{Name: "mastodon", Grants: []*godo.Grant{{Bucket: "cosocial-media", Permission: godo.SpacesKeyReadWrite}}})
	if err != nil {
		t.Fatal(err)
	}
	bucket := objectstore.Bucket{Endpoint: sb.DO.SpacesEndpoint(), Name: "cosocial-media", AccessKey: key.AccessKey, SecretKey: key.SecretKey}
	mc, err := bucket.Client()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for i, body := range []string{"one", "twenty", "three hundred"} {
		if _, err := mc.PutObject(ctx, bucket.Name, fmt.Sprintf("media/%d", i), strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		total += int64(len(body))
	}
	usage, err := digitalocean.BucketUsage(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	if usage != (digitalocean.SpacesUsage{Bucket: "cosocial-media", Endpoint: sb.SpacesEndpoint(), Objects: 3, Bytes: total}) {
		t.Errorf("usage: %+v, want 3 objects and %d bytes", usage, total)
	}
}
