package providerplugin_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jackc/pgx/v5"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/ovh"
	"github.com/cosocial/cosocial/pkg/providerplugin"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/ovhsim"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
)

type harness struct {
	sb    *sandbox.Sandbox
	prov  plugin.Provider
	cloud *ovh.Cloud
}

// start serves the plugin over gRPC on loopback and talks to it through
// plugin.NewProviderWithClient, the adapter the engine itself uses, so
// every value crosses the wire as it would under `pulumi up`.
func start(t *testing.T, faults ovhsim.Faults, backends bool) *harness {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.Options{Projects: []string{"contract"}, Zones: []string{"example.ca"}, Faults: faults, NoBackends: !backends})
	for k, v := range sb.Env() {
		t.Setenv(k, v)
	}

	prov := serve(t, provider.DefaultBackoff.Attempts)

	ptype := tokens.Type("pulumi:providers:cosocial")
	config := resource.PropertyMap{
		"kind": resource.NewProperty("ovh"), "endpoint": resource.NewProperty(sb.OVHEndpoint()),
		"project": resource.NewProperty("contract"), "region": resource.NewProperty("BHS5"),
	}
	checked, err := prov.CheckConfig(context.Background(), plugin.CheckConfigRequest{URN: urn(ptype, "beauharnois"), Name: "beauharnois", Type: ptype, News: config})
	if err != nil || len(checked.Failures) > 0 {
		t.Fatalf("CheckConfig: %v %v", checked.Failures, err)
	}
	if _, err := prov.Configure(context.Background(), plugin.ConfigureRequest{Type: &ptype, Inputs: checked.Properties}); err != nil {
		t.Fatal(err)
	}
	cloud, err := ovh.New(ovh.Config{Endpoint: sb.OVHEndpoint(), Project: "contract", Region: "BHS5", Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{sb: sb, prov: prov, cloud: cloud}
}

// serve serves a fresh plugin over gRPC on loopback and talks to it
// through plugin.NewProviderWithClient, the engine's own adapter.
func serve(t *testing.T, attempts int) plugin.Provider {
	t.Helper()
	p := providerplugin.New(nil)
	p.Poll = 10 * time.Millisecond
	p.Backoff = provider.Backoff{Attempts: attempts, Base: 5 * time.Millisecond, Max: 40 * time.Millisecond}
	gs := grpc.NewServer()
	pulumirpc.RegisterResourceProviderServer(gs, providerplugin.NewServer(p))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(l)
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return plugin.NewProviderWithClient(nil, pulumirpc.NewResourceProviderClient(conn), false)
}

func urn(t tokens.Type, name string) resource.URN {
	return resource.NewURN("test", "cosocial", "", t, name)
}

func (h *harness) check(t *testing.T, typ tokens.Type, name string, olds, news resource.PropertyMap) (resource.PropertyMap, []plugin.CheckFailure) {
	t.Helper()
	res, err := h.prov.Check(context.Background(), plugin.CheckRequest{URN: urn(typ, name), Name: name, Type: typ, Olds: olds, News: news})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return res.Properties, res.Failures
}

func (h *harness) create(t *testing.T, typ tokens.Type, name string, in resource.PropertyMap) (resource.ID, resource.PropertyMap) {
	t.Helper()
	checked, fails := h.check(t, typ, name, nil, in)
	if len(fails) > 0 {
		t.Fatalf("Check failures: %v", fails)
	}
	res, err := h.prov.Create(context.Background(), plugin.CreateRequest{URN: urn(typ, name), Name: name, Type: typ, Properties: checked, Timeout: 120})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return res.ID, res.Properties
}

func (h *harness) diff(t *testing.T, typ tokens.Type, name string, id resource.ID, oldIn, oldOut, newIn resource.PropertyMap) plugin.DiffResult {
	t.Helper()
	checked, fails := h.check(t, typ, name, oldIn, newIn)
	if len(fails) > 0 {
		t.Fatalf("Check failures: %v", fails)
	}
	d, err := h.prov.Diff(context.Background(), plugin.DiffRequest{URN: urn(typ, name), Name: name, Type: typ, ID: id, OldInputs: oldIn, OldOutputs: oldOut, NewInputs: checked})
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	return d
}

func (h *harness) read(t *testing.T, typ tokens.Type, name string, id resource.ID, in, out resource.PropertyMap) plugin.ReadResult {
	t.Helper()
	res, err := h.prov.Read(context.Background(), plugin.ReadRequest{URN: urn(typ, name), Name: name, Type: typ, ID: id, Inputs: in, State: out})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return res.ReadResult
}

func str(m resource.PropertyMap, k string) string {
	v := m[resource.PropertyKey(k)]
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func with(m resource.PropertyMap, k string, v any) resource.PropertyMap {
	out := m.Copy()
	out[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
	return out
}

const instance = tokens.Type("cosocial:ovh:Instance")

func serverInputs() resource.PropertyMap {
	return resource.NewPropertyMapFromMap(map[string]any{
		"name": "contract-web", "region": "BHS5", "flavor": "b3-8", "image": "Debian 12",
		"sshKeys": []any{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIcontract contract"},
	})
}

func TestInstanceLifeCycle(t *testing.T) {
	h := start(t, ovhsim.Faults{}, false)
	in := serverInputs()
	id, out := h.create(t, instance, "web", in)
	if id == "" || str(out, "ipv4") == "" || str(out, "status") != "ACTIVE" {
		t.Fatalf("created: %s %v", id, out)
	}
	// The server's host key is known from its creation, and only its
	// public half is kept.
	if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(str(out, "hostKey"))); err != nil || k.Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("host key output %q: %v", str(out, "hostKey"), err)
	}
	for key, v := range out {
		if v.IsString() && strings.Contains(v.StringValue(), "PRIVATE KEY") {
			t.Fatalf("output %s holds a private key", key)
		}
	}

	// A new flavor is an in-place resize...
	d := h.diff(t, instance, "web", id, in, out, with(in, "flavor", "b3-16"))
	if d.Changes != plugin.DiffSome || len(d.ReplaceKeys) != 0 || d.DetailedDiff["flavor"].Kind != plugin.DiffUpdate {
		t.Fatalf("flavor diff = %+v", d)
	}
	if !containsKey(d.StableKeys, "ipv4") {
		t.Errorf("the address is not stable through a resize: %v", d.StableKeys)
	}
	// ...a new image replaces the server, and says so over the wire.
	d = h.diff(t, instance, "web", id, in, out, with(in, "image", "Ubuntu 24.04"))
	if len(d.ReplaceKeys) != 1 || d.DetailedDiff["image"].Kind != plugin.DiffUpdateReplace {
		t.Fatalf("image diff = %+v", d)
	}
	// Nothing changed is no change.
	if d := h.diff(t, instance, "web", id, in, out, in); d.Changes != plugin.DiffNone {
		t.Fatalf("identical inputs diff = %+v", d)
	}

	newIn := with(in, "flavor", "b3-16")
	upd, err := h.prov.Update(context.Background(), plugin.UpdateRequest{URN: urn(instance, "web"), Name: "web", Type: instance, ID: id, OldInputs: in, OldOutputs: out, NewInputs: newIn, Timeout: 120})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if str(upd.Properties, "flavor") != "b3-16" || str(upd.Properties, "ipv4") != str(out, "ipv4") || str(upd.Properties, "hostKey") != str(out, "hostKey") {
		t.Fatalf("updated: %v", upd.Properties)
	}
	s, err := h.cloud.Server(context.Background(), string(id))
	if err != nil || s.Flavor != "b3-16" {
		t.Fatalf("the cloud says %+v, %v", s, err)
	}

	// Read sees what the cloud has: a resize made outside the tool shows.
	if _, err := h.cloud.ResizeServer(context.Background(), string(id), "b3-32"); err != nil {
		t.Fatal(err)
	}
	read := h.read(t, instance, "web", id, newIn, upd.Properties)
	if str(read.Inputs, "flavor") != "b3-32" || str(read.Outputs, "hostKey") != str(out, "hostKey") {
		t.Fatalf("read inputs = %v, outputs %v", read.Inputs, read.Outputs)
	}

	if _, err := h.prov.Delete(context.Background(), plugin.DeleteRequest{URN: urn(instance, "web"), Name: "web", Type: instance, ID: id, Inputs: newIn, Outputs: upd.Properties, Timeout: 120}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if read := h.read(t, instance, "web", id, newIn, upd.Properties); read.Outputs != nil {
		t.Fatalf("read after delete = %v", read.Outputs)
	}
}

func TestRefreshFindsAResourceDeletedOutsideTheTool(t *testing.T) {
	h := start(t, ovhsim.Faults{}, false)
	in := serverInputs()
	id, out := h.create(t, instance, "web", in)
	if err := h.cloud.DeleteServer(context.Background(), string(id)); err != nil {
		t.Fatal(err)
	}
	if read := h.read(t, instance, "web", id, in, out); read.Outputs != nil {
		t.Fatalf("read of a server deleted outside = %v, want nothing", read.Outputs)
	}
}

func TestCheckFailsPerProperty(t *testing.T) {
	h := start(t, ovhsim.Faults{}, false)
	in := serverInputs()
	delete(in, "flavor")
	in["sshKeys"] = resource.NewProperty("not a list")
	in["colour"] = resource.NewProperty("blue")
	_, fails := h.check(t, instance, "web", nil, in)
	got := map[string]string{}
	for _, f := range fails {
		got[string(f.Property)] = f.Reason
	}
	want := map[string]string{
		"flavor":  "flavor is required",
		"sshKeys": "sshKeys must be a list of strings",
		"colour":  "colour is not a property of this resource",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("failure for %s = %q, want %q", k, got[k], v)
		}
	}
	db := tokens.Type("cosocial:ovh:Database")
	olds := resource.NewPropertyMapFromMap(map[string]any{"name": "m", "region": "BHS5", "engine": "postgresql", "version": "16", "plan": "essential", "flavor": "db1-4", "nodes": 1, "diskGb": 80})
	_, fails = h.check(t, db, "main", olds, with(with(olds, "version", "15"), "diskGb", 40))
	if len(fails) != 2 || !strings.Contains(fails[0].Reason+fails[1].Reason, "only goes up") || !strings.Contains(fails[0].Reason+fails[1].Reason, "never shrinks") {
		t.Errorf("downgrade failures = %v", fails)
	}
}

func TestDatabaseResizesInPlace(t *testing.T) {
	h := start(t, ovhsim.Faults{}, true)
	typ := tokens.Type("cosocial:ovh:Database")
	in := resource.NewPropertyMapFromMap(map[string]any{
		"name": "contract-main", "region": "BHS5", "engine": "postgresql", "version": "16", "plan": "essential",
		"flavor": "db1-4", "nodes": 1, "diskGb": 80, "databases": []any{"mastodon"}, "users": []any{"mastodon"},
		"allowedIps": []any{"192.0.2.10/32"},
	})
	id, out := h.create(t, typ, "main", in)
	pw := out["passwords"]
	if !pw.IsSecret() {
		t.Fatalf("passwords are not secret: %v", pw)
	}
	password := str(pw.SecretValue().Element.ObjectValue(), "mastodon")
	host, port := str(out, "host"), int(out["port"].NumberValue())
	conn, err := pgx.Connect(context.Background(), "postgres://mastodon:"+password+"@"+host+":"+strconv.Itoa(port)+"/mastodon?sslmode="+str(out, "sslMode"))
	if err != nil {
		t.Fatalf("the password in the outputs does not log in: %v", err)
	}
	conn.Close(context.Background())

	bigger := with(in, "diskGb", 120)
	d := h.diff(t, typ, "main", id, in, out, bigger)
	if d.Changes != plugin.DiffSome || len(d.ReplaceKeys) != 0 || d.DetailedDiff["diskGb"].Kind != plugin.DiffUpdate {
		t.Fatalf("disk diff = %+v: a resize must never replace a database", d)
	}
	d = h.diff(t, typ, "main", id, in, out, with(in, "flavor", "db1-7"))
	if len(d.ReplaceKeys) != 0 {
		t.Fatalf("flavor diff = %+v", d)
	}
	upd, err := h.prov.Update(context.Background(), plugin.UpdateRequest{URN: urn(typ, "main"), Name: "main", Type: typ, ID: id, OldInputs: in, OldOutputs: out, NewInputs: bigger, Timeout: 120})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Properties["diskGb"].NumberValue() != 120 || str(upd.Properties, "host") != host {
		t.Fatalf("after resize: %v", upd.Properties)
	}
	db, err := h.cloud.Database(context.Background(), string(id))
	if err != nil || db.DiskGB != 120 {
		t.Fatalf("the cloud says %+v, %v", db, err)
	}
	// The same data is still there: the resize did not make a new cluster.
	conn, err = pgx.Connect(context.Background(), "postgres://mastodon:"+password+"@"+host+":"+strconv.Itoa(port)+"/mastodon?sslmode="+str(out, "sslMode"))
	if err != nil {
		t.Fatalf("after the resize the old password no longer logs in: %v", err)
	}
	conn.Close(context.Background())
}

func TestBucketCredentialsAreSecret(t *testing.T) {
	h := start(t, ovhsim.Faults{}, true)
	typ := tokens.Type("cosocial:ovh:Bucket")
	in := resource.NewPropertyMapFromMap(map[string]any{"name": "contract-media", "region": "BHS5", "public": true})
	id, out := h.create(t, typ, "media", in)
	for _, k := range []string{"accessKey", "secretKey"} {
		if !out[resource.PropertyKey(k)].IsSecret() || str(out, k) == "" {
			t.Errorf("%s is not a non-empty secret: %v", k, out[resource.PropertyKey(k)])
		}
	}
	if str(out, "endpoint") != h.sb.S3Endpoint() {
		t.Errorf("endpoint = %q, want %q", str(out, "endpoint"), h.sb.S3Endpoint())
	}
	d := h.diff(t, typ, "media", id, in, out, with(in, "name", "contract-media2"))
	if !d.DeleteBeforeReplace || len(d.ReplaceKeys) != 1 {
		t.Errorf("renaming a bucket: %+v", d)
	}
	d = h.diff(t, typ, "media", id, in, out, with(in, "public", false))
	if len(d.ReplaceKeys) != 0 || d.DetailedDiff["public"].Kind != plugin.DiffUpdate {
		t.Errorf("making a bucket private: %+v", d)
	}
}

func TestDnsRecordLifeCycle(t *testing.T) {
	h := start(t, ovhsim.Faults{}, false)
	typ := tokens.Type("cosocial:ovh:DnsRecord")
	in := resource.NewPropertyMapFromMap(map[string]any{"zone": "example.ca", "name": "social", "type": "A", "target": "192.0.2.10", "ttl": 300})
	id, out := h.create(t, typ, "social", in)
	moved := with(in, "target", "192.0.2.20")
	if d := h.diff(t, typ, "social", id, in, out, moved); len(d.ReplaceKeys) != 0 || d.DetailedDiff["target"].Kind != plugin.DiffUpdate {
		t.Fatalf("target diff = %+v", d)
	}
	if _, err := h.prov.Update(context.Background(), plugin.UpdateRequest{URN: urn(typ, "social"), Name: "social", Type: typ, ID: id, OldInputs: in, OldOutputs: out, NewInputs: moved}); err != nil {
		t.Fatal(err)
	}
	pub := h.sb.OVH.Published("example.ca")
	if len(pub) != 1 || pub[0].Target != "192.0.2.20" {
		t.Fatalf("published zone = %+v", pub)
	}
}

func TestRateLimitStormThroughTheEngineAdapter(t *testing.T) {
	h := start(t, ovhsim.Faults{Burst: 6, Rate: 0.3, Codes: []int{429, 502, 503}, Seed: 11}, false)
	id, out := h.create(t, instance, "web", serverInputs())
	if str(out, "status") != "ACTIVE" {
		t.Fatalf("created under a storm: %v", out)
	}
	if _, err := h.prov.Delete(context.Background(), plugin.DeleteRequest{URN: urn(instance, "web"), Name: "web", Type: instance, ID: id, Inputs: serverInputs(), Outputs: out}); err != nil {
		t.Fatal(err)
	}
	limited := 0
	for _, r := range h.sb.OVH.Requests() {
		if r.Status == 429 {
			limited++
		}
	}
	if limited < 6 {
		t.Errorf("only %d requests were rate-limited", limited)
	}
}

func containsKey(keys []resource.PropertyKey, k string) bool {
	for _, key := range keys {
		if string(key) == k {
			return true
		}
	}
	return false
}
