package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrokenStateIsExplained: a wrong passphrase, a truncated state and an
// emptied one reach the volunteer as what happened and what to do, change
// nothing, and never advise pulumi commands. The emptied state is caught
// before the plan proposes making everything a second time.
func TestBrokenStateIsExplained(t *testing.T) {
	r := newRehearsal(t, map[string]string{"cosocial.hcl": stacks + "/starter/cosocial.hcl"})
	r.run(0, "up", "--sandbox", "--yes")
	states, _ := filepath.Glob(filepath.Join(r.dir, ".cosocial", "sandbox", "state", ".pulumi", "stacks", "*", "production.json"))
	if len(states) != 1 {
		t.Fatalf("state files: %v", states)
	}
	good, err := os.ReadFile(states[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
		env        []string
		state      []byte
	}{
		{"wrong passphrase", "Error: Wrong passphrase: COSOCIAL_PASSPHRASE does not open this stack's secrets", []string{"COSOCIAL_PASSPHRASE=not-the-one"}, good},
		{"truncated", "Error: Damaged state: the stack's state cannot be read", nil, good[:len(good)/3]},
		{"emptied", "Error: The state lost its resources: the stack's last update", nil, []byte("{}\n")},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			if err := os.WriteFile(states[0], tc.state, 0o600); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(states[0], good, 0o600)
			for _, cmd := range [][]string{{"plan", "--sandbox"}, {"up", "--sandbox", "--yes"}} {
				out, errOut, code := cosocialEnv(t, r.dir, append(append([]string{}, r.env...), tc.env...), cmd...)
				if code != 1 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "Nothing was changed") || strings.Contains(errOut, "pulumi ") || strings.Contains(errOut, "failed to run") {
					t.Errorf("%s: exit %d\n%s%s", cmd, code, out, errOut)
				}
			}
		})
	}
	// Put back, the state is whole again: nothing to do, nothing made twice.
	r.run(0, "plan", "--sandbox", "--detailed-exitcode")
	if held := simulatorRecords(t, r.sandboxHome()); held["instances"] != 1 || held["clusters"] != 1 {
		t.Errorf("the simulator holds %v", held)
	}
}

// TestTheSandboxMayMove: when the sandbox's ports are taken by something
// else, its simulators start on others, and the stack still works: drift
// and refresh reach them (they called the recorded port before, and
// failed with "connection refused" from then on), and up finds nothing to
// do but move the service to the database's and bucket's new ports.
func TestTheSandboxMayMove(t *testing.T) {
	r := newRehearsal(t, map[string]string{"cosocial.hcl": stacks + "/starter/cosocial.hcl"})
	r.run(0, "up", "--sandbox", "--yes")
	files, _ := filepath.Glob(filepath.Join(r.sandboxHome(), "*", "ports.json"))
	if len(files) != 1 {
		t.Fatalf("ports: %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var ports map[string]int
	if err := json.Unmarshal(b, &ports); err != nil || ports["ovh"] == 0 {
		t.Fatalf("ports.json %s: %v", b, err)
	}
	// Something else serves on every port the sandbox used.
	for name, port := range ports {
		if port == 0 {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("holding the %s port %d: %v", name, port, err)
		}
		defer l.Close()
	}
	r.run(0, "drift", "--sandbox")
	r.run(0, "refresh", "--sandbox")
	// The service follows its database and bucket to their new ports: a
	// redeployment of its env file, and nothing else changes.
	out, _ := r.run(2, "plan", "--sandbox", "--detailed-exitcode", "--json")
	var plan struct {
		Changes []struct {
			Address, Action string
			Properties      []struct{ Name string }
		}
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	for _, c := range plan.Changes {
		if c.Address != "service.mastodon.northwind" || c.Action != "update" {
			t.Errorf("after the move, %s: %s", c.Address, c.Action)
		}
		for _, p := range c.Properties {
			if p.Name != "db_port" && p.Name != "media_endpoint" {
				t.Errorf("after the move, %s changes %s", c.Address, p.Name)
			}
		}
	}
	r.run(0, "up", "--sandbox", "--yes")
	r.run(0, "plan", "--sandbox", "--detailed-exitcode")
	if b2, _ := os.ReadFile(files[0]); string(b2) == string(b) {
		t.Errorf("the sandbox did not move: %s", b2)
	}
}
