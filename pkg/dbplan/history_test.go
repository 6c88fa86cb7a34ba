package dbplan

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestImportReadsDatesAndSizes(t *testing.T) {
	h, err := Import("old.csv", strings.NewReader(`date,size
# from the DigitalOcean graphs
2025-01-01, 60 GB
2025-04-01,68.5GB
2025-07-01T00:00:00Z,78000000000
2025-10-01,  80 GiB, 100 GB
`), importNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{60 * GB, 68_500_000_000, 78 * GB, 80 << 30}
	if len(h) != len(want) {
		t.Fatalf("%d samples", len(h))
	}
	for i, w := range want {
		if h[i].DatabaseBytes != w || h[i].Source != "imported" {
			t.Errorf("sample %d: %+v, want %d bytes", i, h[i], w)
		}
	}
	if h[3].DiskBytes != 100*GB || !h[2].Time.Equal(time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("sample 3 %+v / 2 %+v", h[3], h[2])
	}
}

// importNow is "now" for imports: after every date the tests use.
var importNow = time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)

// TestImportReadsTheHeadersUnit: a size_gb column of bare numbers is in
// GB, not bytes.
func TestImportReadsTheHeadersUnit(t *testing.T) {
	for header, want := range map[string]int64{"date,size_gb": 64_200_000_000, "date,size (GiB)": 68_934_225_100, "date,bytes": 642} {
		in := header + "\n2025-01-01,64.2\n"
		if header == "date,bytes" {
			in = header + "\n2025-01-01,642\n"
		}
		h, err := Import("old.csv", strings.NewReader(in), importNow)
		if err != nil || len(h) != 1 || h[0].DatabaseBytes != want {
			t.Errorf("%s: %+v, %v; want %d bytes", header, h, err, want)
		}
	}
}

func TestImportNamesTheBadLine(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"out of order": {"2025-01-01,60 GB\n2025-03-01,70 GB\n2025-02-01,65 GB\n", "old.csv line 3: 2025-02-01 comes before 2025-03-01"},
		"repeated":     {"2025-01-01,60 GB\n2025-01-01,61 GB\n", "old.csv line 2: 2025-01-01 repeats"},
		"bad size":     {"2025-01-01,60 GB\n2025-02-01,lots\n", `old.csv line 2: size "lots"`},
		"bad date":     {"2025-01-01,60 GB\n01/02/2025,61 GB\n", `old.csv line 2: date "01/02/2025" is not YYYY-MM-DD`},
		"one field":    {"2025-01-01\n", "old.csv line 1: expected a date, a size"},
		"four fields":  {"2025-01-01,60 GB,100 GB,x\n", "old.csv line 1: expected a date, a size and optionally the disk"},
		"future":       {"2025-01-01,60 GB\n2027-01-01,61 GB\n", "old.csv line 2: 2027-01-01 is in the future"},
		"past int64":   {"2025-01-01,99999999999999999999\n", "larger than any disk"},
		"fraction":     {"2025-01-01,64.2\n", `size "64.2" has a fraction but no unit`},
		"junk lines":   {"exported,from grafana\nseries,db\n2025-01-01,60 GB\n", `old.csv line 2: date "series"`},
		"empty":        {"", "old.csv line 1: no samples"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Import("old.csv", strings.NewReader(c.in), importNow)
			var he *HistoryError
			if !errors.As(err, &he) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestHistorySurvivesSaveAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history", "production", "main.csv")
	h := History{
		{Time: start, DatabaseBytes: 60 * GB, DiskBytes: 100 * GB, WALBytes: 1 << 30, Source: "measured", Tables: map[string]int64{"statuses": 40 * GB, "public.media attachments": 9 * GB}},
		{Time: start.Add(7 * day), DatabaseBytes: 61 * GB, DiskBytes: 100 * GB, WALBytes: -1, Source: "imported"},
	}
	if err := h.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("got %+v", got)
	}
	// A history written before the tables were kept still loads.
	if err := os.WriteFile(path, []byte("time,database_bytes,disk_bytes,wal_bytes,source\n2026-01-01T00:00:00Z,5,10,-1,measured\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if old, err := LoadHistory(path); err != nil || len(old) != 1 || old[0].Tables != nil {
		t.Fatalf("a five-column history: %+v, %v", old, err)
	}
	// Merging an import over it keeps order, and a repeated date replaces.
	merged := got.Merge(Sample{Time: start.Add(-7 * day), DatabaseBytes: 59 * GB}, Sample{Time: start, DatabaseBytes: 1})
	if len(merged) != 3 || merged[0].DatabaseBytes != 59*GB || merged[1].DatabaseBytes != 1 {
		t.Fatalf("merged %+v", merged)
	}
	if h, err := LoadHistory(filepath.Join(t.TempDir(), "none.csv")); err != nil || h != nil {
		t.Fatalf("a missing history: %v %v", h, err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "1 kB": 1000, "1KiB": 1024, "1.5 GB": 1_500_000_000, "2T": 2_000_000_000_000, "3 MiB": 3 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "GB", "-1 GB", "1 PB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
