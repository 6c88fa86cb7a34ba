package dosim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/cosocial/cosocial/pkg/sandbox/dosim"
	"github.com/cosocial/cosocial/pkg/sandbox/dosim/dosimtest"
)

func client(t *testing.T, url, token string) *godo.Client {
	t.Helper()
	c, err := godo.New(&http.Client{Timeout: 30 * time.Second}, godo.SetBaseURL(url), godo.SetRequestHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func start(t *testing.T, opts dosim.Options) (*dosimtest.Sim, *godo.Client) {
	t.Helper()
	sim := dosimtest.Start(t, opts)
	return sim, client(t, sim.URL, dosimtest.Token)
}

// apiErr checks that err is DigitalOcean's error with this status and that
// the request ID in the body is the one in the header.
func apiErr(t *testing.T, err error, status int, message string) *godo.ErrorResponse {
	t.Helper()
	var e *godo.ErrorResponse
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a godo.ErrorResponse", err)
	}
	if e.Response.StatusCode != status || !strings.Contains(e.Message, message) {
		t.Fatalf("error = %d %q, want %d containing %q", e.Response.StatusCode, e.Message, status, message)
	}
	if e.RequestID == "" || e.RequestID != e.Response.Header.Get("x-request-id") {
		t.Fatalf("request_id %q, header %q", e.RequestID, e.Response.Header.Get("x-request-id"))
	}
	return e
}

// raw sends a request without godo, to see the body's exact shape.
func raw(t *testing.T, method, url, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

func wantErrorBody(t *testing.T, resp *http.Response, body map[string]any, status int, id, message string) {
	t.Helper()
	if resp.StatusCode != status || body["id"] != id || body["message"] != message {
		t.Fatalf("got %d %v, want %d id=%s message=%q", resp.StatusCode, body, status, id, message)
	}
	if rid, _ := body["request_id"].(string); rid == "" || rid != resp.Header.Get("x-request-id") || len(body) != 3 {
		t.Fatalf("body %v, x-request-id %q: want exactly id, message and the header's request_id", body, resp.Header.Get("x-request-id"))
	}
}

func TestDropletLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	sim, c := start(t, dosim.Options{Clock: func() time.Time { return now }, Timing: dosim.Timing{DropletBuild: 30 * time.Second}})
	d, resp, err := c.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "mastodon", Region: "tor1", Size: "s-2vcpu-4gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}, Tags: []string{"cosocial"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || d.Status != "new" || len(d.Networks.V4) != 0 || len(resp.Links.Actions) != 1 {
		t.Fatalf("create: %d %+v %+v", resp.StatusCode, d, resp.Links)
	}
	now = now.Add(31 * time.Second)
	got, _, err := c.Droplets.Get(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := got.PublicIPv4()
	priv, _ := got.PrivateIPv4()
	if got.Status != "active" || got.Name != "mastodon" || got.SizeSlug != "s-2vcpu-4gb" || got.Region.Slug != "tor1" ||
		got.Image.Slug != "debian-12-x64" || pub == "" || priv == "" || pub == priv || got.Vcpus != 2 || got.Memory != 4096 || got.Disk != 80 {
		t.Fatalf("active droplet: %+v (public %s, private %s)", got, pub, priv)
	}
	list, _, err := c.Droplets.List(ctx, nil)
	if err != nil || len(list) != 1 || list[0].ID != d.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := c.Droplets.Delete(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Droplets.Get(ctx, d.ID)
	apiErr(t, err, http.StatusNotFound, "could not be found")
	r, body := raw(t, http.MethodGet, sim.URL+"v2/droplets/"+itoa(d.ID), dosimtest.Token)
	wantErrorBody(t, r, body, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
	var logged bool
	for _, req := range sim.Requests() {
		logged = logged || (req.Method == http.MethodDelete && req.Path == "/v2/droplets/"+itoa(d.ID) && req.Status == http.StatusNoContent)
	}
	if !logged {
		t.Errorf("the request log lacks the delete: %+v", sim.Requests())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestInvalidInputIs422WithAUsefulMessage(t *testing.T) {
	_, c := start(t, dosim.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		req  godo.DropletCreateRequest
		want string
	}{
		{godo.DropletCreateRequest{Name: "web", Region: "tor1", Size: "s-99vcpu", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}}, "s-1vcpu-1gb"},
		{godo.DropletCreateRequest{Name: "web", Region: "mars1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}}, "tor1, nyc3"},
		{godo.DropletCreateRequest{Name: "web", Region: "tor1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "windows"}}, "debian-12-x64"},
		{godo.DropletCreateRequest{Name: "", Region: "tor1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}}, "Name is required"},
	} {
		_, _, err := c.Droplets.Create(ctx, &tc.req)
		apiErr(t, err, http.StatusUnprocessableEntity, tc.want)
	}
	_, _, err := c.Databases.Create(ctx, &godo.DatabaseCreateRequest{Name: "main", EngineSlug: "pg", Version: "16", SizeSlug: "db-s-2vcpu-4gb", Region: "tor1", NumNodes: 1})
	apiErr(t, err, http.StatusUnprocessableEntity, "started without one for postgresql")
	_, _, err = c.Databases.Create(ctx, &godo.DatabaseCreateRequest{Name: "main", EngineSlug: "pg", Version: "9", SizeSlug: "db-s-2vcpu-4gb", Region: "tor1", NumNodes: 1})
	apiErr(t, err, http.StatusUnprocessableEntity, "available: 13, 14, 15, 16, 17")
	_, _, err = c.Domains.Create(ctx, &godo.DomainCreateRequest{Name: "not a domain"})
	apiErr(t, err, http.StatusUnprocessableEntity, "not a valid domain name")
}

func TestBadTokenIs401(t *testing.T) {
	sim, _ := start(t, dosim.Options{})
	bad := client(t, sim.URL, "dop_v1_wrong")
	_, _, err := bad.Account.Get(context.Background())
	apiErr(t, err, http.StatusUnauthorized, "Unable to authenticate you")
	r, body := raw(t, http.MethodGet, sim.URL+"v2/account", "")
	wantErrorBody(t, r, body, http.StatusUnauthorized, "unauthorized", "Unable to authenticate you")
	acct, _, err := client(t, sim.URL, dosimtest.Token).Account.Get(context.Background())
	if err != nil || acct.Status != "active" {
		t.Fatalf("account with the right token: %+v %v", acct, err)
	}
}

func TestRateLimitHeadersAndInjected429(t *testing.T) {
	sim, c := start(t, dosim.Options{Faults: dosim.Faults{Burst: 1}})
	_, resp, err := c.Account.Get(context.Background())
	apiErr(t, err, http.StatusTooManyRequests, "API Rate limit exceeded.")
	if resp.Rate.Limit != dosim.RateLimit || resp.Rate.Remaining != 0 || resp.Rate.Reset.IsZero() {
		t.Fatalf("429 rate: %+v", resp.Rate)
	}
	_, resp, err = c.Account.Get(context.Background())
	if err != nil || resp.Rate.Limit != dosim.RateLimit || resp.Rate.Remaining != dosim.RateLimit-2 || resp.Header.Get("x-request-id") == "" {
		t.Fatalf("after the burst: %+v %v", resp.Rate, err)
	}
	r, body := raw(t, http.MethodGet, sim.URL+"v2/nothing-here", dosimtest.Token)
	wantErrorBody(t, r, body, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
	if r.Header.Get("RateLimit-Remaining") != "4997" {
		t.Errorf("RateLimit-Remaining = %q", r.Header.Get("RateLimit-Remaining"))
	}
}

// TestPagination walks droplets, domains and records two at a time,
// following godo's links, and sees each exactly once.
func TestPagination(t *testing.T) {
	sim, c := start(t, dosim.Options{})
	ctx := context.Background()
	want := map[int]bool{}
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		d, _, err := c.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: name, Region: "tor1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}})
		if err != nil {
			t.Fatal(err)
		}
		want[d.ID] = true
	}
	seen := map[int]int{}
	opt := &godo.ListOptions{PerPage: 2, Page: 1}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		ds, resp, err := c.Droplets.List(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Meta.Total != 5 || len(ds) > 2 {
			t.Fatalf("page %d: meta %+v, %d droplets", opt.Page, resp.Meta, len(ds))
		}
		for _, d := range ds {
			seen[d.ID]++
		}
		if p := resp.Links.Pages; p != nil && (p.Next != "" && !strings.HasPrefix(p.Next, sim.URL) || p.Prev != "" && !strings.HasPrefix(p.Prev, sim.URL)) {
			t.Fatalf("links are not absolute URLs of the API: %+v", p)
		}
		if resp.Links.IsLastPage() {
			if opt.Page != 3 || resp.Links.Pages.First == "" || resp.Links.Pages.Last != "" {
				t.Fatalf("last page %d: %+v", opt.Page, resp.Links.Pages)
			}
			break
		}
		cur, err := resp.Links.CurrentPage()
		if err != nil || cur != opt.Page {
			t.Fatalf("CurrentPage = %d, %v; asked for %d", cur, err, opt.Page)
		}
		opt.Page = cur + 1
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("droplet %d seen %d times", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("seen %v, want %v", seen, want)
	}

	// A domain starts with SOA and three NS records; add three more.
	if _, _, err := c.Domains.Create(ctx, &godo.DomainCreateRequest{Name: "example.ca"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"www", "media", "files"} {
		if _, _, err := c.Domains.CreateRecord(ctx, "example.ca", &godo.DomainRecordEditRequest{Type: "A", Name: name, Data: "203.0.113.9", TTL: 300}); err != nil {
			t.Fatal(err)
		}
	}
	records := map[int]int{}
	opt = &godo.ListOptions{PerPage: 2, Page: 1}
	for pages := 0; pages < 10; pages++ {
		rs, resp, err := c.Domains.Records(ctx, "example.ca", opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			records[r.ID]++
		}
		if resp.Links.IsLastPage() {
			break
		}
		cur, _ := resp.Links.CurrentPage()
		opt.Page = cur + 1
	}
	if len(records) != 7 {
		t.Errorf("records seen: %v, want 7 distinct", records)
	}
	for id, n := range records {
		if n != 1 {
			t.Errorf("record %d seen %d times", id, n)
		}
	}
	// One page that holds everything has no page links.
	_, resp, err := c.Domains.List(ctx, nil)
	if err != nil || !resp.Links.IsLastPage() || resp.Links.Pages != nil || resp.Meta.Total != 1 {
		t.Fatalf("single page: %+v %+v %v", resp.Links, resp.Meta, err)
	}
	r, body := raw(t, http.MethodGet, sim.URL+"v2/droplets?per_page=zero", dosimtest.Token)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body["message"].(string), "per_page") {
		t.Errorf("bad per_page: %d %v", r.StatusCode, body)
	}
}

func TestDomainRecords(t *testing.T) {
	_, c := start(t, dosim.Options{})
	ctx := context.Background()
	dom, resp, err := c.Domains.Create(ctx, &godo.DomainCreateRequest{Name: "cosocial.ca", IPAddress: "203.0.113.10"})
	if err != nil || resp.StatusCode != http.StatusCreated || dom.Name != "cosocial.ca" || dom.TTL != dosim.DefaultTTL {
		t.Fatalf("create domain: %+v %v", dom, err)
	}
	apex, _, err := c.Domains.RecordsByTypeAndName(ctx, "cosocial.ca", "A", "cosocial.ca", nil)
	if err != nil || len(apex) != 1 || apex[0].Data != "203.0.113.10" || apex[0].Name != "@" {
		t.Fatalf("apex A record from ip_address: %+v %v", apex, err)
	}
	rec, _, err := c.Domains.CreateRecord(ctx, "cosocial.ca", &godo.DomainRecordEditRequest{Type: "CNAME", Name: "media", Data: "files.cosocial.ca.", TTL: 300})
	if err != nil || rec.ID == 0 || rec.TTL != 300 || rec.Type != "CNAME" {
		t.Fatalf("create record: %+v %v", rec, err)
	}
	mx, _, err := c.Domains.CreateRecord(ctx, "cosocial.ca", &godo.DomainRecordEditRequest{Type: "MX", Name: "@", Data: "mail.cosocial.ca.", Priority: 10})
	if err != nil || mx.Priority != 10 || mx.TTL != dosim.DefaultTTL {
		t.Fatalf("MX record: %+v %v", mx, err)
	}
	edited, _, err := c.Domains.EditRecord(ctx, "cosocial.ca", rec.ID, &godo.DomainRecordEditRequest{TTL: 3600})
	if err != nil || edited.TTL != 3600 || edited.Data != "files.cosocial.ca." || edited.Name != "media" {
		t.Fatalf("edit: %+v %v", edited, err)
	}
	got, _, err := c.Domains.Record(ctx, "cosocial.ca", rec.ID)
	if err != nil || *got != *edited {
		t.Fatalf("get: %+v %v", got, err)
	}
	_, _, err = c.Domains.CreateRecord(ctx, "cosocial.ca", &godo.DomainRecordEditRequest{Type: "A", Name: "www", Data: "not-an-ip"})
	apiErr(t, err, http.StatusUnprocessableEntity, "not an IPv4 address")
	_, _, err = c.Domains.EditRecord(ctx, "cosocial.ca", rec.ID, &godo.DomainRecordEditRequest{TTL: 5})
	apiErr(t, err, http.StatusUnprocessableEntity, "ttl 5 is too low")
	full, _, err := c.Domains.Get(ctx, "cosocial.ca")
	if err != nil || !strings.Contains(full.ZoneFile, "media 3600 IN CNAME files.cosocial.ca.") {
		t.Fatalf("zone file: %q %v", full.ZoneFile, err)
	}
	if _, err := c.Domains.DeleteRecord(ctx, "cosocial.ca", rec.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Domains.Record(ctx, "cosocial.ca", rec.ID)
	apiErr(t, err, http.StatusNotFound, "could not be found")
	if _, err := c.Domains.Delete(ctx, "cosocial.ca"); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Domains.Records(ctx, "cosocial.ca", nil)
	apiErr(t, err, http.StatusNotFound, "could not be found")
}

func TestRecordsSurviveARestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "digitalocean.json")
	ctx := context.Background()
	first, err := dosim.New(dosim.Options{Token: "t", StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(first.Handler())
	c := client(t, srv.URL+"/", "t")
	d, _, err := c.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "web", Region: "tor1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Domains.Create(ctx, &godo.DomainCreateRequest{Name: "example.ca"}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := dosim.New(dosim.Options{Token: "t", StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	srv = httptest.NewServer(second.Handler())
	defer srv.Close()
	c = client(t, srv.URL+"/", "t")
	got, _, err := c.Droplets.Get(ctx, d.ID)
	if err != nil || got.Name != "web" {
		t.Fatalf("droplet after restart: %+v %v", got, err)
	}
	again, _, err := c.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "web2", Region: "tor1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}})
	if err != nil || again.ID == d.ID {
		t.Fatalf("a new droplet after restart reuses an ID: %+v %v", again, err)
	}
	if _, _, err := c.Domains.Get(ctx, "example.ca"); err != nil {
		t.Fatalf("domain after restart: %v", err)
	}
}

// waitStatus polls a database until it shows status.
func waitStatus(t *testing.T, c *godo.Client, id, status string) *godo.Database {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, _, err := c.Databases.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if db.Status == status {
			return db
		}
		if time.Now().After(deadline) || db.Status == "error" {
			t.Fatalf("database %s is %s, waited for %s", id, db.Status, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDatabaseIsRealPostgreSQL(t *testing.T) {
	backend := dosimtest.NewPostgres(t)
	// Resizing lasts long enough for the status to be read between.
	timing := dosim.Timing{DatabaseCreate: 60 * time.Millisecond, DatabaseResize: 5 * time.Second}
	_, c := start(t, dosim.Options{Timing: timing, Backends: dosim.Backends{Databases: backend}})
	ctx := context.Background()
	db, resp, err := c.Databases.Create(ctx, &godo.DatabaseCreateRequest{
		Name: "cosocial-main", EngineSlug: "pg", Version: "16", SizeSlug: "db-s-2vcpu-4gb", Region: "tor1", NumNodes: 1, StorageSizeMib: 61440,
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || db.Status != "creating" || db.Connection.User != "doadmin" || db.Connection.Password == "" {
		t.Fatalf("create: %d %+v", resp.StatusCode, db)
	}
	db = waitStatus(t, c, db.ID, "online")
	conn := db.Connection
	if conn.Host == "" || conn.Port == 0 || conn.Database != "defaultdb" || db.PrivateConnection == nil || db.PrivateConnection.URI != conn.URI ||
		db.EngineSlug != "pg" || db.VersionSlug != "16" || db.SizeSlug != "db-s-2vcpu-4gb" || db.RegionSlug != "tor1" || db.NumNodes != 1 || db.StorageSizeMib != 61440 {
		t.Fatalf("online: %+v %+v", db, conn)
	}
	pg, err := pgx.Connect(ctx, conn.URI)
	if err != nil {
		t.Fatalf("the connection the API gave does not connect: %v", err)
	}
	defer pg.Close(ctx)
	var user string
	if _, err := pg.Exec(ctx, "CREATE TABLE statuses (id bigint)"); err != nil {
		t.Fatalf("doadmin cannot create a table in defaultdb: %v", err)
	}
	if err := pg.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != "doadmin" {
		t.Fatalf("current_user = %q, %v", user, err)
	}
	// DigitalOcean's doadmin may replicate: a low-downtime move's
	// publication and slot are made with it.
	var replicates bool
	if err := pg.QueryRow(ctx, "SELECT rolreplication FROM pg_roles WHERE rolname = current_user").Scan(&replicates); err != nil || !replicates {
		t.Fatalf("doadmin has no REPLICATION: %v", err)
	}

	if _, err := c.Databases.Resize(ctx, db.ID, &godo.DatabaseResizeRequest{SizeSlug: "db-s-2vcpu-4gb", NumNodes: 1, StorageSizeMib: 102400}); err != nil {
		t.Fatal(err)
	}
	got, _, err := c.Databases.Get(ctx, db.ID)
	if err != nil || got.Status != "resizing" || got.StorageSizeMib != 102400 {
		t.Fatalf("after resize: %+v %v", got, err)
	}
	waitStatus(t, c, db.ID, "online")
	_, err = c.Databases.Resize(ctx, db.ID, &godo.DatabaseResizeRequest{StorageSizeMib: 61440})
	apiErr(t, err, http.StatusUnprocessableEntity, "cannot decrease")

	if _, err := c.Databases.Delete(ctx, db.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Databases.Get(ctx, db.ID)
	apiErr(t, err, http.StatusNotFound, "could not be found")
	if list, _, err := c.Databases.List(ctx, nil); err != nil || len(list) != 0 {
		t.Fatalf("list after delete: %+v %v", list, err)
	}
}

func TestDatabaseSurvivesARestart(t *testing.T) {
	backend := dosimtest.NewPostgres(t)
	state := filepath.Join(pgserver.TempDir(t), "digitalocean.json")
	ctx := context.Background()
	serve := func() (*dosim.Server, *httptest.Server, *godo.Client) {
		s, err := dosim.New(dosim.Options{Token: "t", StateFile: state, Timing: dosimtest.Fast, Backends: dosim.Backends{Databases: backend}})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s.Handler())
		return s, srv, client(t, srv.URL+"/", "t")
	}
	s, srv, c := serve()
	db, _, err := c.Databases.Create(ctx, &godo.DatabaseCreateRequest{Name: "main", EngineSlug: "pg", SizeSlug: "db-s-1vcpu-1gb", Region: "tor1", NumNodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	db = waitStatus(t, c, db.ID, "online")
	srv.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := backend.StopAll(); err != nil {
		t.Fatal(err)
	}
	s, srv, c = serve()
	defer func() { srv.Close(); s.Close() }()
	if err := s.ResumeBackends(ctx); err != nil {
		t.Fatal(err)
	}
	again := waitStatus(t, c, db.ID, "online")
	if again.Connection.Password != db.Connection.Password || again.StorageSizeMib != 10240 || again.VersionSlug != "17" {
		t.Fatalf("after restart: %+v", again)
	}
	pg, err := pgx.Connect(ctx, again.Connection.URI)
	if err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
	pg.Close(ctx)
}

func TestSpacesKeysReachTheirBucket(t *testing.T) {
	if _, _, err := s3server.Binary(); err != nil {
		t.Skipf("SKIP: Spaces keys need the S3 server: %v", err)
	}
	ctx := context.Background()
	s3, err := s3server.Start(ctx, filepath.Join(pgserver.TempDir(t), "s3"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s3.Stop() })
	sim, c := start(t, dosim.Options{Backends: dosim.Backends{Objects: s3}})
	if sim.SpacesEndpoint() != s3.Endpoint() {
		t.Fatalf("Spaces endpoint %q, want %q", sim.SpacesEndpoint(), s3.Endpoint())
	}
	if err := s3.CreateBucket(ctx, "cosocial-media"); err != nil {
		t.Fatal(err)
	}
	key, resp, err := c.SpacesKeys.Create(ctx, &godo.SpacesKeyCreateRequest{Name: "mastodon", Grants: []*godo.Grant{{Bucket: "cosocial-media", Permission: godo.SpacesKeyReadWrite}}})
	if err != nil || resp.StatusCode != http.StatusCreated || key.SecretKey == "" || !strings.HasPrefix(key.AccessKey, "DO00") {
		t.Fatalf("create key: %+v %v", key, err)
	}
	if err := putObject(ctx, s3.Endpoint(), key.AccessKey, key.SecretKey); err != nil {
		t.Fatalf("the key does not reach its bucket: %v", err)
	}
	listed, _, err := c.SpacesKeys.List(ctx, nil)
	if err != nil || len(listed) != 1 || listed[0].SecretKey != "" || listed[0].Grants[0].Bucket != "cosocial-media" {
		t.Fatalf("list keys (no secret): %+v %v", listed, err)
	}
	_, _, err = c.SpacesKeys.Create(ctx, &godo.SpacesKeyCreateRequest{Name: "x", Grants: []*godo.Grant{{Bucket: "missing", Permission: godo.SpacesKeyRead}}})
	apiErr(t, err, http.StatusUnprocessableEntity, "create it first")
	if _, err := c.SpacesKeys.Delete(ctx, key.AccessKey); err != nil {
		t.Fatal(err)
	}
	if err := putObject(ctx, s3.Endpoint(), key.AccessKey, key.SecretKey); err == nil {
		t.Fatal("a deleted key still reaches the bucket")
	}
	_, _, err = c.SpacesKeys.Get(ctx, key.AccessKey)
	apiErr(t, err, http.StatusNotFound, "could not be found")
}

// putObject writes one object into cosocial-media with a key's own
// credentials.
func putObject(ctx context.Context, endpoint, access, secret string) error {
	mc, err := objectstore.Bucket{Endpoint: endpoint, Name: "cosocial-media", AccessKey: access, SecretKey: secret}.Client()
	if err != nil {
		return err
	}
	_, err = mc.PutObject(ctx, "cosocial-media", "avatars/1.png", strings.NewReader("png"), 3, minio.PutObjectOptions{})
	return err
}

// TestSeveralDropletsInOneRequest: godo's CreateMultiple sends "names";
// DigitalOcean makes each, up to ten, with an action each.
func TestSeveralDropletsInOneRequest(t *testing.T) {
	ctx := context.Background()
	_, c := start(t, dosim.Options{})
	ds, resp, err := c.Droplets.CreateMultiple(ctx, &godo.DropletMultiCreateRequest{
		Names: []string{"web-1", "web-2", "web-3"}, Region: "tor1", Size: "s-2vcpu-4gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || len(ds) != 3 || len(resp.Links.Actions) != 3 || ds[0].Name != "web-1" || ds[2].Name != "web-3" || ds[0].ID == ds[1].ID {
		t.Fatalf("create multiple: %d %+v %+v", resp.StatusCode, ds, resp.Links)
	}
	list, _, err := c.Droplets.List(ctx, nil)
	if err != nil || len(list) != 3 {
		t.Fatalf("list: %d droplets, %v", len(list), err)
	}
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = "w" + strconv.Itoa(i)
	}
	_, _, err = c.Droplets.CreateMultiple(ctx, &godo.DropletMultiCreateRequest{Names: eleven, Region: "tor1", Size: "s-2vcpu-4gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}})
	apiErr(t, err, http.StatusUnprocessableEntity, "at most 10")
	if list, _, _ := c.Droplets.List(ctx, nil); len(list) != 3 {
		t.Errorf("a refused request made droplets: %d", len(list))
	}
}
