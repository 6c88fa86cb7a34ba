package pricing_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/pricing"
	_ "github.com/cosocial/cosocial/pkg/provider/all"
	"github.com/cosocial/cosocial/pkg/sandbox/valetsim"
)

// TestFetchRate reads the USD/CAD rate in Valet's shape, dated the last
// weekday before the day, and refuses a series Valet does not have.
func TestFetchRate(t *testing.T) {
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC) // the rate is the Friday before
	srv := httptest.NewServer(valetsim.Handler("/valet", func() time.Time { return monday }))
	defer srv.Close()
	r, err := pricing.FetchRate(context.Background(), srv.URL+"/valet", pricing.USDCAD, monday)
	if err != nil {
		t.Fatal(err)
	}
	if r.Value != 1.4 || r.Date != "2026-12-04" || !strings.HasSuffix(r.Source, "/valet/observations/FXUSDCAD/json?recent=1") {
		t.Errorf("rate %+v", r)
	}
	if _, err := pricing.FetchRate(context.Background(), srv.URL+"/valet", "FXXYZCAD", monday); err == nil {
		t.Error("an unknown series was read")
	}
	dir := t.TempDir()
	if err := pricing.SaveRate(dir, r); err != nil {
		t.Fatal(err)
	}
	if kept, err := pricing.LoadRate(dir, pricing.USDCAD); err != nil || *kept != *r {
		t.Errorf("kept %+v, %v", kept, err)
	}
}

const today = `
coop "c" {
  name           = "C"
  domain         = "c.example.ca"
  members        = 100
  fee_cad_yearly = 60
}
provider "digitalocean" "tor" {
  region = "tor1"
}
server "web" {
  provider = provider.tor
  flavor   = "s-4vcpu-8gb"
  image    = "ubuntu-22-04-x64"
}
bucket "media" {
  provider = provider.tor
}
`

const target = `
coop "c" {
  name           = "C"
  domain         = "c.example.ca"
  members        = 100
  fee_cad_yearly = 60
}
provider "ovh" "bhs" {
  endpoint = "ovh-ca"
  project  = "p"
  region   = "BHS5"
}
server "web" {
  provider = provider.bhs
  flavor   = "b3-8"
  image    = "Debian 12"
}
bucket "media" {
  provider = provider.bhs
}
`

// TestMakeMigration prices both sides by hand: US$48 at 1.40 is CA$67.20 a
// month for the droplet, 500 GB of Spaces at US$0.02 is CA$14.00; the
// target's b3-8 is CA$31.39 and the same 500 GB at CA$0.011 CA$5.50; 1,500
// GB leave DigitalOcean, 500 beyond its free 1,000, at US$0.01: CA$7.00.
func TestMakeMigration(t *testing.T) {
	load := func(src string) *config.Result {
		res := config.LoadBytes("c.hcl", []byte(src))
		if res.Diagnostics.HasErrors() {
			t.Fatal(res.Diagnostics)
		}
		return res
	}
	day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	in := pricing.Inputs{Now: day, Lists: map[string]*pricing.List{
		"digitalocean": {Kind: "digitalocean", Currency: "USD", Fetched: day, EgressPerGB: pricing.FromFloat(0.01), EgressFreeGB: 1000, Monthly: map[string]pricing.Amount{
			pricing.ServerItem("s-4vcpu-8gb"): pricing.FromFloat(48), pricing.ObjectStorageGBItem: pricing.FromFloat(0.02)}},
		"ovh": {Kind: "ovh", Currency: "CAD", Fetched: day, Monthly: map[string]pricing.Amount{
			pricing.ServerItem("b3-8"): pricing.FromFloat(31.39), pricing.ObjectStorageGBItem: pricing.FromFloat(0.011)}},
	}, USDCAD: &pricing.Rate{Series: pricing.USDCAD, Value: 1.4, Date: "2026-12-03"}}
	m := pricing.MakeMigration(load(today).Description, load(target).Description, in, map[string]float64{"media": 500}, 1500)
	for what, got := range map[string]pricing.Amount{"source": m.Source.Total, "target": m.Target.Total} {
		want := map[string]string{"source": "CA$81.20", "target": "CA$36.89"}[what]
		if got.CAD() != want {
			t.Errorf("%s: %s, want %s", what, got.CAD(), want)
		}
	}
	// 36.89 - 81.20 = -44.31 a month; × 12 / 100 = -5.3172.
	if m.MonthlyChange.Signed() != "-CA$44.31" || m.PerMemberYearly.Signed() != "-CA$5.32" || !m.Comparable {
		t.Errorf("change %s, per member %s, comparable %v", m.MonthlyChange.Signed(), m.PerMemberYearly.Signed(), m.Comparable)
	}
	if m.Egress == nil || m.Egress.CAD() != "CA$7.00" || !strings.Contains(m.EgressNote, "1500 GB leave digitalocean") {
		t.Errorf("egress %v: %s", m.Egress, m.EgressNote)
	}
	// Without a rate, the source's US prices are unknown, and said so.
	in.USDCAD = nil
	m = pricing.MakeMigration(load(today).Description, load(target).Description, in, nil, 0)
	if m.Comparable || len(m.Source.Unknown) != 2 || !strings.Contains(m.Source.Rows[0].Note, "no USD/CAD rate") {
		t.Errorf("without a rate: %+v", m.Source)
	}
}

// TestPartOfAGigabyte: a bucket smaller than a gigabyte costs its part of
// the per-GB price, not a whole gigabyte's.
func TestPartOfAGigabyte(t *testing.T) {
	res := config.LoadBytes("c.hcl", []byte(target))
	if res.Diagnostics.HasErrors() {
		t.Fatal(res.Diagnostics)
	}
	day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	e := pricing.Make(res.Description, pricing.Inputs{Now: day, BucketGB: map[string]float64{"media": 0.5}, Lists: map[string]*pricing.List{
		"ovh": {Kind: "ovh", Currency: "CAD", Fetched: day, Monthly: map[string]pricing.Amount{pricing.ObjectStorageGBItem: 2_000_000}}}})
	for _, r := range e.Rows {
		if r.Address == "bucket.media" && (r.Monthly == nil || *r.Monthly != 1_000_000) {
			t.Errorf("half a GB at 0.02 a GB: %+v", r)
		}
	}
}
