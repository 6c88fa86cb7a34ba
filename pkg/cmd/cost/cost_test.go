package cost

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/dbplan"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/pricing"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/views"
)

const twoClouds = `
coop "t" {
  name           = "T Co-op"
  domain         = "t.example.ca"
  members        = 200
  fee_cad_yearly = 60
}
provider "ovh" "bhs" {
  endpoint = "ovh-ca"
  project  = "p"
  region   = "BHS5"
}
provider "openstack" "montreal" {
  cloud  = "vexxhost"
  region = "ca-ymq-1"
}
server "web" {
  provider = provider.bhs
  flavor   = "b3-8"
  image    = "Debian 12"
}
database "main" {
  provider = provider.bhs
  engine   = "postgresql"
  version  = "16"
  plan     = "essential"
  flavor   = "db1-4"
  disk_gb  = 80
}
bucket "media" {
  provider = provider.bhs
  public   = true
}
bucket "archive" {
  provider = provider.montreal
}
`

func run(t *testing.T, dir string, opts Options) (*pricing.Estimate, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	opts.IO = ios
	opts.Load = func() *config.Result { return config.LoadBytes(filepath.Join(dir, "cosocial.hcl"), []byte(twoClouds)) }
	opts.Catalog = catalog.Default
	opts.Now = func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }
	opts.StackDir = func(sandbox bool) string {
		return filepath.Join(dir, ".cosocial", map[bool]string{true: "sandbox"}[sandbox])
	}
	opts.Environ = func() []string { return nil }
	if opts.Format == "" {
		opts.Format = "json"
	}
	if err := costRun(context.Background(), &opts); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if opts.Format != "json" {
		return nil, out.String()
	}
	var doc struct {
		FormatVersion string `json:"format_version"`
		pricing.Estimate
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || doc.FormatVersion != views.FormatVersion {
		t.Fatalf("%v: %s", err, out)
	}
	return &doc.Estimate, out.String()
}

