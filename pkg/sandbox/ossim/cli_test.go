package ossim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
)

// TestTheOpenStackCLIReadsTheSimulator runs a volunteer's first commands
// with the official client (Debian's python3-openstackclient) against the
// sandbox, from the clouds.yaml it hands out: every one answers, as the
// cloud would answer a project member, and none meets a 404.
func TestTheOpenStackCLIReadsTheSimulator(t *testing.T) {
	if _, err := exec.LookPath("openstack"); err != nil {
		t.Fatalf("the OpenStack CLI is not installed (make test-deps installs python3-openstackclient): %v", err)
	}
	sb := sandboxtest.Start(t, sandbox.Options{NoBackends: true})
	clouds := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(clouds, sb.CloudsYAML("vexxhost", ""), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want []string // lines the output holds
	}{
		{[]string{"flavor", "list"}, []string{"v3-starter-1 v3-starter-1 2048 0 0 1 True"}},
		{[]string{"flavor", "show", "v3-starter-1"}, []string{"2048"}},
		{[]string{"quota", "show"}, []string{"51200", "10000"}},
		{[]string{"availability", "zone", "list"}, []string{"nova available"}},
		{[]string{"volume", "type", "list"}, []string{"__DEFAULT__ True"}},
		{[]string{"volume", "snapshot", "list"}, nil},
		{[]string{"server", "group", "list"}, nil},
		{[]string{"floating", "ip", "list"}, nil},
		{[]string{"router", "list"}, nil},
		{[]string{"project", "list"}, []string{sb.OS.ProjectID() + " cosocial"}},
		{[]string{"image", "list"}, []string{"Debian 12 active"}},
		{[]string{"network", "list"}, []string{"public"}},
		{[]string{"security", "group", "list"}, []string{"default"}},
		{[]string{"limits", "show", "--absolute"}, []string{"maxTotalCores 20"}},
	} {
		out, err := runTool([]string{"OS_CLIENT_CONFIG_FILE=" + clouds}, "openstack", append(append([]string{"--os-cloud", "vexxhost"}, c.args...), "-f", "value")...)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("openstack %s: no %q in\n%s", strings.Join(c.args, " "), w, out)
			}
		}
	}
	noStray404s(t, sb)
}

// noStray404s fails the test on a 404 the CLI met that a real cloud would
// not have answered: a route the simulator lacks. The 404s a real cloud
// gives the CLI too are left: openstacksdk looks an extension up by its
// name first, which Neutron answers 404 (it knows aliases), then lists
// them; and the CLI asks for a resource named on its command line (one of
// names) as if the name were its ID, which Nova, Cinder, Glance and
// Neutron answer 404, then lists by name.
func noStray404s(t *testing.T, sb *sandbox.Sandbox, names ...string) {
	t.Helper()
	for _, r := range sb.OS.Requests() {
		if r.Status != 404 || strings.HasPrefix(r.Path, "/network/v2.0/extensions/") {
			continue
		}
		if u, err := url.Parse(r.Path); err == nil && r.Method == "GET" && slices.Contains(names, path.Base(u.Path)) {
			continue
		}
		t.Errorf("the CLI met a 404: %s %s", r.Method, r.Path)
	}
}

