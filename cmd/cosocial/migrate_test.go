package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrateRehearsalOnTheSandbox rehearses a move off DigitalOcean
// through the binary: the target stood up on the sandbox's OVHcloud, the
// source seeded in its DigitalOcean, the plan, the bulk copy, the status
// and a verify that finds the objects copied and the database not yet
// (it moves in the window).
func TestMigrateRehearsalOnTheSandbox(t *testing.T) {
	env := standUpEnv(t)
	dir := t.TempDir()
	for _, name := range []string{"target.hcl", "today.hcl"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "pkg", "migrate", "testdata", "coop", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	step := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := cosocialEnv(t, dir, env, append(args, "-f", ".")...)
		if code != want {
			t.Fatalf("cosocial %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}
	step(0, "up", "--sandbox", "--yes")
	defer cosocialEnv(t, dir, env, "destroy", "--sandbox", "--include-data", "--confirm", "northwind.example.ca", "-f", ".")

	// An hour's TTL on the source's records blocks a ten-minute window.
	out := step(1, "migrate", "plan", "--sandbox", "--json")
	var plan struct {
		Plan struct {
			Pairs    []string
			Blockers []string
		}
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &plan); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Join(plan.Plan.Pairs, " ") != "server.web database.main bucket.media" || len(plan.Plan.Blockers) == 0 ||
		!strings.Contains(plan.Plan.Blockers[0], "has a TTL of 1 h") {
		t.Fatalf("plan %+v", plan.Plan)
	}
	for _, b := range plan.Plan.Blockers {
		if strings.Contains(b, "not stood up") {
			t.Errorf("the target was stood up, yet: %s", b)
		}
	}

	out = step(0, "migrate", "run", "--sandbox", "--bulk-only", "--dump-restore")
	if !strings.Contains(out, "copy-media-objects") || !strings.Contains(out, "Bulk copies done") {
		t.Fatalf("run:\n%s", out)
	}
	out = step(0, "migrate", "status", "--sandbox")
	if !strings.Contains(out, "copy-media-objects  done") || !strings.Contains(out, "preflight-main      done") {
		t.Fatalf("status:\n%s", out)
	}
	out = step(1, "migrate", "verify", "--sandbox")
	if !strings.Contains(out, "✓ bucket.media: 300 objects compared; 0 missing") || !strings.Contains(out, "✗ database.main") {
		t.Fatalf("verify:\n%s", out)
	}
	// The plan's blockers hold the window back; past them, the cutover
	// needs servers that answer SSH, which the sandbox's do not.
	out = step(1, "migrate", "run", "--sandbox", "--dump-restore", "--yes")
	if !strings.Contains(out, "The cutover is not started") || !strings.Contains(out, "has a TTL of 1 h") {
		t.Fatalf("cutover with blockers:\n%s", out)
	}
	out = step(1, "migrate", "run", "--sandbox", "--dump-restore", "--yes", "--ignore-blockers")
	if !strings.Contains(out, "the sandbox's servers run no SSH") {
		t.Fatalf("cutover on the sandbox:\n%s", out)
	}
}