// TestCostOnTheSandbox prices a description at OVHcloud and VEXXHOST from
// the simulator's catalog, read as OVHcloud's is read, and checks the sums
// by hand; then runs offline, on the list kept beside the stack.
func TestCostOnTheSandbox(t *testing.T) {
	dir := t.TempDir()
	started := 0
	opts := Options{Sandbox: true, BucketGB: map[string]string{"media": "100"},
		StartSandbox: func(ctx context.Context, _ *model.Description) (*sandbox.Sandbox, error) {
			started++
			return sandbox.Start(ctx, sandbox.Options{Dir: filepath.Join(dir, "sandbox"), NoBackends: true})
		}}
	est, _ := run(t, dir, opts)
	rows := map[string]pricing.Row{}
	for _, r := range est.Rows {
		rows[r.Address] = r
	}
	// The sandbox's prices: b3-8 is (0.6¢ × 2 vCPU + 0.35¢ × 8 GB) an
	// hour, 0.04 × 730 = 29.20; an essential db1-4 node 1.5 × (0.6¢ × 2 +
	// 0.35¢ × 4) = 0.039 an hour, its month 90 % of 730 hours: 25.623;
	// 100 GB at 0.000015 a GiB-hour: 100 × 0.01095 = 1.095.
	for addr, want := range map[string]pricing.Amount{"server.web": 2_920_000_000, "database.main": 2_562_300_000, "bucket.media": 109_500_000} {
		if r := rows[addr]; r.Monthly == nil || *r.Monthly != want {
			t.Errorf("%s: %+v, want %d", addr, r, want)
		}
	}
	if r := rows["bucket.archive"]; r.Monthly != nil || !strings.Contains(r.Note, "VEXXHOST (OpenStack) publishes no price list") {
		t.Errorf("VEXXHOST's bucket: %+v, want unknown with why", r)
	}
	// 29.20 + 25.623 + 1.095 = 55.918 a month; × 12 / 200 members = 3.35508.
	if est.Total != 5_591_800_000 || est.Total.CAD() != "CA$55.92" || est.PerMemberYearly.CAD() != "CA$3.36" {
		t.Errorf("total %d (%s), per member %s", est.Total, est.Total.CAD(), est.PerMemberYearly.CAD())
	}
	if len(est.Unknown) != 1 || est.Unknown[0] != "bucket.archive" || len(est.Lists) != 1 || !est.Lists[0].Sandbox || est.Lists[0].Kept {
		t.Errorf("unknown %v, lists %+v", est.Unknown, est.Lists)
	}
	if _, err := os.Stat(filepath.Join(dir, ".cosocial", "sandbox", "prices", "ovh.json")); err != nil {
		t.Errorf("the list was not kept beside the sandbox stack: %v", err)
	}

	// Offline: nothing is started, the kept list is used, and said so.
	opts.Offline = true
	again, _ := run(t, dir, opts)
	if started != 1 || again.Total != est.Total || len(again.Lists) != 1 || !again.Lists[0].Kept || again.Lists[0].Why != "--offline" {
		t.Errorf("offline: %d sandbox starts, total %d, lists %+v", started, again.Total, again.Lists)
	}
	opts.Format = "table"
	_, table := run(t, dir, opts)
	for _, want := range []string{"CA$29.20", "CA$55.92 + unknown", "Per member: at least CA$3.36 a year for 200 members, 6 % of the CA$60.00 yearly dues", "kept by an earlier run", "served by the sandbox"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
}

// TestCostWithoutPrices: a real run that cannot read OVHcloud and kept
// nothing says every OVHcloud price is unknown, and why.
func TestCostWithoutPrices(t *testing.T) {
	est, _ := run(t, t.TempDir(), Options{Offline: true})
	if est.Total != 0 || len(est.Unknown) != 4 {
		t.Fatalf("total %d, unknown %v", est.Total, est.Unknown)
	}
	for _, r := range est.Rows {
		if r.Provider == "bhs" && !strings.Contains(r.Note, "none were kept") {
			t.Errorf("%s: %q", r.Address, r.Note)
		}
	}
	ios, _, _, _ := iostreams.Test()
	opts := Options{IO: ios, Offline: true, BucketGB: map[string]string{"medias": "10"}, Format: "json",
		Load: func() *config.Result { return config.LoadBytes("cosocial.hcl", []byte(twoClouds)) }}
	var flagErr *exit.FlagError
	if err := costRun(context.Background(), &opts); !errors.As(err, &flagErr) || !strings.Contains(err.Error(), `no bucket "medias"`) {
		t.Errorf("a size for a bucket the description lacks: %v", err)
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"--format", "markdown", "--bucket-gb", "media=12.5"}, true},
		{[]string{"--format", "html"}, false},
		{[]string{"--bucket-gb", "media=lots"}, false},
		{[]string{"--bucket-gb", "media=-1"}, false},
	} {
		ios, _, _, _ := iostreams.Test()
		cmd := NewCmdCost(&factory.Factory{IOStreams: ios}, func(*Options) error { return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(ios.Out)
		cmd.SetErr(ios.ErrOut)
		_, err := cmd.ExecuteC()
		var flagErr *exit.FlagError
		if tc.ok != (err == nil) || (!tc.ok && !errors.As(err, &flagErr)) {
			t.Errorf("%v: %v", tc.args, err)
		}
	}
}

// TestResizeSizesArePriced: db resize's sizes take the list's price of
// the flavor times the plan's nodes, and a disk beyond the flavor's own
// says it is not priced rather than understate.
func TestResizeSizesArePriced(t *testing.T) {
	res := config.LoadBytes("cosocial.hcl", []byte(twoClouds))
	desc := res.Description
	db := desc.Databases[0]
	offer := policy.OfferFor(catalog.Default(), desc, db)
	if offer == nil {
		t.Fatal("no offer for database.main")
	}
	day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	in := pricing.Inputs{Now: day, Nodes: func(*model.Database) int { return 1 }, Lists: map[string]*pricing.List{"ovh": {Kind: "ovh", Currency: "CAD", Fetched: day, Monthly: map[string]pricing.Amount{
		pricing.DatabaseNodeItem("postgresql", "essential", "db1-4"): pricing.FromFloat(36.50),
		pricing.DatabaseNodeItem("postgresql", "essential", "db1-7"): pricing.FromFloat(73.00),
	}}}}
	base := offer.Plan.Flavor("db1-7").DiskMinGB
	current := dbplan.Size{Flavor: "db1-4", DiskGB: offer.Plan.Flavor("db1-4").DiskMinGB}
	next := dbplan.Size{Flavor: "db1-7", DiskGB: base + 40}
	PriceSizes(in, desc, db, offer, &current, &next)
	if current.CAD == nil || *current.CAD != 36.50 || !strings.Contains(current.Price, "CA$36.50 a month (ovh's list of 2026-12-04)") {
		t.Errorf("current: %+v", current)
	}
	if next.CAD != nil || !strings.Contains(next.Price, "CA$73.00 a month for the flavor") || !strings.Contains(next.Price, "plus 40 GB") {
		t.Errorf("next, with added disk: %+v", next)
	}
}
