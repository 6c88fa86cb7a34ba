package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrateRehearsalOnTheSandbox rehearses a move off DigitalOcean
// through the binary: the target stood up on the sandbox's OVHcloud, the
// source seeded in its DigitalOcean, the plan, the bulk copy, the status
// and a verify that finds the objects copied and the database's rows
// replicated, its sequences not yet (the window sets them). The commands
// are the runbook's (docs/migration.md), as written: the low-downtime
// mode, whose subscription OVHcloud's admin makes through aiven_extras.
func TestMigrateRehearsalOnTheSandbox(t *testing.T) {
	coop := filepath.Join("..", "..", "pkg", "migrate", "testdata", "coop")
	r := newRehearsal(t, map[string]string{"target.hcl": filepath.Join(coop, "target.hcl"), "today.hcl": filepath.Join(coop, "today.hcl")})
	dir, env := r.dir, r.env
	// The folder is the description: the target, with its migration's source beside it.
	step := func(want int, args ...string) string {
		t.Helper()
		return r.step(want, append(args, "-f", ".")...)
	}
	step(0, "up", "--sandbox", "--yes")
	defer cosocialEnv(t, dir, env, "destroy", "--sandbox", "--include-data", "--confirm", "northwind.example.ca", "-f", ".")

	// An hour's TTL on the source's records blocks a ten-minute window.
	out, _ := r.run(1, "migrate", "plan", "--sandbox", "--json", "-f", ".")
	var plan struct {
		Plan struct {
			Pairs    []string
			Blockers []string
		}
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
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

	out = step(0, "migrate", "run", "--sandbox", "--bulk-only")
	if !strings.Contains(out, "copy-media-objects") || !strings.Contains(out, "replicate-main      done") || !strings.Contains(out, "Bulk copies done") {
		t.Fatalf("run:\n%s", out)
	}
	out = step(1, "migrate", "status", "--sandbox") // bulk copies done, the window not run: not done
	if !strings.Contains(out, "copy-media-objects  done") || !strings.Contains(out, "preflight-main      done") || !strings.Contains(out, "Under way") {
		t.Fatalf("status:\n%s", out)
	}
	out = step(1, "migrate", "verify", "--sandbox")
	if !strings.Contains(out, "✓ bucket.media: 300 objects compared; 0 missing") ||
		!strings.Contains(out, "✗ database.main: 5 tables compared, 0 different; 4 of 5 sequences behind the source (the cutover sets them)") {
		t.Fatalf("verify:\n%s", out)
	}
	// The plan's blockers hold the window back; past them, the cutover
	// needs servers that answer SSH, which the sandbox's do not.
	out = step(1, "migrate", "run", "--sandbox", "--yes")
	if !strings.Contains(out, "The cutover is not started") || !strings.Contains(out, "has a TTL of 1 h") {
		t.Fatalf("cutover with blockers:\n%s", out)
	}
	out = step(1, "migrate", "run", "--sandbox", "--yes", "--ignore-blockers")
	if !strings.Contains(out, "the sandbox's DigitalOcean runs no app to move") {
		t.Fatalf("cutover on the sandbox:\n%s", out)
	}
}
