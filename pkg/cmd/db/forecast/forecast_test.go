package forecast

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/internal/golden"
	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/db/chosendb"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/dbplan"
	"github.com/cosocial/cosocial/pkg/iostreams"
)

func TestFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var got *Options
	cmd := NewCmdForecast(&factory.Factory{IOStreams: ios}, func(o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"main", "--format", "markdown", "--disk-gb", "200", "--sandbox"})
	if _, err := cmd.ExecuteC(); err != nil {
		t.Fatal(err)
	}
	if got.Database != "main" || got.Format != "markdown" || got.DiskGB != 200 || !got.Sandbox {
		t.Fatalf("%+v", got)
	}
	cmd = NewCmdForecast(&factory.Factory{IOStreams: ios}, func(o *Options) error { return nil })
	cmd.SetArgs([]string{"--format", "html"})
	cmd.SetErr(ios.ErrOut)
	var fe *exit.FlagError
	if _, err := cmd.ExecuteC(); !errors.As(err, &fe) {
		t.Fatalf("--format html: %v", err)
	}
	// A disk of no size is a mistake, not "use the description's".
	for _, bad := range []string{"0", "-5"} {
		cmd = NewCmdForecast(&factory.Factory{IOStreams: ios}, func(o *Options) error { return nil })
		cmd.SetArgs([]string{"--disk-gb", bad})
		cmd.SetErr(ios.ErrOut)
		if _, err := cmd.ExecuteC(); !errors.As(err, &fe) || !strings.Contains(err.Error(), "above 0") {
			t.Fatalf("--disk-gb %s: %v", bad, err)
		}
	}
}

const starter = `coop "c" {
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
  disk_gb  = 100
}
`

var today = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// setup writes a description and a history and returns the options to
// run forecast on them.
func setup(t *testing.T, h dbplan.History) *Options {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "cosocial.hcl")
	if err := os.WriteFile(file, []byte(starter), 0o644); err != nil {
		t.Fatal(err)
	}
	stackDir := filepath.Join(dir, ".cosocial")
	if h != nil {
		if err := h.Save(dbplan.HistoryPath(stackDir, "production", "main")); err != nil {
			t.Fatal(err)
		}
	}
	ios, _, _, _ := iostreams.Test()
	return &Options{Deps: chosendb.Deps{
		Deps: preflight.Deps{
			IO: ios, Load: func() *config.Result { return config.Load(file) }, Catalog: catalog.Default,
			Now: func() time.Time { return today }, File: func() string { return file }, StackName: func() string { return "production" },
		},
		StackDir: func(bool) string { return stackDir },
	}, Format: "table"}
}

// monthly is a year of monthly sizes, growing by step GB from first.
func monthly(first, step float64) dbplan.History {
	var h dbplan.History
	for i := 0; i < 12; i++ {
		h = append(h, dbplan.Sample{Time: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).AddDate(0, i, 0),
			DatabaseBytes: int64((first + step*float64(i)) * dbplan.GB), WALBytes: 1 * dbplan.GB})
	}
	return h
}

func runOut(t *testing.T, opts *Options) (string, string, error) {
	t.Helper()
	err := forecastRun(opts)
	ios := opts.IO
	out := ios.Out.(interface{ String() string }).String()
	errOut := ios.ErrOut.(interface{ String() string }).String()
	return out, errOut, err
}

func TestForecastOutput(t *testing.T) {
	for _, format := range []string{"table", "markdown", "json"} {
		t.Run(format, func(t *testing.T) {
			opts := setup(t, monthly(40, 3))
			opts.Format = format
			out, errOut, err := runOut(t, opts)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			golden.Assert(t, "forecast."+format, []byte(out))
		})
	}
}

func TestTooFewSamplesAreSaidNotGuessed(t *testing.T) {
	opts := setup(t, monthly(40, 3)[:2])
	_, _, err := runOut(t, opts)
	if err == nil || !strings.Contains(err.Error(), "too few samples to forecast: 2 over 31 days") || !strings.Contains(err.Error(), "cosocial db measure") {
		t.Fatalf("got %v", err)
	}
	opts = setup(t, nil)
	if _, _, err := runOut(t, opts); err == nil || !strings.Contains(err.Error(), "0 over 0 days") {
		t.Fatalf("no history: %v", err)
	}
}

func TestAFullDiskExitsOne(t *testing.T) {
	opts := setup(t, monthly(90, 1))
	out, _, err := runOut(t, opts)
	if !errors.Is(err, exit.ErrSilent) || !strings.Contains(out, "already fills 102 %") {
		t.Fatalf("err %v\n%s", err, out)
	}
}

func TestAHistoryOutOfOrderNamesTheLine(t *testing.T) {
	opts := setup(t, nil)
	path := dbplan.HistoryPath(opts.StackDir(false), "production", "main")
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, []byte("time,database_bytes,disk_bytes,wal_bytes,source\n2026-01-01T00:00:00Z,1,0,-1,measured\n2025-12-01T00:00:00Z,1,0,-1,measured\n"), 0o600)
	_, _, err := runOut(t, opts)
	if err == nil || !strings.Contains(err.Error(), "main.csv line 3: 2025-12-01 comes before 2026-01-01") {
		t.Fatalf("got %v", err)
	}
}
