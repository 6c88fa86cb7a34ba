package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/ovh"
)

// TestKilledRunsLeaveNothingBehind stops up and destroy on the starter at
// random points, with Ctrl-C, SIGTERM or kill -9 to the whole process
// group (the engine, the plugin and the sandbox with it), and runs the
// same command again to its end. After each, the simulator holds exactly
// what the state records: no orphan, no duplicate, nothing pending, no
// process of the killed run left. The random points come from a seed
// logged at the start; COSOCIAL_KILL_SEED replays a run.
func TestKilledRunsLeaveNothingBehind(t *testing.T) {
	const wantKills = 20
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("COSOCIAL_KILL_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("COSOCIAL_KILL_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("seed %d (COSOCIAL_KILL_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	env := standUpEnv(t)
	home := sandboxHomeOf(env)
	t.Cleanup(func() { stopLeftovers(t, home) })
	dir := starterFolder(t)
	commands := map[string][]string{
		"up":      {"up", "--sandbox", "--yes"},
		"destroy": {"destroy", "--sandbox", "--include-data", "--confirm", "northwind.example.ca"},
	}
	// lines is about how many lines each prints after its plan.
	lines := map[string]int{"up": 14, "destroy": 8}
	signals := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL}
	kills := map[string]int{}
	for round := 0; kills["up"]+kills["destroy"] < wantKills; round++ {
		if round >= 3*wantKills {
			t.Fatalf("only %v kills in %d rounds: the commands end before the chosen points", kills, round)
		}
		// Each round stops the command once or twice in a row, each
		// time resuming what the last one left, then lets it finish.
		op := []string{"up", "destroy"}[round%2]
		for stop := 1 + rng.IntN(2); stop > 0; stop-- {
			sig := signals[rng.IntN(len(signals))]
			at := 1 + rng.IntN(lines[op])
			r := start(t, dir, env, commands[op]...)
			if !r.awaitProgress(at) {
				if code := r.exit(); code != 0 {
					out, errOut := r.output()
					t.Fatalf("round %d: %s, not stopped: exit %d\n%s%s", round, op, code, out, errOut)
				}
				continue
			}
			r.interrupt(sig)
			kills[op]++
			code := r.exit()
			if sig != syscall.SIGKILL && code != 0 && code != 128+int(sig) {
				out, errOut := r.output()
				t.Fatalf("round %d: %s stopped by %v at progress line %d: exit %d\n%s%s", round, op, sig, at, code, out, errOut)
			}
			t.Logf("round %d: %s stopped by %v at progress line %d (exit %d)", round, op, sig, at, code)
		}
		out, errOut, code := cosocialEnv(t, dir, env, commands[op]...)
		if code != 0 {
			t.Fatalf("round %d: %s to its end: exit %d\n%s%s", round, op, code, out, errOut)
		}
		want := 1
		if op == "destroy" {
			want = 0
		}
		checkHeldIsRecorded(t, dir, home, want)
		if left := processesUnder(home); len(left) != 0 {
			t.Fatalf("round %d: still running after %s ended: %v", round, op, left)
		}
	}
	t.Logf("kills survived: %d of up, %d of destroy; orphans 0, duplicates 0", kills["up"], kills["destroy"])
}

// awaitProgress waits for the n-th line the command prints once it has
// shown its plan, and says whether it came before the command ended.
func (r *running) awaitProgress(n int) bool {
	r.t.Helper()
	hang := time.After(5 * time.Minute)
	for {
		out, errOut := r.output()
		all := "\n" + out + errOut
		for _, plan := range []string{"\nPlan:", "\nDestroy in "} {
			if i := strings.Index(all, plan); i >= 0 && strings.Count(all[i+1:], "\n") > n {
				return true
			}
		}
		select {
		case <-r.changed:
		case <-r.done:
			return false
		case <-hang:
			r.t.Fatalf("no progress line %d after 5 minutes:\n%s", n, all)
		}
	}
}

// checkHeldIsRecorded compares the simulator's records with the stack's
// state: every live server, cluster, bucket and S3 user is one the state
// records, and every one it records is live; want is how many of each.
func checkHeldIsRecorded(t *testing.T, dir, home string, want int) {
	t.Helper()
	held := simulatorIDs(t, home)
	recorded := map[string][]string{}
	b, err := os.ReadFile(filepath.Join(dir, ".cosocial", "sandbox", "state", ".pulumi", "stacks", "cosocial-northwind", "production.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Checkpoint struct {
			Latest struct {
				Resources []struct {
					Type    string         `json:"type"`
					ID      string         `json:"id"`
					Outputs map[string]any `json:"outputs"`
				} `json:"resources"`
				Pending []json.RawMessage `json:"pending_operations"`
			} `json:"latest"`
		} `json:"checkpoint"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if n := len(st.Checkpoint.Latest.Pending); n != 0 {
		t.Errorf("the state still has %d pending operations", n)
	}
	for _, r := range st.Checkpoint.Latest.Resources {
		switch r.Type {
		case "cosocial:ovh:Instance":
			recorded["instances"] = append(recorded["instances"], r.ID)
		case "cosocial:ovh:Database":
			recorded["clusters"] = append(recorded["clusters"], r.ID)
		case "cosocial:ovh:Bucket":
			recorded["buckets"] = append(recorded["buckets"], r.ID)
			recorded["users"] = append(recorded["users"], fmt.Sprint(r.Outputs["userId"]))
		}
	}
	for _, kind := range []string{"instances", "clusters", "buckets", "users"} {
		h, r := held[kind], recorded[kind]
		slices.Sort(h)
		slices.Sort(r)
		if !slices.Equal(h, r) || len(h) != want {
			t.Errorf("%s: the simulator holds %v, the state records %v, want %d", kind, h, r, want)
		}
	}
}

// simulatorIDs lists the IDs of what the OVHcloud simulator holds live,
// by kind, from its records on disk.
func simulatorIDs(t *testing.T, home string) map[string][]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(home, "*", "ovh.json"))
	if len(files) != 1 {
		t.Fatalf("simulator records: %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]json.RawMessage
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	ids := map[string][]string{}
	for kind, raw := range st {
		var m map[string]struct {
			Life *struct {
				At   time.Time `json:"at"`
				Gone bool      `json:"gone"`
			} `json:"life"`
		}
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		for id, rec := range m {
			if rec.Life == nil || !rec.Life.Gone || rec.Life.At.After(time.Now()) {
				ids[kind] = append(ids[kind], id)
			}
		}
	}
	return ids
}

// TestUnrecordedNamesakesAreNotGuessed: when a killed up was creating the
// server and two servers of its name that no state records are found, the
// next up cannot tell which the run made: it stops, names both, and
// changes nothing; once one is deleted by hand, it settles and goes on.
func TestUnrecordedNamesakesAreNotGuessed(t *testing.T) {
	env := standUpEnv(t)
	home := sandboxHomeOf(env)
	t.Cleanup(func() { stopLeftovers(t, home) })
	dir := starterFolder(t)
	r := start(t, dir, env, "up", "--sandbox", "--yes")
	r.await("northwind-web: BUILD")
	r.interrupt(syscall.SIGKILL)
	r.exit()

	// Someone makes a namesake by hand, through the served sandbox.
	served := start(t, dir, env, "sandbox")
	served.await("request logs")
	out, _ := served.output()
	cloud := sandboxOVH(t, out)
	ctx := context.Background()
	byHand, err := cloud.CreateServer(ctx, provider.ServerSpec{Name: "northwind-web", Region: "BHS5", Flavor: "b3-8", Image: "Debian 12"})
	if err != nil {
		t.Fatal(err)
	}
	served.interrupt(syscall.SIGINT)
	served.exit()

	stdout, stderr, code := cosocialEnv(t, dir, env, "up", "--sandbox", "--yes")
	if code == 0 || !strings.Contains(stderr, "Cannot tell which resource") || !strings.Contains(stderr, byHand.ID) || !strings.Contains(stderr, "Nothing was changed") {
		t.Fatalf("up with two unrecorded namesakes: exit %d\n%s%s", code, stdout, stderr)
	}
	if held := simulatorRecords(t, home); held["instances"] != 2 || held["clusters"] != 0 {
		t.Fatalf("the refused up changed things: %v", held)
	}

	served = start(t, dir, env, "sandbox")
	served.await("request logs")
	out, _ = served.output()
	if err := sandboxOVH(t, out).DeleteServer(ctx, byHand.ID); err != nil {
		t.Fatal(err)
	}
	served.interrupt(syscall.SIGINT)
	served.exit()
	if stdout, stderr, code := cosocialEnv(t, dir, env, "up", "--sandbox", "--yes"); code != 0 || !strings.Contains(stderr, "taking back server northwind-web") {
		t.Fatalf("up once the namesake is gone: exit %d\n%s%s", code, stdout, stderr)
	}
	checkHeldIsRecorded(t, dir, home, 1)
}

// sandboxOVH is a client of the served sandbox's OVHcloud simulator, with
// the credentials from the env file `cosocial sandbox` printed.
func sandboxOVH(t *testing.T, out string) *ovh.Cloud {
	t.Helper()
	_, rest, ok := strings.Cut(out, "credentials   ")
	path, _, _ := strings.Cut(rest, " ")
	b, err := os.ReadFile(path)
	if !ok || err != nil {
		t.Fatalf("the sandbox's env file (%q): %v\n%s", path, err, out)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[k] = v
		}
	}
	cloud, err := ovh.New(ovh.Config{
		Endpoint: vars["OVH_ENDPOINT"], Project: "northwind", Region: "BHS5",
		ApplicationKey: vars["OVH_APPLICATION_KEY"], ApplicationSecret: vars["OVH_APPLICATION_SECRET"], ConsumerKey: vars["OVH_CONSUMER_KEY"],
	})
	if err != nil {
		t.Fatal(err)
	}
	return cloud
}
