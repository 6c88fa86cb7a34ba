package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDatabaseResizeOnTheSandbox is issue 6 end to end: a database stood
// up on the sandbox is measured through the stack's outputs, a year of
// history is imported, the forecast dates the full disk, resize --write
// changes the one line, and plan shows the database resized in place.
func TestDatabaseResizeOnTheSandbox(t *testing.T) {
	r := newRehearsal(t, map[string]string{"cosocial.hcl": stacks + "/starter/cosocial.hcl"})
	dir, env, step := r.dir, r.env, r.step
	src, err := os.ReadFile(stacks + "/starter/cosocial.hcl")
	if err != nil {
		t.Fatal(err)
	}
	desc := filepath.Join(dir, "cosocial.hcl")
	step(0, "up", "--sandbox", "--yes")
	defer cosocialEnv(t, dir, env, "destroy", "--sandbox", "--include-data", "--confirm", "northwind.example.ca")

	// Measured through the stack's outputs: the connection and password
	// never leave the process.
	out, _ := r.run(0, "db", "measure", "--sandbox", "--format", "json")
	var m struct {
		Measurement struct {
			Database string
			Sample   struct {
				DatabaseBytes int64 `json:"database_bytes"`
				DiskBytes     int64 `json:"disk_bytes"`
			}
		}
		History string `json:"history_file"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if m.Measurement.Sample.DatabaseBytes <= 0 || m.Measurement.Sample.DiskBytes != 80e9 {
		t.Fatalf("measurement %+v", m.Measurement)
	}
	if !strings.Contains(m.History, filepath.Join(".cosocial", "sandbox", "history")) {
		t.Errorf("a sandbox sample went to %s", m.History)
	}
	// A rehearsal's tiny database would make a poor year: start the
	// history over from the co-op's records instead.
	if err := os.Remove(m.History); err != nil {
		t.Fatal(err)
	}
	csv := "date,size\n2025-11-02,40 GB\n2026-01-04,44 GB\n2026-03-01,48.5 GB\n2026-05-03,53 GB\n2026-07-05,57 GB\n2026-09-06,61.5 GB\n2026-11-01,66 GB\n"
	if err := os.WriteFile(filepath.Join(dir, "sizes.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	step(0, "db", "measure", "--sandbox", "--import", "sizes.csv")
	out = step(0, "db", "forecast", "--sandbox")
	for _, want := range []string{"linear growth", "80 %  reached", "100 %  about 2027-"} {
		if !strings.Contains(out, want) {
			t.Errorf("forecast lacks %q:\n%s", want, out)
		}
	}
	out = step(0, "db", "resize", "--sandbox", "--write")
	if !strings.Contains(out, "recommended  db1-4, 120 GB") {
		t.Fatalf("resize:\n%s", out)
	}
	after, err := os.ReadFile(desc)
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Replace(src, []byte("disk_gb  = 80"), []byte("disk_gb  = 120"), 1); !bytes.Equal(after, want) {
		t.Fatalf("resize --write changed more than disk_gb:\n%s", after)
	}

	out, _ = r.run(2, "plan", "--sandbox", "--detailed-exitcode", "--json")
	var plan struct {
		Changes []struct {
			Address string
			Action  string
		}
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	changed := map[string]string{}
	for _, c := range plan.Changes {
		if c.Action != "same" {
			changed[c.Address] = c.Action
		}
	}
	if len(changed) != 1 || changed["database.main"] != "update" {
		t.Fatalf("plan after the resize: %v", changed)
	}
	checkNoSecrets(t, r.transcript.String(), filepath.Join(dir, ".cosocial"), sandboxSecrets(t, r.sandboxHome()))
}
