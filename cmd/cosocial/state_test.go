package main

import (
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
