package resize

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	for _, tc := range []struct {
		args    []string
		horizon string
		err     bool
	}{
		{nil, "12m", false},
		{[]string{"main", "--horizon", "2y", "--write"}, "2y", false},
		{[]string{"--horizon", "soon"}, "", true},
		{[]string{"--horizon", "0m"}, "", true},
		{[]string{"--horizon", "3 fortnights"}, "", true},
	} {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		cmd := NewCmdResize(&factory.Factory{IOStreams: ios}, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetErr(ios.ErrOut)
		_, err := cmd.ExecuteC()
		var fe *exit.FlagError
		if tc.err != errors.As(err, &fe) {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if !tc.err && got.Horizon != tc.horizon {
			t.Errorf("%v: %+v", tc.args, got)
		}
	}
	for in, want := range map[string]int{"12m": 365, "2y": 730, "26w": 182, "90d": 90, "18": 547} {
		if days, _, err := chosendb.Horizon(in); err != nil || days != want {
			t.Errorf("%s: %d %v, want %d", in, days, err, want)
		}
	}
}

// coop copies the co-op's target description (a folder with its migration
// source, the way a co-op keeps it) and gives database.main a history.
func coop(t *testing.T, h dbplan.History) (*Options, string, []byte) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"cosocial-target.hcl", "cosocial-today.hcl"} {
		b, err := os.ReadFile("../../../../stacks/cosocial/" + name)
		if err != nil {
			t.Fatal(err)
		}
		// A hand-written comment the formatter would realign stays as is.
		b = bytes.Replace(b, []byte("  disk_gb  = 160\n"), []byte("  disk_gb  = 160    # 60 GB in 2024, ~100 GB in 2025\n"), 1)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	stackDir := filepath.Join(dir, ".cosocial")
	if err := h.Save(dbplan.HistoryPath(stackDir, "production", "main")); err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	file := filepath.Join(dir, "cosocial-target.hcl")
	src, _ := os.ReadFile(file)
	return &Options{Deps: chosendb.Deps{
		Deps: preflight.Deps{
			IO: ios, Load: func() *config.Result { return config.Load(dir) }, Catalog: catalog.Default,
			Now:  func() time.Time { return time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC) },
			File: func() string { return dir }, StackName: func() string { return "production" },
		},
		StackDir: func(bool) string { return stackDir },
	}, Database: "main", Horizon: "12m", Format: "table"}, file, src
}

// grown is CoSocial's year: 60 GB to about 100 GB, sampled monthly.
func grown(first, perMonth float64) dbplan.History {
	var h dbplan.History
	for i := 0; i < 12; i++ {
		h = append(h, dbplan.Sample{Time: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).AddDate(0, i, 0),
			DatabaseBytes: int64((first + perMonth*float64(i)) * dbplan.GB), WALBytes: -1})
	}
	return h
}

func output(opts *Options) (string, string) {
	return opts.IO.Out.(*bytes.Buffer).String(), opts.IO.ErrOut.(*bytes.Buffer).String()
}

func TestWriteChangesOnlyDiskGB(t *testing.T) {
	opts, file, before := coop(t, grown(60, 3.5))
	opts.Write = true
	if err := resizeRun(opts); err != nil {
		_, errOut := output(opts)
		t.Fatalf("%v\n%s", err, errOut)
	}
	out, errOut := output(opts)
	if !strings.Contains(out, "recommended  db1-15, 180 GB") || !strings.Contains(errOut, "Wrote the new size to "+file) {
		t.Fatalf("out:\n%s\nerr:\n%s", out, errOut)
	}
	after, _ := os.ReadFile(file)
	want := bytes.Replace(before, []byte("  disk_gb  = 160    # 60 GB"), []byte("  disk_gb  = 180    # 60 GB"), 1)
	if !bytes.Equal(after, want) {
		t.Fatalf("the description changed beyond disk_gb:\n%s", after)
	}
	if info, _ := os.Stat(file); info.Mode().Perm() != 0o640 {
		t.Errorf("the file's mode became %v", info.Mode().Perm())
	}
	// Once written, the new size covers the horizon: nothing more to do.
	opts2, _, _ := coop(t, grown(60, 3.5))
	opts2.Load = func() *config.Result { return config.Load(filepath.Dir(file)) }
	opts2.File = func() string { return filepath.Dir(file) }
	opts2.Write = true
	if err := resizeRun(opts2); err != nil {
		t.Fatal(err)
	}
	if _, errOut := output(opts2); !strings.Contains(errOut, "Nothing to write") {
		t.Fatalf("second run: %s", errOut)
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, after) {
		t.Fatal("a second run changed the file again")
	}
}

func TestFlavorChangesWhenTheDiskOutgrowsIt(t *testing.T) {
	opts, file, before := coop(t, grown(700, 25))
	opts.Write = true
	opts.Format = "json"
	if err := resizeRun(opts); err != nil {
		t.Fatal(err)
	}
	out, _ := output(opts)
	var got struct {
		Recommendation dbplan.Recommendation
		Written        string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	next := got.Recommendation.Next
	if next == nil || next.Flavor != "db1-30" || next.DiskGB <= 960 || got.Written != file {
		t.Fatalf("%+v", got)
	}
	after, _ := os.ReadFile(file)
	if !bytes.Contains(after, []byte(`flavor   = "db1-30"`)) || bytes.Equal(after, before) {
		t.Fatalf("flavor not written:\n%s", after)
	}
}

func TestNoRecommendationLeavesTheFileAlone(t *testing.T) {
	opts, file, before := coop(t, grown(7000, 900))
	opts.Write = true
	err := resizeRun(opts)
	var none *dbplan.NoSizeError
	if !errors.As(err, &none) {
		t.Fatalf("got %v", err)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(after, before) {
		t.Fatal("the description changed")
	}
	// A database the catalog cannot place is refused before any fit.
	opts, _, _ = coop(t, grown(60, 1))
	opts.Database = "mian"
	if err := resizeRun(opts); err == nil || !strings.Contains(err.Error(), `Did you mean "main"?`) {
		t.Fatalf("typo: %v", err)
	}
}