// TestTheOpenStackCLIWritesTheSimulator runs a volunteer's everyday
// commands that make things, with the official client, against the
// sandbox: each one succeeds, and what it made is there when the user
// looks, as on the cloud. VEXXHOST's flavors have no disk of their own, so
// the server boots from a volume (--boot-from-volume), as there; the
// image alone is refused in Nova's words.
func TestTheOpenStackCLIWritesTheSimulator(t *testing.T) {
	if _, err := exec.LookPath("openstack"); err != nil {
		t.Fatalf("the OpenStack CLI is not installed (make test-deps installs python3-openstackclient): %v", err)
	}
	// Without Designate's plugin the CLI knows no zone or recordset
	// commands. (The CLI is asked, not python3: the one on PATH need not
	// be the CLI's.)
	if err := exec.Command("openstack", "zone", "create", "--help").Run(); err != nil {
		t.Fatalf("the OpenStack CLI's DNS commands are not installed (make test-deps installs python3-designateclient): %v", err)
	}
	sb := sandboxtest.Start(t, sandbox.Options{NoBackends: true})
	clouds := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(clouds, sb.CloudsYAML("vexxhost", ""), 0o600); err != nil {
		t.Fatal(err)
	}
	const (
		flavor, image, net = "v3-starter-1", "Debian 12", "public"
		server, vol, zone  = "web1", "data1", "example.ca."
	)
	run := func(args ...string) (string, error) {
		return runTool([]string{"OS_CLIENT_CONFIG_FILE=" + clouds}, "openstack", append([]string{"--os-cloud", "vexxhost"}, args...)...)
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	object := func(args ...string) map[string]any {
		t.Helper()
		out := must(append(args, "-f", "json")...)
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("openstack %s: not a JSON object: %v\n%s", strings.Join(args, " "), err, out)
		}
		return v
	}
	lines := func(args ...string) []string {
		t.Helper()
		return strings.Split(strings.TrimSpace(must(append(args, "-f", "value")...)), "\n")
	}
	// settled shows the volume once Cinder has finished with it: a
	// status of creating or extending is work under way.
	settled := func() map[string]any {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			v := object("volume", "show", vol)
			if st := v["status"]; st != "creating" && st != "extending" {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("volume %s: still %v after two minutes", vol, v["status"])
			}
		}
	}

	if got := lines("token", "issue", "-c", "project_id"); !slices.Equal(got, []string{sb.OS.ProjectID()}) {
		t.Errorf("token issue: project %q, want %s", got, sb.OS.ProjectID())
	}
	if got := lines("catalog", "list", "-c", "Type"); !slices.Contains(got, "compute") || !slices.Contains(got, "volumev3") || !slices.Contains(got, "dns") {
		t.Errorf("catalog list: no compute, volumev3 or dns in %q", got)
	}

	if _, err := run("server", "create", "--flavor", flavor, "--image", image, "--network", net, "--wait", server); err == nil ||
		!strings.Contains(err.Error(), "Only volume-backed servers are allowed for flavors with zero disk.") {
		t.Errorf("server create from an image on a flavor without a disk: want Nova's refusal, got %v", err)
	}
	created := object("server", "create", "--flavor", flavor, "--image", image, "--boot-from-volume", "10", "--network", net, "--wait", server)
	if created["status"] != "ACTIVE" {
		t.Errorf("server create --wait: status %v, want ACTIVE", created["status"])
	}
	shown := object("server", "show", server)
	if shown["status"] != "ACTIVE" || shown["id"] != created["id"] {
		t.Errorf("server show: %v, status %v; want %v, ACTIVE", shown["id"], shown["status"], created["id"])
	}
	if a, _ := shown["addresses"].(map[string]any); len(a) != 1 || a[net] == nil {
		t.Errorf("server show: addresses %v, want some on %s", shown["addresses"], net)
	}

	if v := object("volume", "create", "--size", "10", vol); fmt.Sprint(v["size"]) != "10" {
		t.Errorf("volume create: size %v, want 10", v["size"])
	}
	// The CLI extends only an available volume, as a user waits for it.
	if v := settled(); v["status"] != "available" {
		t.Fatalf("volume %s: status %v, want available", vol, v["status"])
	}
	must("volume", "set", "--size", "20", vol)
	// Cinder marks the volume extending before it answers, so once it
	// has settled, it has its new size.
	if v := settled(); v["status"] != "available" || fmt.Sprint(v["size"]) != "20" {
		t.Errorf("volume show after volume set --size 20: status %v, size %v; want available, 20", v["status"], v["size"])
	}

	if z := object("zone", "create", "--email", "hostmaster@example.ca", zone); z["name"] != zone || z["email"] != "hostmaster@example.ca" {
		t.Errorf("zone create: name %v, email %v", z["name"], z["email"])
	}
	if got := lines("zone", "list", "-c", "name"); !slices.Contains(got, zone) {
		t.Errorf("zone list: no %s in %q", zone, got)
	}
	// Designate makes the zone's SOA and NS record sets with it.
	types := lines("recordset", "list", zone, "-c", "name", "-c", "type")
	for _, want := range []string{zone + " SOA", zone + " NS"} {
		if !slices.Contains(types, want) {
			t.Errorf("recordset list %s: no %q in %q", zone, want, types)
		}
	}

	access, _ := object("ec2", "credentials", "create")["access"].(string)
	if access == "" {
		t.Error("ec2 credentials create: no access key")
	} else if got := lines("ec2", "credentials", "list", "-c", "Access"); !slices.Contains(got, access) {
		t.Errorf("ec2 credentials list: no %s in %q", access, got)
	}

	noStray404s(t, sb, server, vol, image, net)
}

