package openstack_test

import (
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/minio/minio-go/v7"

	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/openstack"
	"github.com/cosocial/cosocial/pkg/provider/providertest"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim"
)

// The shared database contract logs in to the database it made; a
// self-managed database's engine is installed by cloud-init on a server the
// simulator only pretends to run, so the contract does not apply here.
// These tests check what the cloud's API shows instead: the server, its
// data volume, its security group, and a disk grown without replacement.

var mainDB = provider.DatabaseSpec{
	Name: "main", Region: "ca-ymq-1", Engine: "postgresql", Version: "16", Flavor: "v3-standard-2", Nodes: 1, DiskGB: 80,
	Databases: []string{"mastodon"}, Users: []string{"mastodon"}, AllowedIPs: []string{"203.0.113.0/24", "2001:db8:ca:1::/64"},
}

func TestSelfManagedDatabase(t *testing.T) {
	sim, cloud := start(t, ossim.Options{}, nil)
	c := connect(t, sim)
	db, passwords, err := cloud.CreateDatabaseWith(bg, mainDB, openstack.DatabaseOptions{SSHKeys: []string{sshKey}})
	if err != nil {
		t.Fatal(err)
	}
	if db.Status != "READY" || !strings.HasPrefix(db.Host, "203.0.113.") || db.Port != 5432 || db.SSLMode != "require" || db.DiskGB != 80 ||
		db.Engine != "postgresql" || db.Version != "16" || db.Flavor != "v3-standard-2" || db.Nodes != 1 ||
		!slices.Equal(db.Databases, mainDB.Databases) || !slices.Equal(db.Users, mainDB.Users) || !slices.Equal(db.AllowedIPs, mainDB.AllowedIPs) {
		t.Errorf("database = %+v", db)
	}
	if len(passwords["mastodon"]) < 32 {
		t.Errorf("password for mastodon: %d characters", len(passwords["mastodon"]))
	}

	sv, err := servers.Get(bg, c.compute, db.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if len(sv.AttachedVolumes) != 2 || sv.KeyName != "main" || sv.SecurityGroups[0]["name"] != "cosocial-db-main" || sv.Metadata["cosocial_image"] != "Debian 12" {
		t.Fatalf("server: volumes %+v, key %q, groups %+v, metadata %v", sv.AttachedVolumes, sv.KeyName, sv.SecurityGroups, sv.Metadata)
	}
	data, err := volumes.Get(bg, c.volume, sv.Metadata["cosocial_volume"]).Extract()
	if err != nil || data.Size != 80 || data.Name != "main-data" || data.Status != "in-use" {
		t.Fatalf("data volume: %+v %v", data, err)
	}
	if got := groupRules(t, c, "cosocial-db-main"); strings.Join(got, " ") != "IPv4/22/0.0.0.0/0 IPv4/5432/203.0.113.0/24 IPv6/22/::/0 IPv6/5432/2001:db8:ca:1::/64" {
		t.Errorf("rules of cosocial-db-main: %v", got)
	}

	// A bigger disk: the same server, the same volume, extended in use.
	bigger := mainDB
	bigger.DiskGB = 120
	creates := serverCreates(sim)
	grown, newPasswords, err := cloud.UpdateDatabase(bg, db.ID, mainDB, bigger)
	if err != nil {
		t.Fatal(err)
	}
	if grown.ID != db.ID || grown.DiskGB != 120 || grown.Status != "READY" || len(newPasswords) != 0 {
		t.Errorf("grown = %+v (new passwords for %d users)", grown, len(newPasswords))
	}
	if v, err := volumes.Get(bg, c.volume, data.ID).Extract(); err != nil || v.Size != 120 || v.Status != "in-use" || v.Attachments[0].ServerID != db.ID {
		t.Errorf("data volume after the extend: %+v %v", v, err)
	}
	if n := serverCreates(sim); n != creates {
		t.Errorf("a disk change created %d servers", n-creates)
	}
	extends := 0
	for _, r := range sim.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/volumes/"+data.ID+"/action") && r.Status == http.StatusAccepted {
			extends++
		}
	}
	if extends != 1 {
		t.Errorf("%d os-extend actions, want 1", extends)
	}

	// Another flavor: Nova's resize, in place too.
	larger := bigger
	larger.Flavor = "v3-standard-4"
	resized, _, err := cloud.UpdateDatabase(bg, db.ID, bigger, larger)
	if err != nil || resized.ID != db.ID || resized.Flavor != "v3-standard-4" || resized.DiskGB != 120 {
		t.Fatalf("resized = %+v, %v", resized, err)
	}
	// What cloud-init wrote at first boot is refused, in words.
	more := larger
	more.Users = []string{"mastodon", "reader"}
	if _, _, err := cloud.UpdateDatabase(bg, db.ID, larger, more); err == nil || !strings.Contains(err.Error(), "databases and users") {
		t.Errorf("adding a user: %v", err)
	}
	smaller := larger
	smaller.DiskGB = 60
	if _, _, err := cloud.UpdateDatabase(bg, db.ID, larger, smaller); err == nil || !strings.Contains(err.Error(), "only grows") {
		t.Errorf("shrinking the disk: %v", err)
	}

	if err := cloud.DeleteDatabase(bg, db.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.Database(bg, db.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("read after delete: %v", err)
	}
	if _, err := volumes.Get(bg, c.volume, data.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("data volume after delete: %v", err)
	}
	if _, err := keypairs.Get(bg, c.compute, "main", nil).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("keypair after delete: %v", err)
	}
	if n := len(namedGroups(t, c, "cosocial-db-main")); n != 0 {
		t.Errorf("%d security groups left after delete", n)
	}
	if err := cloud.DeleteDatabase(bg, db.ID); err != nil {
		t.Errorf("deleting a database already gone: %v", err)
	}
}

