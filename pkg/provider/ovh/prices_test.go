package ovh_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/pricing"
	"github.com/cosocial/cosocial/pkg/provider/ovh"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
)

// TestParseCatalog reads a Public Cloud catalog of OVHcloud's shape whose
// prices are known, and checks each monthly price by hand: an hourly price
// over 730 hours, a database's monthly price preferred to its hours, set-up
// fees, Windows flavors, Swift and monthly billing left out.
func TestParseCatalog(t *testing.T) {
	doc, err := os.ReadFile("testdata/catalog-ca.json")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	l, err := ovh.ParseCatalog(doc, "https://ca.api.ovh.com/1.0"+ovh.CatalogPath, day)
	if err != nil {
		t.Fatal(err)
	}
	if l.Currency != "CAD" || l.Kind != "ovh" || !l.Fetched.Equal(day) {
		t.Errorf("list %s %s %v", l.Kind, l.Currency, l.Fetched)
	}
	for item, want := range map[string]string{
		// 0.043 $/h × 730 h = 31.39, billed by the hour as the tool creates it.
		pricing.ServerItem("b3-8"): "CA$31.39",
		// The set-up fee (5 $) is not the price: 0.021 × 730 = 15.33.
		pricing.ServerItem("c3-4"): "CA$15.33",
		// The monthly price (36.50), not 0.055 × 730 = 40.15.
		pricing.DatabaseNodeItem("postgresql", "essential", "db1-4"): "CA$36.50",
		pricing.DatabaseNodeItem("postgresql", "business", "db1-15"): "CA$140.00",
		// Hourly only: 0.05 × 730 = 36.50.
		pricing.DatabaseNodeItem("mysql", "essential", "db1-4"): "CA$36.50",
	} {
		got, ok := l.Price(item)
		if !ok || got.CAD() != want {
			t.Errorf("%s = %s (%v), want %s", item, got.CAD(), ok, want)
		}
	}
	// 0.00001507 $/GiB/h × 730 = 0.0110011 $ a GB-month, exactly.
	if got, _ := l.Price(pricing.ObjectStorageGBItem); got != 1_100_110 {
		t.Errorf("object storage = %d hundred-millionths, want 1100110", got)
	}
	for _, absent := range []string{pricing.ServerItem("win-b3-8"), pricing.ServerItem("storage"), pricing.ServerItem("b3-8.monthly")} {
		if _, ok := l.Price(absent); ok {
			t.Errorf("%s priced", absent)
		}
	}
	if _, err := ovh.ParseCatalog([]byte(`{"catalogId":1,"plans":[]}`), "x", day); err == nil {
		t.Error("a document without locale or add-ons parsed")
	}
}

// TestFetchPricesFromTheSandbox reads the simulator's catalog the way the
// tool reads OVHcloud's: without credentials, at the endpoint's URL.
func TestFetchPricesFromTheSandbox(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{NoBackends: true})
	l, err := ovh.FetchPrices(context.Background(), sb.OVHEndpoint(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.Source, sb.OVHEndpoint()+"/order/catalog/public/cloud?ovhSubsidiary=CA") {
		t.Errorf("source %s", l.Source)
	}
	// The sandbox's b3-8 (2 vCPU, 8 GB): (0.6¢ × 2 + 0.35¢ × 8) an hour,
	// 0.04 × 730 = 29.20 a month.
	if got, ok := l.Price(pricing.ServerItem("b3-8")); !ok || got.CAD() != "CA$29.20" {
		t.Errorf("b3-8 = %s (%v)", got.CAD(), ok)
	}
	for _, item := range []string{pricing.DatabaseNodeItem("postgresql", "essential", "db1-4"), pricing.ObjectStorageGBItem} {
		if _, ok := l.Price(item); !ok {
			t.Errorf("the sandbox's catalog has no %s", item)
		}
	}
	if _, err := ovh.FetchPrices(context.Background(), "ovh-nowhere", time.Now()); err == nil {
		t.Error("an unknown endpoint name was fetched")
	}
}
