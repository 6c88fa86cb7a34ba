package measure

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/db/chosendb"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/dbplan"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/pgserver"
)

const desc = `coop "c" {
  name   = "C"
  domain = "c.example.ca"
}
provider "ovh" "bhs" {
  endpoint = "ovh-ca"
  project  = "p"
  region   = "BHS5"
}
database "main" {
  provider = provider.bhs
  engine   = "postgresql"
  version  = "16"
  plan     = "essential"
  flavor   = "db1-4"
  disk_gb  = 80
}
`

func options(t *testing.T, env map[string]string) *Options {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "cosocial.hcl")
	if err := os.WriteFile(file, []byte(desc), 0o644); err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	return &Options{Deps: chosendb.Deps{
		Deps: preflight.Deps{
			IO: ios, Load: func() *config.Result { return config.Load(file) }, Catalog: catalog.Default,
			Now: time.Now, File: func() string { return file }, StackName: func() string { return "production" },
			OpenStack: func(context.Context, *model.Description, bool) (*factory.OpenedStack, error) {
				t.Fatal("the stack was opened though a DSN was given")
				return nil, nil
			},
		},
		StackDir: func(bool) string { return filepath.Join(dir, ".cosocial") },
	}, Getenv: func(k string) string { return env[k] }, Format: "table", Largest: 10}
}

func output(opts *Options) (string, string) {
	return opts.IO.Out.(*bytes.Buffer).String(), opts.IO.ErrOut.(*bytes.Buffer).String()
}

func TestMeasureThroughADSNKeepsTheSample(t *testing.T) {
	if _, err := pgserver.BinDir(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	ctx := context.Background()
	c, err := pgserver.Create(ctx, filepath.Join(pgserver.TempDir(t), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Destroy(context.Background()) })
	const password = "correct-horse-battery"
	if err := c.Exec(ctx, "postgres", "CREATE ROLE app LOGIN PASSWORD "+pgserver.QuoteLiteral(password), "CREATE DATABASE app OWNER app"); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, "app", "CREATE TABLE notes (id serial PRIMARY KEY, body text)", "INSERT INTO notes (body) SELECT repeat('x', 500) FROM generate_series(1, 2000)", "ALTER TABLE notes OWNER TO app", "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	// The password comes from PGPASSWORD, as psql takes it, not the URL.
	t.Setenv("PGPASSWORD", password)
	dsn := strings.Replace(c.DSN("app", password, "app"), ":"+password+"@", "@", 1)
	if strings.Contains(dsn, password) {
		t.Fatalf("could not take the password out of %s", dsn)
	}
	opts := options(t, map[string]string{"COSOCIAL_DB_DSN": dsn})
	if err := measureRun(opts); err != nil {
		t.Fatal(err)
	}
	out, errOut := output(opts)
	if !strings.Contains(out, "Database app") || !strings.Contains(out, "notes") || !strings.Contains(out, "80.0 GB (") {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(out, "WAL size not measured") {
		t.Errorf("a role without pg_monitor should be told the WAL is not measured:\n%s", out)
	}
	if strings.Contains(out+errOut, password) {
		t.Fatal("the password was printed")
	}
	h, err := dbplan.LoadHistory(dbplan.HistoryPath(opts.StackDir(false), "production", "main"))
	if err != nil || len(h) != 1 || h[0].DatabaseBytes <= 0 || h[0].DiskBytes != 80*dbplan.GB {
		t.Fatalf("history %+v, %v", h, err)
	}
	// Measured again ten minutes on, in another format: still one sample,
	// the newer. (The kept sample is moved ten minutes back.)
	h[0].Time = h[0].Time.Add(-10 * time.Minute)
	if err := h.Save(dbplan.HistoryPath(opts.StackDir(false), "production", "main")); err != nil {
		t.Fatal(err)
	}
	first := h[0].Time
	opts.Format = "json"
	if err := measureRun(opts); err != nil {
		t.Fatal(err)
	}
	if h, err = dbplan.LoadHistory(dbplan.HistoryPath(opts.StackDir(false), "production", "main")); err != nil || len(h) != 1 || !h[0].Time.After(first) {
		t.Fatalf("after a second look within the hour: %+v, %v", h, err)
	}
	if !strings.Contains(out, "no Mastodon tables") {
		t.Errorf("a database that is not Mastodon's is not named as such:\n%s", out)
	}

	// The history says 1.3 GB a week ago; the DSN reaches a database of a
	// few MB: another database, refused, nothing kept, unless forced.
	h[0].Time, h[0].DatabaseBytes = h[0].Time.Add(-7*24*time.Hour), 1_300_000_000
	if err := h.Save(dbplan.HistoryPath(opts.StackDir(false), "production", "main")); err != nil {
		t.Fatal(err)
	}
	err = measureRun(opts)
	if err == nil || !strings.Contains(err.Error(), "this looks like another database") || !strings.Contains(err.Error(), "1.3 GB") {
		t.Fatalf("a sample out of line: %v", err)
	}
	if h, _ = dbplan.LoadHistory(dbplan.HistoryPath(opts.StackDir(false), "production", "main")); len(h) != 1 {
		t.Fatalf("the refused sample was kept: %+v", h)
	}
	opts.Force = true
	if err := measureRun(opts); err != nil {
		t.Fatal(err)
	}
	if h, _ = dbplan.LoadHistory(dbplan.HistoryPath(opts.StackDir(false), "production", "main")); len(h) != 2 {
		t.Fatalf("--force did not keep the sample: %+v", h)
	}
}

func TestUnreachableDatabase(t *testing.T) {
	opts := options(t, nil)
	opts.DSN = "postgres://app:hunter2@127.0.0.1:1/app?connect_timeout=2"
	err := measureRun(opts)
	if err == nil || !strings.Contains(err.Error(), "cannot reach the database at 127.0.0.1:1/app") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(dbplan.HistoryPath(opts.StackDir(false), "production", "main")); !os.IsNotExist(err) {
		t.Fatal("a failed measurement left a history")
	}
}

func TestImportMergesIntoTheHistory(t *testing.T) {
	opts := options(t, nil)
	csv := filepath.Join(t.TempDir(), "sizes.csv")
	os.WriteFile(csv, []byte("date,size\n2025-01-01,60 GB\n2025-06-01,80 GB\n"), 0o644)
	opts.Import = csv
	if err := measureRun(opts); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(opts); !strings.Contains(out, "Imported 2 samples of database.main, 2025-01-01 to 2025-06-01; the history now holds 2") {
		t.Fatalf("%s", out)
	}
	os.WriteFile(csv, []byte("2025-03-01,70 GB\n2025-02-01,65 GB\n"), 0o644)
	if err := measureRun(opts); err == nil || !strings.Contains(err.Error(), "sizes.csv line 2: 2025-02-01 comes before 2025-03-01") {
		t.Fatalf("out of order: %v", err)
	}
	h, _ := dbplan.LoadHistory(dbplan.HistoryPath(opts.StackDir(false), "production", "main"))
	if len(h) != 2 {
		t.Fatalf("a refused import changed the history: %+v", h)
	}
	// From standard input, as `--import -`.
	opts.Import = "-"
	opts.IO.In = strings.NewReader("2025-07-01,82 GB\n")
	if err := measureRun(opts); err != nil {
		t.Fatal(err)
	}
	if h, _ = dbplan.LoadHistory(dbplan.HistoryPath(opts.StackDir(false), "production", "main")); len(h) != 3 {
		t.Fatalf("after an import from standard input: %+v", h)
	}
}
