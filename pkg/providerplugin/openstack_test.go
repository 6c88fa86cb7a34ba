package providerplugin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

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

func TestOpenStackServerThroughThePlugin(t *testing.T) {
	_, prov, err := openstackPlugin(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{prov: prov}
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
	if _, err := prov.Delete(context.Background(), plugin.DeleteRequest{URN: urn(typ, "server.web"), Type: typ, ID: id, Inputs: in, Outputs: out, Timeout: 60}); err != nil {
		t.Fatal(err)
	}
	if r := h.read(t, typ, "server.web", id, in, out); r.Outputs != nil {
		t.Errorf("read after delete: %+v", r)
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
