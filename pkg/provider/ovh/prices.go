package ovh

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	goovh "github.com/ovh/go-ovh/ovh"

	"github.com/cosocial/cosocial/pkg/pricing"
)

// Subsidiary is OVHcloud's Canadian subsidiary: its catalog is in CAD.
const Subsidiary = "CA"

// CatalogPath is the Public Cloud catalog, which OVHcloud's API serves
// without authentication.
const CatalogPath = "/order/catalog/public/cloud?ovhSubsidiary=" + Subsidiary

// publicCatalog is the part of order.catalog.public.Catalog the prices
// come from: plans and add-ons share one shape (a plan code, its product
// and its pricings).
type publicCatalog struct {
	CatalogID int `json:"catalogId"`
	Locale    struct {
		CurrencyCode string  `json:"currencyCode"`
		Subsidiary   string  `json:"subsidiary"`
		TaxRate      float64 `json:"taxRate"`
	} `json:"locale"`
	Plans  []catalogPlan `json:"plans"`
	Addons []catalogPlan `json:"addons"`
}

type catalogPlan struct {
	PlanCode    string           `json:"planCode"`
	InvoiceName string           `json:"invoiceName"`
	Product     string           `json:"product"`
	PricingType string           `json:"pricingType"`
	Pricings    []catalogPricing `json:"pricings"`
}

// catalogPricing is one way to pay for a plan. Price is in hundred-
// millionths of the currency, per Interval IntervalUnits.
type catalogPricing struct {
	Capacities   []string `json:"capacities"`
	Price        int64    `json:"price"`
	Interval     int      `json:"interval"`
	IntervalUnit string   `json:"intervalUnit"`
	Mode         string   `json:"mode"`
	Phase        int      `json:"phase"`
}

// monthly is what a month of the plan costs: a price per hour over
// OVHcloud's 730-hour month, a monthly price as it is. The pricing is the
// one billed for use (capacity "consumption" or "renew"), not a setup fee.
func (p catalogPlan) monthly() (pricing.Amount, bool) {
	for _, pr := range p.Pricings {
		if !billedForUse(pr.Capacities) || pr.Interval < 1 {
			continue
		}
		per := pricing.Amount(pr.Price)
		switch pr.IntervalUnit {
		case "hour":
			return per.Times(float64(pricing.HoursPerMonth) / float64(pr.Interval)), true
		case "month":
			return per.Times(1 / float64(pr.Interval)), true
		case "day":
			return per.Times(float64(pricing.HoursPerMonth) / 24 / float64(pr.Interval)), true
		}
	}
	return 0, false
}

func billedForUse(capacities []string) bool {
	for _, c := range capacities {
		if c == "consumption" || c == "renew" {
			return true
		}
	}
	return false
}

// ParseCatalog reads the Public Cloud catalog into monthly prices of what
// the tool makes there, as the tool makes it:
//
//   - an instance of flavor F, billed by the hour ("F.consumption"): the
//     tool creates instances with monthlyBilling false;
//   - a node of a managed database ("databases.<engine>-<plan>-<flavor>"),
//     its monthly price where the catalog has one (".month.consumption"),
//     else its hourly one (".hour.consumption") over the month;
//   - a gigabyte of standard object storage ("storage-standard.consumption",
//     per GiB and hour).
func ParseCatalog(doc []byte, source string, fetched time.Time) (*pricing.List, error) {
	var c publicCatalog
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, fmt.Errorf("OVHcloud's catalog: %w", err)
	}
	if c.Locale.CurrencyCode == "" || len(c.Addons) == 0 {
		return nil, fmt.Errorf("OVHcloud's catalog (%s) has no currency or no add-ons: not the Public Cloud catalog", source)
	}
	l := &pricing.List{Kind: Kind, Currency: c.Locale.CurrencyCode, Source: source, Fetched: fetched, Monthly: map[string]pricing.Amount{}}
	dbMonthly := map[string]bool{}
	for _, a := range append(c.Plans, c.Addons...) {
		price, ok := a.monthly()
		if !ok {
			continue
		}
		code := a.PlanCode
		switch {
		case code == "storage-standard.consumption":
			l.Monthly[pricing.ObjectStorageGBItem] = price
		case strings.HasPrefix(code, "databases."):
			item, monthly, ok := databaseItem(strings.TrimPrefix(code, "databases."))
			if !ok || (dbMonthly[item] && !monthly) {
				continue
			}
			l.Monthly[item] = price
			dbMonthly[item] = dbMonthly[item] || monthly
		case strings.Count(code, ".") == 1 && strings.HasSuffix(code, ".consumption") && (a.Product == "" || a.Product == "publiccloud-instance"):
			flavor := strings.TrimSuffix(code, ".consumption")
			if !strings.HasPrefix(flavor, "win-") {
				l.Monthly[pricing.ServerItem(flavor)] = price
			}
		}
	}
	return l, nil
}

// databaseItem reads "<engine>-<plan>-<flavor>.month.consumption" (or
// .hour.): flavors hold a dash (db1-4), engines and plans do not.
func databaseItem(code string) (item string, monthly, ok bool) {
	var rest string
	switch {
	case strings.HasSuffix(code, ".month.consumption"):
		rest, monthly = strings.TrimSuffix(code, ".month.consumption"), true
	case strings.HasSuffix(code, ".hour.consumption"):
		rest = strings.TrimSuffix(code, ".hour.consumption")
	default:
		return "", false, false
	}
	parts := strings.SplitN(rest, "-", 3)
	if len(parts) != 3 {
		return "", false, false
	}
	return pricing.DatabaseNodeItem(parts[0], parts[1], parts[2]), monthly, true
}

// FetchPrices reads the Public Cloud catalog at endpoint (a go-ovh endpoint
// name, or a URL: the sandbox's), without credentials: it is public.
func FetchPrices(ctx context.Context, endpoint string, now time.Time) (*pricing.List, error) {
	base := endpoint
	if u, ok := goovh.Endpoints[endpoint]; ok {
		base = u
	}
	if !strings.Contains(base, "://") {
		return nil, fmt.Errorf("OVHcloud endpoint %q is neither one go-ovh knows nor a URL", endpoint)
	}
	url := strings.TrimRight(base, "/") + CatalogPath
	body, err := pricing.GetPublic(ctx, url, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("reading OVHcloud's catalog: %w", err)
	}
	return ParseCatalog(body, url, now)
}
