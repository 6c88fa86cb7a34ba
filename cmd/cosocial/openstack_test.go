package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenStackServerOnTheSandbox stands a server up at the sandbox's
// OpenStack through the engine, from a provider that names a clouds.yaml
// entry: Canadian-owned and in Canada, planned again with nothing to do,
// its flavor changed in place, then taken down.
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
	if !strings.Contains(out, "server northwind-web: ACTIVE") || !strings.Contains(out, "server.web.ipv4") {
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
	step(0, "destroy", "--sandbox", "--yes")
}