// TestS3ClientsUseTheProjectsObjectStorage runs the S3 clients a volunteer
// reaches for, s3cmd and rclone (Debian's), with EC2 credentials made by
// the official CLI, against the sandbox's object storage: buckets made,
// objects put, listed and read back, public-read objects readable by
// anyone while the rest are not, multipart uploads, and a second
// credential of the project reaching what the first made, as on Ceph.
// Any client failing fails the test.
func TestS3ClientsUseTheProjectsObjectStorage(t *testing.T) {
	for _, tool := range []string{"openstack", "s3cmd", "rclone"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (make test-deps installs it): %v", tool, err)
		}
	}
	sb := sandboxtest.Start(t, sandbox.Options{})
	dir := t.TempDir()
	clouds := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(clouds, sb.CloudsYAML("vexxhost", ""), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(env []string, name string, args ...string) string {
		t.Helper()
		out, err := runTool(env, name, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	credential := func() (access, secret string) {
		t.Helper()
		var c struct{ Access, Secret string }
		out := run([]string{"OS_CLIENT_CONFIG_FILE=" + clouds}, "openstack", "--os-cloud", "vexxhost", "ec2", "credentials", "create", "-f", "json")
		if err := json.Unmarshal([]byte(out), &c); err != nil || c.Access == "" || c.Secret == "" {
			t.Fatalf("ec2 credentials create: %v\n%s", err, out)
		}
		return c.Access, c.Secret
	}
	endpoint := sb.OSS3Endpoint()
	host := strings.TrimPrefix(endpoint, "http://")
	anonymous := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(endpoint + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	file := func(name string, size int) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte(name+"\n"), size/(len(name)+1)+1)[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small, big := file("toot.txt", 1000), file("video.bin", 12<<20)

	access, secret := credential()
	cfg := filepath.Join(dir, "s3cfg")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\nuse_https = False\nsignature_v2 = False\n", access, secret, host, host)), 0o600); err != nil {
		t.Fatal(err)
	}
	s3cmd := func(args ...string) string {
		t.Helper()
		return run(nil, "s3cmd", append([]string{"-c", cfg}, args...)...)
	}
	s3cmd("mb", "s3://coop-media")
	s3cmd("put", small, "s3://coop-media/private.txt")
	s3cmd("put", "--acl-public", small, "s3://coop-media/public.txt")
	s3cmd("put", "--multipart-chunk-size-mb=5", big, "s3://coop-media/video.bin")
	if out := s3cmd("ls", "s3://coop-media"); !strings.Contains(out, "s3://coop-media/private.txt") || !strings.Contains(out, "s3://coop-media/video.bin") {
		t.Errorf("s3cmd ls: %s", out)
	}
	s3cmd("get", "s3://coop-media/video.bin", filepath.Join(dir, "video.back"))
	if a, b := readFile(t, big), readFile(t, filepath.Join(dir, "video.back")); a != b {
		t.Errorf("s3cmd get: the multipart object read back differs")
	}
	if code, body := anonymous("/coop-media/public.txt"); code != 200 || body != readFile(t, small) {
		t.Errorf("anyone reads an object put --acl-public: %d", code)
	}
	if code, _ := anonymous("/coop-media/private.txt"); code != 403 {
		t.Errorf("anyone reads an object put without an ACL: %d", code)
	}
	s3cmd("setacl", "--acl-public", "s3://coop-media/private.txt")
	if code, _ := anonymous("/coop-media/private.txt"); code != 200 {
		t.Errorf("anyone reads an object after setacl --acl-public: %d", code)
	}

	// rclone, as its docs set it up for Ceph, with a second credential of
	// the project: it reaches the bucket s3cmd made.
	access2, secret2 := credential()
	rcloneEnv := []string{
		"RCLONE_CONFIG=" + filepath.Join(dir, "rclone.conf"), "RCLONE_CONFIG_VEXX_TYPE=s3", "RCLONE_CONFIG_VEXX_PROVIDER=Ceph",
		"RCLONE_CONFIG_VEXX_ACCESS_KEY_ID=" + access2, "RCLONE_CONFIG_VEXX_SECRET_ACCESS_KEY=" + secret2,
		"RCLONE_CONFIG_VEXX_ENDPOINT=" + endpoint, "RCLONE_CONFIG_VEXX_ACL=public-read",
	}
	rclone := func(args ...string) string {
		t.Helper()
		return run(rcloneEnv, "rclone", args...)
	}
	if out := rclone("lsf", "vexx:coop-media"); !strings.Contains(out, "public.txt") {
		t.Errorf("a second credential of the project lists: %q", out)
	}
	if out := rclone("lsf", "vexx:"); !strings.Contains(out, "coop-media/") {
		t.Errorf("a second credential of the project lists the buckets: %q", out)
	}
	rclone("mkdir", "vexx:rclone-media")
	rclone("copyto", small, "vexx:rclone-media/toot.txt")
	rclone("copyto", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", big, "vexx:rclone-media/video.bin")
	if out := rclone("cat", "vexx:rclone-media/toot.txt"); out != readFile(t, small) {
		t.Errorf("rclone cat: %d bytes", len(out))
	}
	for p, want := range map[string]string{"/rclone-media/toot.txt": small, "/rclone-media/video.bin": big} {
		if code, body := anonymous(p); code != 200 || body != readFile(t, want) {
			t.Errorf("anyone reads %s, put with acl = public-read: %d, %d bytes", p, code, len(body))
		}
	}
}

// runTool runs an official client with env added to this process's and
// returns its standard output; the error holds its standard error too.
func runTool(env []string, name string, args ...string) (string, error) {
	// The deadline only bounds a hang: every wait in these tests is on a
	// status, never on time.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	// Debian's rclone (AWS SDK v1) refuses to start with AWS_CA_BUNDLE
	// set, which some machines export; plain HTTP needs no CA.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_CA_BUNDLE=") })
	cmd.Env = append(cmd.Env, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
