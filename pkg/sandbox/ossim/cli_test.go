package ossim_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
		cmd := exec.Command("openstack", append(append([]string{"--os-cloud", "vexxhost"}, c.args...), "-f", "value")...)
		cmd.Env = append(os.Environ(), "OS_CLIENT_CONFIG_FILE="+clouds)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("openstack %s: %v\n%s", strings.Join(c.args, " "), err, out)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("openstack %s: no %q in\n%s", strings.Join(c.args, " "), w, out)
			}
		}
	}
	for _, r := range sb.OS.Requests() {
		// openstacksdk looks an extension up by its name first, which
		// Neutron answers 404 (it knows aliases), then lists them.
		if r.Status == 404 && !strings.HasPrefix(r.Path, "/network/v2.0/extensions/") {
			t.Errorf("the CLI met a 404: %s %s", r.Method, r.Path)
		}
	}
}
