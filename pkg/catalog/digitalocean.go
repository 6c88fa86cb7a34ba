package catalog

// DigitalOcean's facts. DigitalOcean bills in US dollars only, so its
// prices are kept in USD and never shown as CAD.

const (
	doBilling      = "https://www.digitalocean.com/docs/accounts/billing/invoices-and-alerts/"
	doSEC          = "https://sec.gov/Archives/edgar/data/1582961/000158296124000120/0001582961-24-000120.txt"
	doAvailability = "https://docs.digitalocean.com/products/databases/postgresql/details/availability/index.html.md"
	doSpaces       = "https://github.com/digitalocean/terraform-provider-digitalocean/blob/main/digitalocean/spaces/spaces_entities.go"
	doDBResize     = "https://docs.digitalocean.com/reference/doctl/reference/databases/resize"
	doPriceGist    = "https://gist.github.com/colinwilson/cd31bde012f6727b24b2fc4ebee749c0"
	doSizeGist     = "https://gist.github.com/banagale/56d1464ebc0035ae08d9710cadf87f6a"
)

func usd(amount float64, src Source) *Price {
	return &Price{Amount: amount, Currency: "USD", Source: src}
}

func digitalOcean() *Operator {
	region := func(code, city, sub, country string) *Region {
		return &Region{
			Code: code, City: city, Subdivision: sub, Country: country,
			Source:       Source{URL: doAvailability, Checked: Checked, Confidence: ThirdParty, Note: "Region slug from DigitalOcean's availability tables; the city is the slug's standard meaning, not read in a first-party table."},
			Flavors:      doDroplets(),
			FlavorSource: Source{URL: doSizeGist, Checked: Checked, Confidence: ThirdParty, Note: "Sizes and USD prices from third-party summaries of DigitalOcean's 2022 price list; the API's /v2/sizes is the authority."},
			Databases:    doDatabases(),
			ObjectStorage: &ObjectStorage{
				Region: code, Endpoint: "https://" + code + ".digitaloceanspaces.com",
				PerGB:  usd(0.02, thirdParty("https://gist.github.com/peterwwillis/83a4636476f01852dc2b6703b78941e9")),
				Source: confirmed(doSpaces),
			},
			DNS: true,
		}
	}
	return &Operator{
		ID:   "digitalocean",
		Name: "DigitalOcean",
		Owner: Owner{
			Company: "DigitalOcean Holdings, Inc.",
			Country: "US",
			HQ:      "New York, NY, United States",
			Source: Source{
				URL: doSEC, Checked: Checked, Confidence: Confirmed,
				Note: "Delaware corporation listed on the NYSE (DOCN); 2024 filings give New York, a 2025 exhibit gives Broomfield, Colorado. Either way, United States.",
			},
		},
		Regions: []*Region{
			region("tor1", "Toronto", "ON", "CA"),
			region("nyc3", "New York", "NY", "US"),
		},
	}
}

func doDroplets() []Flavor {
	src := thirdParty(doSizeGist)
	return []Flavor{
		{Name: "s-1vcpu-1gb", VCPU: 1, RAMGB: 1, DiskGB: 25, Price: usd(6, src)},
		{Name: "s-1vcpu-2gb", VCPU: 1, RAMGB: 2, DiskGB: 50, Price: usd(12, src)},
		{Name: "s-2vcpu-2gb", VCPU: 2, RAMGB: 2, DiskGB: 60, Price: usd(18, src)},
		{Name: "s-2vcpu-4gb", VCPU: 2, RAMGB: 4, DiskGB: 80, Price: usd(24, src)},
		{Name: "s-4vcpu-8gb", VCPU: 4, RAMGB: 8, DiskGB: 160, Price: usd(48, thirdParty(doPriceGist))},
		{Name: "s-8vcpu-16gb", VCPU: 8, RAMGB: 16, DiskGB: 320, Price: usd(96, thirdParty(doPriceGist))},
	}
}

// doDiskSource explains DigitalOcean's database disk limits, which the API
// does not publish per size.
var doDiskSource = Source{
	URL: doDBResize, Checked: Checked, Confidence: Unconfirmed,
	Note: "Storage grows in MiB up to 15 TB \"depending on your plan\" and never shrinks; per-size ranges are not published. " +
		"Confirmed bases: 10 GiB (db-s-1vcpu-1gb), 30 GiB (db-s-1vcpu-2gb). Other minimums and the 10 GB step (the autoscale increment) are unconfirmed.",
}

func doDatabases() []DatabaseOffer {
	f := func(name string, vcpu int, ram float64, minGB int, price *Price) DatabaseFlavor {
		return DatabaseFlavor{Name: name, VCPU: vcpu, RAMGB: ram, DiskMinGB: minGB, DiskMaxGB: 15000, DiskStepGB: 10, Price: price, DiskSource: doDiskSource}
	}
	flavors := []DatabaseFlavor{
		f("db-s-1vcpu-1gb", 1, 1, 10, usd(15, thirdParty("https://gist.github.com/fakhrullah/26edc80e92ceaebdf412fd5bfb6d0f01"))),
		f("db-s-1vcpu-2gb", 1, 2, 30, nil),
		f("db-s-2vcpu-4gb", 2, 4, 60, usd(60, thirdParty(doPriceGist))),
		f("db-s-4vcpu-8gb", 4, 8, 60, usd(120, thirdParty(doPriceGist))),
		f("db-s-6vcpu-16gb", 6, 16, 60, nil),
		f("db-s-8vcpu-32gb", 8, 32, 60, nil),
		f("db-s-16vcpu-64gb", 16, 64, 60, nil),
	}
	// DigitalOcean has no service levels: one unnamed plan of one node
	// (standby nodes are added to a cluster, not chosen as a plan).
	plans := []DatabasePlan{{Name: "", Nodes: 1, Flavors: flavors}}
	versionSource := Source{
		URL: "https://github.com/digitalocean/godo/blob/main/databases_test.go", Checked: Checked, Confidence: Unconfirmed,
		Note: "No first-party version list was read: 13 and 14 appear in godo's fixtures, 15 in the Terraform provider's tests, 16 and 17 are assumed. The API's /v2/databases/options is the authority.",
	}
	return []DatabaseOffer{
		{Engine: "postgresql", Versions: []string{"13", "14", "15", "16", "17"}, Plans: plans, Source: versionSource},
		{Engine: "mysql", Versions: []string{"8"}, Plans: plans, Source: versionSource},
	}
}