// TestDatabaseOnlyOnDatabaseServers: a web server is not read or deleted
// as a database.
func TestDatabaseOnlyOnDatabaseServers(t *testing.T) {
	_, cloud := start(t, ossim.Options{}, nil)
	s, err := cloud.CreateServer(bg, provider.ServerSpec{Name: "web", Flavor: "v3-starter-1", Image: "Debian 12"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.Database(bg, s.ID); err == nil || !strings.Contains(err.Error(), "not a cosocial database server") {
		t.Errorf("reading a web server as a database: %v", err)
	}
	if err := cloud.DeleteDatabase(bg, s.ID); err == nil {
		t.Error("a web server was deleted as a database")
	}
	if _, err := cloud.Server(bg, s.ID); err != nil {
		t.Errorf("the web server: %v", err)
	}
}

func serverCreates(sim interface{ Requests() []ossim.Request }) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Method == http.MethodPost && r.Path == "/compute/v2.1/servers" && r.Status == http.StatusAccepted {
			n++
		}
	}
	return n
}

func namedGroups(t *testing.T, c clients, name string) []groups.SecGroup {
	t.Helper()
	page, err := groups.List(c.network, groups.ListOpts{Name: name}).AllPages(bg)
	if err != nil {
		t.Fatal(err)
	}
	all, err := groups.ExtractGroups(page)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func groupRules(t *testing.T, c clients, name string) []string {
	t.Helper()
	all := namedGroups(t, c, name)
	if len(all) != 1 {
		t.Fatalf("%d groups named %s", len(all), name)
	}
	var out []string
	for _, r := range all[0].Rules {
		if r.Direction == "ingress" {
			if r.Protocol != "tcp" || r.PortRangeMin != r.PortRangeMax {
				t.Errorf("rule %+v", r)
			}
			out = append(out, r.EtherType+"/"+strconv.Itoa(r.PortRangeMin)+"/"+r.RemoteIPPrefix)
		}
	}
	sort.Strings(out)
	return out
}

// TestNightlyDumpsGoToABucketThatOutlivesTheDatabase: where the cloud has
// object storage, a self-managed database gets a private, versioned
// bucket for its dumps, named in its outputs. Deleting the database
// leaves the dumps; making it again finds the bucket and a credential
// that reaches it, and makes no new one.
func TestNightlyDumpsGoToABucketThatOutlivesTheDatabase(t *testing.T) {
	sim, cloud, s3 := startS3(t)
	db, _, err := cloud.CreateDatabaseWith(bg, mainDB, openstack.DatabaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if db.Backup != "main-backups" {
		t.Fatalf("backup bucket %q, want main-backups", db.Backup)
	}
	root := s3As(t, s3.Endpoint(), provider.S3Credentials{AccessKey: s3.RootAccess, SecretKey: s3.RootSecret})
	if v, err := root.GetBucketVersioning(bg, "main-backups"); err != nil || !v.Enabled() {
		t.Errorf("versioning of the dumps' bucket: %+v %v", v, err)
	}
	resp, err := http.Get(s3.Endpoint() + "/main-backups/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous listing of the dumps' bucket: %d", resp.StatusCode)
	}
	if _, err := root.PutObject(bg, "main-backups", "mastodon/2026-11-22T03:17:00Z.dump", strings.NewReader("PGDMP"), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	creds := ec2Count(t, sim)

	if err := cloud.DeleteDatabase(bg, db.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := root.StatObject(bg, "main-backups", "mastodon/2026-11-22T03:17:00Z.dump", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("the dump after the database was deleted: %v", err)
	}
	again, _, err := cloud.CreateDatabaseWith(bg, mainDB, openstack.DatabaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Backup != "main-backups" || again.ID == db.ID {
		t.Errorf("made again: %+v", again)
	}
	if n := ec2Count(t, sim); n != creds {
		t.Errorf("%d EC2 credentials after making the database again, %d before", n, creds)
	}
}

func TestLeftoversContract(t *testing.T) {
	_, cloud := start(t, ossim.Options{}, nil)
	spec := mainDB
	spec.Name = "contract-orphan-db"
	providertest.Leftovers(t, providertest.LeftoverCase{
		Leftovers: cloud, Servers: cloud, Databases: cloud, Database: spec,
		Region: "ca-ymq-1", Flavor: "v3-starter-1", Image: "Debian 12",
	})
}

// TestADatabasesLoneVolumeIsALeftover: a create killed after the data
// volume was made, before its server, leaves a volume no server holds; it
// is found and removed, and the volume of a running database is not.
func TestADatabasesLoneVolumeIsALeftover(t *testing.T) {
	_, cloud := start(t, ossim.Options{}, nil)
	db, _, err := cloud.CreateDatabase(bg, mainDB)
	if err != nil {
		t.Fatal(err)
	}
	if found, err := cloud.Leftovers(bg, provider.KindDatabase, "ca-ymq-1", "main", map[string]bool{db.ID: true}); err != nil || len(found) != 0 {
		t.Fatalf("a running database's volume counted as a leftover: %v, %v", found, err)
	}
	lone, err := cloud.DataVolume(bg, "lone", 10)
	if err != nil {
		t.Fatal(err)
	}
	found, err := cloud.Leftovers(bg, provider.KindDatabase, "ca-ymq-1", "lone", nil)
	if err != nil || len(found) != 1 || found[0].Kind != provider.KindVolume || found[0].ID != lone {
		t.Fatalf("leftovers = %v, %v; want volume %s alone", found, err, lone)
	}
	if err := cloud.RemoveLeftover(bg, found[0]); err != nil {
		t.Fatal(err)
	}
	if again, err := cloud.Leftovers(bg, provider.KindDatabase, "ca-ymq-1", "lone", nil); err != nil || len(again) != 0 {
		t.Fatalf("after removing: %v, %v", again, err)
	}
}
