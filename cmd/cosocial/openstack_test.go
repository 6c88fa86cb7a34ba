package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/ec2credentials"
	"github.com/minio/minio-go/v7"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/mysqlserver"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
	"github.com/go-sql-driver/mysql"
)

// TestOpenStackServerOnTheSandbox stands a server, a self-managed database
// with its dumps' bucket and a Designate zone up at the sandbox's
// OpenStack through the engine, from a provider that names a clouds.yaml
// entry: Canadian-owned and in Canada, planned again with nothing to do,
// the server's flavor changed in place, then taken down, the database and
// the zone only with the data.
func TestOpenStackServerOnTheSandbox(t *testing.T) {
	r := newRehearsal(t, map[string]string{"cosocial.hcl": "testdata/openstack.hcl"})
	dir, step := r.dir, r.step
	src, err := os.ReadFile("testdata/openstack.hcl")
	if err != nil {
		t.Fatal(err)
	}
	desc := filepath.Join(dir, "cosocial.hcl")
	if out := step(0, "residency"); !strings.Contains(out, "Result: compliant") {
		t.Fatalf("residency:\n%s", out)
	}
	out := step(0, "up", "--sandbox", "--yes")
	if !strings.Contains(out, "server northwind-web: ACTIVE") || !strings.Contains(out, "server.web.ipv4") ||
		!strings.Contains(out, "✓ dns.northwind created") || !strings.Contains(out, "dns.northwind.nameServers") || !strings.Contains(out, "[ns1.sandbox.invalid. ns2.sandbox.invalid.]") ||
		!strings.Contains(out, "✓ database.main created") || output(t, out, "database.main.backupBucket") != "northwind-main-backups" {
		t.Fatalf("up:\n%s", out)
	}
	step(0, "plan", "--sandbox", "--detailed-exitcode")
	if err := os.WriteFile(desc, []byte(strings.Replace(string(src), `"v3-standard-2"`, `"v3-standard-4"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out = step(0, "up", "--sandbox", "--yes")
	if !strings.Contains(out, "1 updated in place, 0 replaced") {
		t.Fatalf("a flavor change:\n%s", out)
	}
	// The database's disk grows: the plan says so, an update in place, and
	// it is applied as one (the volume extended, the server kept).
	grown := strings.Replace(string(src), `"v3-standard-2"`, `"v3-standard-4"`, 1)
	at := strings.LastIndex(grown, "disk_gb  = 40") // the database's, after the server's
	grown = grown[:at] + "disk_gb  = 80" + grown[at+len("disk_gb  = 40"):]
	if err := os.WriteFile(desc, []byte(grown), 0o644); err != nil {
		t.Fatal(err)
	}
	out = step(2, "plan", "--sandbox", "--detailed-exitcode", "--json")
	var plan struct {
		Changes []struct {
			Address, Action string
			Properties      []struct {
				Name              string
				ForcesReplacement bool `json:"forces_replacement"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 1 || plan.Changes[0].Address != "database.main" || plan.Changes[0].Action != "update" ||
		len(plan.Changes[0].Properties) != 1 || plan.Changes[0].Properties[0].Name != "disk_gb" || plan.Changes[0].Properties[0].ForcesReplacement {
		t.Fatalf("a larger database disk planned as: %s", out)
	}
	if out = step(0, "up", "--sandbox", "--yes"); !strings.Contains(out, "1 updated in place, 0 replaced") {
		t.Fatalf("a larger database disk:\n%s", out)
	}
	step(0, "plan", "--sandbox", "--detailed-exitcode")
	if _, err := os.Stat(filepath.Join(dir, ".cosocial", "sandbox", "clouds.yaml")); err == nil {
		t.Error("the sandbox's credentials were written beside the stack")
	}
	home := r.sandboxHome()
	found, _ := filepath.Glob(filepath.Join(home, "*", "clouds.yaml"))
	if len(found) != 1 {
		t.Fatalf("no clouds.yaml in the sandbox's folder %s", home)
	}
	if info, err := os.Stat(found[0]); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v %v", found[0], info, err)
	}
	// The zone Designate made stays with the data, until --include-data.
	if out := step(0, "destroy", "--sandbox", "--yes"); !strings.Contains(out, "kept (they hold data; --include-data removes them): dns.northwind, database.main") {
		t.Errorf("destroy:\n%s", out)
	}
	if out := step(0, "destroy", "--sandbox", "--include-data", "--confirm", "northwind.example.ca"); !strings.Contains(out, "✓ dns.northwind deleted") || !strings.Contains(out, "✓ database.main deleted") {
		t.Errorf("destroy --include-data:\n%s", out)
	}
}

// TestCoSocialTargetOnTheSandbox stands CoSocial's whole target up, the
// shared example unchanged: servers and buckets at the Canadian-owned
// OpenStack cloud, state in a bucket there, PostgreSQL and MySQL (a real
// MariaDB) and the zone at OVHcloud under the two waivers. A second plan
// has nothing to do; every OpenStack resource is Canadian-owned and in
// Canada; the buckets are public or private as described; then it all
// comes down, data included.
func TestCoSocialTargetOnTheSandbox(t *testing.T) {
	if _, _, err := mysqlserver.Programs(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	// The repository's copies of the shared examples (TestSharedExamples
	// keeps them the same).
	examples := stacks + "/cosocial"
	r := newRehearsal(t, map[string]string{
		"cosocial-target.hcl": examples + "/cosocial-target.hcl",
		"cosocial-today.hcl":  examples + "/cosocial-today.hcl",
	})
	f := []string{"-f", "cosocial-target.hcl"}
	out := r.step(0, append([]string{"up", "--sandbox", "--yes"}, f...)...)
	for _, want := range []string{
		"✓ server.web created", "✓ server.podcasts created", "✓ database.main created", "✓ database.podcasts created",
		"✓ bucket.media created", "✓ bucket.podcasts created", "creating the state bucket cosocial-state",
		// Castopod, new, deployed and answering through Caddy over TLS;
		// Mastodon, whose server the migration moves, staged: started
		// now, it would write into the database being copied to.
		"✓ service.castopod.podcasts created", "Caddy answers https://podcasts.cosocial.ca/",
		"✓ service.mastodon.cosocial created", "mastodon starts at the migration's cutover",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("up output lacks %q", want)
		}
	}
	for _, never := range []string{"Caddy answers https://cosocial.ca/", "rails db:prepare"} {
		if strings.Contains(out, never) {
			t.Errorf("Mastodon was started before the cutover: %q", never)
		}
	}
	if t.Failed() {
		t.Fatalf("up:\n%s", out)
	}
	r.step(0, append([]string{"plan", "--sandbox", "--detailed-exitcode"}, f...)...)

	var report struct {
		Compliant bool
		Resources []struct {
			Kind, Name, Provider, Owner string
			OwnerCountry                string `json:"owner_country"`
			Country                     string
			DataCountry                 string `json:"data_country"`
			Ownership, Waiver           string
		}
	}
	if err := json.Unmarshal([]byte(r.step(0, append([]string{"residency", "--format", "json"}, f...)...)), &report); err != nil {
		t.Fatal(err)
	}
	openstack := 0
	for _, res := range report.Resources {
		if !strings.HasPrefix(res.Provider, "openstack.") {
			continue
		}
		openstack++
		if res.OwnerCountry != "CA" || res.Country != "CA" || res.DataCountry != "pass" || res.Ownership != "pass" || res.Waiver != "" {
			t.Errorf("%s.%s at %s: owner %s (%s), in %s, data %s, ownership %s, waiver %q",
				res.Kind, res.Name, res.Provider, res.Owner, res.OwnerCountry, res.Country, res.DataCountry, res.Ownership, res.Waiver)
		}
	}
	if !report.Compliant || openstack != 6 { // 2 servers, 3 buckets, the state
		t.Errorf("compliant %v, %d OpenStack resources judged, want 6", report.Compliant, openstack)
	}

	// The sandbox runs only while a command does: this test serves the
	// same one, on the same ports, to look at what the stack made.
	homes, _ := filepath.Glob(filepath.Join(r.sandboxHome(), "*", "ports.json"))
	if len(homes) != 1 {
		t.Fatalf("want one sandbox under %s, found %v", r.sandboxHome(), homes)
	}
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: filepath.Dir(homes[0])})
	if err != nil {
		t.Fatal(err)
	}
	// The buckets as described, asked anonymously of the S3 server the
	// stack's outputs name: media and podcasts serve their files to
	// anyone, the state does not; none lets anyone list it. The files are
	// written with a new EC2 credential of the project, which reaches
	// every bucket of the project, as on Ceph.
	endpoint := output(t, out, "bucket.media.endpoint")
	writer := projectS3(t, sb, endpoint)
	for bucket, want := range map[string]int{"cosocial-media": http.StatusOK, "cosocial-podcasts": http.StatusOK, "cosocial-state": http.StatusForbidden} {
		if _, err := writer.PutObject(context.Background(), bucket, "probe/1.png", strings.NewReader("png"), 3, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("a credential of the project writing to %s: %v", bucket, err)
		}
		for path, want := range map[string]int{"/probe/1.png": want, "/": http.StatusForbidden} {
			resp, err := http.Get(endpoint + "/" + bucket + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("anonymous GET %s%s: %d, want %d", bucket, path, resp.StatusCode, want)
			}
		}
		if err := writer.RemoveObject(context.Background(), bucket, "probe/1.png", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A real MySQL server answers at database.podcasts' address, and
	// refuses a wrong password in its own words.
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.DBName = "castopod", "not-the-password", "tcp", "castopod"
	cfg.Addr = net.JoinHostPort(output(t, out, "database.podcasts.host"), output(t, out, "database.podcasts.port"))
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var myErr *mysql.MySQLError
	if err := db.Ping(); !errors.As(err, &myErr) || myErr.Number != 1045 {
		t.Errorf("MySQL at %s with a wrong password: %v, want error 1045 (access denied)", cfg.Addr, err)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}

	r.step(0, append([]string{"destroy", "--sandbox", "--include-data", "--confirm", "cosocial.ca"}, f...)...)
	out = r.step(0, append([]string{"plan", "--sandbox", "--json"}, f...)...)
	// 12, and each service with its secrets.
	if !strings.Contains(out, `"create": 16`) {
		t.Errorf("after destroy, plan should create everything again: %s", out)
	}
}

// output is the value of one stack output as `up` printed it.
// projectS3 is an S3 client of the sandbox's OpenStack object storage
// with a new EC2 credential of the project, made through Keystone.
func projectS3(t *testing.T, sb *sandbox.Sandbox, endpoint string) *minio.Client {
	t.Helper()
	_, id := sandboxtest.Keystone(t, sb)
	cred, err := ec2credentials.Create(context.Background(), id, sb.OS.UserID(), ec2credentials.CreateOpts{TenantID: sb.OS.ProjectID()}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	mc, err := objectstore.Bucket{Endpoint: endpoint, AccessKey: cred.Access, SecretKey: cred.Secret}.Client()
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

func output(t *testing.T, up, name string) string {
	t.Helper()
	for _, line := range strings.Split(up, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			return f[1]
		}
	}
	t.Fatalf("up printed no output %s:\n%s", name, up)
	return ""
}

// TestOpenStackRefusalsPointAtTheDescription plans against a cloud, not
// the --sandbox: clouds.yaml with a password Keystone refuses stops the
// plan in Keystone's words at the provider's `cloud` line, the password
// shown nowhere; then a flavor the catalog lists but the cloud no longer
// offers stops it in Nova's words at the server's `flavor` line. Nothing
// is created either time.
func TestOpenStackRefusalsPointAtTheDescription(t *testing.T) {
	env := standUpEnv(t)
	cat := catalog.Default()
	vexxhost := cat.Operator("vexxhost").Region("ca-ymq-1")
	vexxhost.Flavors = slices.DeleteFunc(vexxhost.Flavors, func(f catalog.Flavor) bool { return f.Name == "v3-standard-32" })
	sb := sandboxtest.Start(t, sandbox.Options{NoBackends: true, Catalog: cat})
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/openstack.hcl")
	if err != nil {
		t.Fatal(err)
	}
	clouds := filepath.Join(dir, "clouds.yaml")
	wrong := "keystone-says-no-" + sb.OSCredentials.Password[:6]
	if err := os.WriteFile(clouds, bytes.Replace(sb.CloudsYAML("vexxhost", ""), []byte(strconv.Quote(sb.OSCredentials.Password)), []byte(strconv.Quote(wrong)), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cosocial.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	env = append(env, "OS_CLIENT_CONFIG_FILE="+clouds)
	servers := func() int {
		n := 0
		for _, r := range sb.OS.Requests() {
			if r.Method == "POST" && (strings.HasSuffix(r.Path, "/servers") || strings.HasSuffix(r.Path, "/zones")) {
				n++
			}
		}
		return n
	}

	out, errOut, code := cosocialEnv(t, dir, env, "plan")
	line := lineOf(t, src, `cloud  = "vexxhost"`)
	if code != 1 || !strings.Contains(errOut, "requires authentication") || !strings.Contains(errOut, fmt.Sprintf("on cosocial.hcl line %d", line)) {
		t.Fatalf("a password Keystone refuses: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, wrong) {
		t.Error("the refused password is shown")
	}

	if err := os.WriteFile(clouds, sb.CloudsYAML("vexxhost", ""), 0o600); err != nil {
		t.Fatal(err)
	}
	gone := bytes.Replace(src, []byte(`"v3-standard-2"`), []byte(`"v3-standard-32"`), 1)
	if err := os.WriteFile(filepath.Join(dir, "cosocial.hcl"), gone, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = cosocialEnv(t, dir, env, "plan")
	line = lineOf(t, gone, `flavor   = "v3-standard-32"`)
	if code != 1 || !strings.Contains(errOut, "Flavor v3-standard-32 could not be found.") || !strings.Contains(errOut, fmt.Sprintf("on cosocial.hcl line %d", line)) {
		t.Fatalf("a flavor the cloud lacks: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("%s", errOut)
	if n := servers(); n != 0 {
		t.Errorf("%d creates sent by plans that failed", n)
	}
}

// lineOf is the line of the description where text is.
func lineOf(t *testing.T, src []byte, text string) int {
	t.Helper()
	i := bytes.Index(src, []byte(text))
	if i < 0 {
		t.Fatalf("%q is not in the description", text)
	}
	return bytes.Count(src[:i], []byte("\n")) + 1
}
