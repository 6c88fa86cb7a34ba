package providerplugin_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/cosocial/cosocial/pkg/provider/openstack"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
)

// openstackPlugin serves the plugin configured for the sandbox's OpenStack
// (credentials from the OS_* variables, as the engine passes them on).
func openstackPlugin(t *testing.T, env map[string]string) (*sandbox.Sandbox, plugin.Provider, error) {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.Options{NoBackends: true})
	for k, v := range sb.Env() {
		if o, ok := env[k]; ok {
			v = o
		}
		t.Setenv(k, v)
	}
	prov := serve(t, 3)
	ptype := tokens.Type("pulumi:providers:cosocial")
	checked, err := prov.CheckConfig(context.Background(), plugin.CheckConfigRequest{URN: urn(ptype, "montreal"), Name: "montreal", Type: ptype,
		News: resource.PropertyMap{"kind": resource.NewProperty("openstack"), "region": resource.NewProperty("ca-ymq-1")}})
	if err != nil || len(checked.Failures) > 0 {
		t.Fatalf("CheckConfig: %v %v", checked.Failures, err)
	}
	_, err = prov.Configure(context.Background(), plugin.ConfigureRequest{Type: &ptype, Inputs: checked.Properties})
	return sb, prov, err
}

// openstackHarness is the plugin configured for the sandbox's OpenStack,
// with what the tests call it through.
func openstackHarness(t *testing.T) (*sandbox.Sandbox, *harness) {
	t.Helper()
	sb, prov, err := openstackPlugin(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sb, &harness{prov: prov}
}

// databaseInputs are a self-managed PostgreSQL database's.
func databaseInputs() resource.PropertyMap {
	return resource.NewPropertyMapFromMap(map[string]any{
		"name": "cosocial-main", "region": "ca-ymq-1", "engine": "postgresql", "version": "16", "flavor": "v3-standard-2",
		"nodes": 1, "diskGb": 40, "databases": []any{"mastodon"}, "users": []any{"mastodon"}, "allowedIps": []any{"203.0.113.10/32"},
	})
}

func TestOpenStackServerThroughThePlugin(t *testing.T) {
	_, h := openstackHarness(t)
	typ := tokens.Type("cosocial:openstack:Server")
	in := resource.PropertyMap{
		"name": resource.NewProperty("cosocial-web"), "region": resource.NewProperty("ca-ymq-1"),
		"flavor": resource.NewProperty("v3-standard-2"), "image": resource.NewProperty("Debian 12"),
		"sshKeys": resource.NewProperty([]resource.PropertyValue{resource.NewProperty("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBQ8ytWQ4iCVH2kNpyW3XUvA9o4l8lE4U7GyB2g9Ew0 ops@cosocial.ca")}),
		"diskGb":  resource.NewProperty(40.0),
	}
	id, out := h.create(t, typ, "server.web", in)
	if id == "" || str(out, "ipv4") == "" {
		t.Fatalf("created %s %v", id, out)
	}
	// A bigger flavor resizes in place; another image replaces.
	bigger := in.Copy()
	bigger["flavor"] = resource.NewProperty("v3-standard-4")
	if d := h.diff(t, typ, "server.web", id, in, out, bigger); d.Changes != plugin.DiffSome || len(d.ReplaceKeys) != 0 {
		t.Errorf("flavor change: %+v", d)
	}
	other := in.Copy()
	other["image"] = resource.NewProperty("Ubuntu 24.04")
	if d := h.diff(t, typ, "server.web", id, in, out, other); len(d.ReplaceKeys) != 1 || d.ReplaceKeys[0] != "image" {
		t.Errorf("image change: %+v", d)
	}
	upd, err := h.prov.Update(context.Background(), plugin.UpdateRequest{URN: urn(typ, "server.web"), Name: "server.web", Type: typ, ID: id,
		OldInputs: in, OldOutputs: out, NewInputs: bigger, Timeout: 120})
	if err != nil {
		t.Fatal(err)
	}
	if str(upd.Properties, "flavor") != "v3-standard-4" || str(upd.Properties, "ipv4") != str(out, "ipv4") {
		t.Fatalf("after the resize: %v", upd.Properties)
	}
	if r := h.read(t, typ, "server.web", id, bigger, upd.Properties); r.Outputs == nil || str(r.Outputs, "flavor") != "v3-standard-4" {
		t.Fatalf("read after the resize: %+v", r.Outputs)
	}
	if _, err := h.prov.Delete(context.Background(), plugin.DeleteRequest{URN: urn(typ, "server.web"), Type: typ, ID: id, Inputs: bigger, Outputs: upd.Properties, Timeout: 60}); err != nil {
		t.Fatal(err)
	}
	if r := h.read(t, typ, "server.web", id, bigger, upd.Properties); r.Outputs != nil {
		t.Errorf("read after delete: %+v", r)
	}
}

// TestOpenStackRefreshFindsAServerDeletedOutside: a server deleted at the
// cloud, not through the tool, reads back as gone.
func TestOpenStackRefreshFindsAServerDeletedOutside(t *testing.T) {
	sb, h := openstackHarness(t)
	typ := tokens.Type("cosocial:openstack:Server")
	in := resource.NewPropertyMapFromMap(map[string]any{"name": "cosocial-web", "region": "ca-ymq-1", "flavor": "v3-standard-2", "image": "Debian 12", "diskGb": 40})
	id, out := h.create(t, typ, "server.web", in)
	outside, err := openstack.New(openstack.Config{Region: "ca-ymq-1", Env: sb.Env(), Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := outside.DeleteServer(context.Background(), string(id)); err != nil {
		t.Fatal(err)
	}
	if r := h.read(t, typ, "server.web", id, in, out); r.Outputs != nil {
		t.Errorf("read of a server deleted outside the tool: %+v", r.Outputs)
	}
}

// Refused credentials stop the first thing a plan asks, in Keystone's
// words: the engine's client configures in the background and reports a
// failed Configure on the next call.
func TestOpenStackCredentialsKeystoneRefuses(t *testing.T) {
	_, prov, err := openstackPlugin(t, map[string]string{"OS_PASSWORD": "not-the-password"})
	if err == nil {
		typ := tokens.Type("cosocial:openstack:Server")
		_, err = prov.Check(context.Background(), plugin.CheckRequest{URN: urn(typ, "server.web"), Name: "server.web", Type: typ,
			News: resource.PropertyMap{"name": resource.NewProperty("x"), "region": resource.NewProperty("ca-ymq-1"),
				"flavor": resource.NewProperty("v3-standard-2"), "image": resource.NewProperty("Debian 12")}})
	}
	if err == nil || !strings.Contains(err.Error(), "requires authentication") || strings.Contains(err.Error(), "not-the-password") {
		t.Fatalf("a wrong password: %v", err)
	}
}

// TestOpenStackDatabaseVolumeExtendsInPlace: a self-managed database's
// larger disk is an update, never a replacement, and it reaches Cinder as
// an extend of the same volume, with no volume or server made anew.
// Deleted outside the tool, a refresh finds it gone.
func TestOpenStackDatabaseVolumeExtendsInPlace(t *testing.T) {
	sb, h := openstackHarness(t)
	typ := tokens.Type("cosocial:openstack:Database")
	in := databaseInputs()
	id, out := h.create(t, typ, "database.main", in)
	if id == "" || str(out, "host") == "" || !out["passwords"].IsSecret() {
		t.Fatalf("created %s %v", id, out)
	}
	bigger := with(in, "diskGb", 80)
	d := h.diff(t, typ, "database.main", id, in, out, bigger)
	if d.Changes != plugin.DiffSome || len(d.ReplaceKeys) != 0 || d.DetailedDiff["diskGb"].Kind != plugin.DiffUpdate {
		t.Fatalf("disk diff = %+v: a larger disk must never replace a database", d)
	}
	before := len(sb.OS.Requests())
	upd, err := h.prov.Update(context.Background(), plugin.UpdateRequest{URN: urn(typ, "database.main"), Name: "database.main", Type: typ, ID: id,
		OldInputs: in, OldOutputs: out, NewInputs: bigger, Timeout: 120})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Properties["diskGb"].NumberValue() != 80 || str(upd.Properties, "host") != str(out, "host") {
		t.Fatalf("after the extend: %v", upd.Properties)
	}
	extends := 0
	for _, r := range sb.OS.Requests()[before:] {
		switch {
		case r.Method == "POST" && strings.HasSuffix(r.Path, "/action") && strings.Contains(r.Path, "/volumes/"):
			extends++
		case r.Method == "POST" && (strings.HasSuffix(r.Path, "/volumes") || strings.HasSuffix(r.Path, "/servers")):
			t.Errorf("the extend made something anew: %s %s", r.Method, r.Path)
		case r.Method == "DELETE":
			t.Errorf("the extend deleted something: %s %s", r.Method, r.Path)
		}
	}
	if extends != 1 {
		t.Errorf("%d volume actions for one extend", extends)
	}
	if r := h.read(t, typ, "database.main", id, bigger, upd.Properties); r.Outputs == nil || r.Outputs["diskGb"].NumberValue() != 80 {
		t.Fatalf("read after the extend: %+v", r.Outputs)
	}

	if _, err := h.prov.Delete(context.Background(), plugin.DeleteRequest{URN: urn(typ, "database.main"), Type: typ, ID: id, Inputs: bigger, Outputs: upd.Properties, Timeout: 120}); err != nil {
		t.Fatal(err)
	}
	if r := h.read(t, typ, "database.main", id, bigger, upd.Properties); r.Outputs != nil {
		t.Errorf("read after delete: %+v", r.Outputs)
	}
}

// TestOpenStackZoneThroughThePlugin: Designate's zone as a resource: made
// with its name servers as outputs, its TTL changed in place, another name
// a replacement, and gone on a refresh once deleted.
func TestOpenStackZoneThroughThePlugin(t *testing.T) {
	_, h := openstackHarness(t)
	typ := tokens.Type("cosocial:openstack:DnsZone")
	in := resource.NewPropertyMapFromMap(map[string]any{"zone": "cosocial.ca", "email": "hostmaster@cosocial.ca", "ttl": 3600})
	if _, fails := h.check(t, typ, "dns.cosocial", nil, with(in, "email", "hostmaster")); len(fails) != 1 || fails[0].Property != "email" {
		t.Errorf("an email without @: %v", fails)
	}
	id, out := h.create(t, typ, "dns.cosocial", in)
	if ns := out["nameServers"]; id == "" || !ns.IsArray() || len(ns.ArrayValue()) == 0 {
		t.Fatalf("created %s %v", id, out)
	}
	shorter := with(in, "ttl", 300)
	if d := h.diff(t, typ, "dns.cosocial", id, in, out, shorter); d.Changes != plugin.DiffSome || len(d.ReplaceKeys) != 0 {
		t.Errorf("a TTL change: %+v", d)
	}
	if d := h.diff(t, typ, "dns.cosocial", id, in, out, with(in, "zone", "cosocial.org")); len(d.ReplaceKeys) != 1 || d.ReplaceKeys[0] != "zone" {
		t.Errorf("another name: %+v", d)
	}
	upd, err := h.prov.Update(context.Background(), plugin.UpdateRequest{URN: urn(typ, "dns.cosocial"), Name: "dns.cosocial", Type: typ, ID: id, OldInputs: in, OldOutputs: out, NewInputs: shorter, Timeout: 60})
	if err != nil {
		t.Fatal(err)
	}
	if r := h.read(t, typ, "dns.cosocial", id, shorter, upd.Properties); r.Outputs == nil || r.Outputs["ttl"].NumberValue() != 300 {
		t.Fatalf("read after the update: %+v", r.Outputs)
	}
	if _, err := h.prov.Delete(context.Background(), plugin.DeleteRequest{URN: urn(typ, "dns.cosocial"), Type: typ, ID: id, Inputs: shorter, Outputs: upd.Properties, Timeout: 60}); err != nil {
		t.Fatal(err)
	}
	if r := h.read(t, typ, "dns.cosocial", id, shorter, upd.Properties); r.Outputs != nil {
		t.Errorf("read after delete: %+v", r.Outputs)
	}
}

// TestOpenStackCheckAsksTheCloud: a flavor or an image the cloud does not
// have fails Check, property by property, in Nova's and Glance's words,
// so that a plan stops before anything is made.
func TestOpenStackCheckAsksTheCloud(t *testing.T) {
	sb, h := openstackHarness(t)
	typ := tokens.Type("cosocial:openstack:Server")
	in := resource.NewPropertyMapFromMap(map[string]any{"name": "cosocial-web", "region": "ca-ymq-1", "flavor": "v3-standard-64", "image": "Windows 95"})
	_, fails := h.check(t, typ, "server.web", nil, in)
	if len(fails) != 2 || fails[0].Property != "flavor" || !strings.Contains(fails[0].Reason, "Flavor v3-standard-64 could not be found.") ||
		fails[1].Property != "image" || !strings.Contains(fails[1].Reason, `no image "Windows 95"`) {
		t.Fatalf("check failures: %+v", fails)
	}
	if _, fails := h.check(t, typ, "server.web", nil, with(with(in, "flavor", "v3-standard-2"), "image", "Debian 12")); len(fails) != 0 {
		t.Errorf("what the cloud offers fails: %+v", fails)
	}
	for _, r := range sb.OS.Requests() {
		if r.Method != "GET" && !strings.HasSuffix(r.Path, "/auth/tokens") {
			t.Errorf("Check changed something: %s %s", r.Method, r.Path)
		}
	}
}

// TestOpenStackCheckLeavesRunningFlavorsAlone: a server made on a flavor
// the cloud has since retired still plans; only a change is asked about.
func TestOpenStackCheckLeavesRunningFlavorsAlone(t *testing.T) {
	_, h := openstackHarness(t)
	typ := tokens.Type("cosocial:openstack:Server")
	old := resource.NewPropertyMapFromMap(map[string]any{"name": "cosocial-web", "region": "ca-ymq-1", "flavor": "v2-highcpu-4", "image": "Debian 12"})
	if _, fails := h.check(t, typ, "server.web", old, old); len(fails) != 0 {
		t.Errorf("an unchanged, retired flavor: %+v", fails)
	}
	if _, fails := h.check(t, typ, "server.web", old, with(old, "flavor", "v2-highcpu-8")); len(fails) != 1 || fails[0].Property != "flavor" {
		t.Errorf("a change to another retired flavor: %+v", fails)
	}
}

// TestDatabaseKeysAreReadAtCreationOnly: a new volunteer's key changes no
// database: Nova sets a server's keys at its first boot.
func TestDatabaseKeysAreReadAtCreationOnly(t *testing.T) {
	_, h := openstackHarness(t)
	typ := tokens.Type("cosocial:openstack:Database")
	in := with(databaseInputs(), "sshKeys", []any{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBQ8ytWQ4iCVH2kNpyW3XUvA9o4l8lE4U7GyB2g9Ew0 ops@cosocial.ca"})
	id, out := h.create(t, typ, "database.main", in)
	more := with(in, "sshKeys", []any{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBQ8ytWQ4iCVH2kNpyW3XUvA9o4l8lE4U7GyB2g9Ew0 ops@cosocial.ca", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB new@cosocial.ca"})
	if d := h.diff(t, typ, "database.main", id, in, out, more); d.Changes != plugin.DiffNone {
		t.Errorf("another key: %+v", d)
	}
}
