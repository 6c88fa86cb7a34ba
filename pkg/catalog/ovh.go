package catalog

// OVHcloud's facts. Sources were read as stored copies on the Checked date;
// see docs/residency.md for how to refresh them.

const (
	ovhDocsPostgres  = "https://github.com/ovh/docs/blob/develop/pages/public_cloud/public_cloud_databases/postgresql_01_capabilities/guide.en-ca.md"
	ovhDocsMySQL     = "https://github.com/ovh/docs/blob/develop/pages/public_cloud/public_cloud_databases/mysql_01_capabilities/guide.en-ca.md"
	ovhDocsS3        = "https://github.com/ovh/docs/blob/develop/pages/storage_and_backup/object_storage/s3_location/guide.en-asia.md"
	ovhTerraformDB   = "https://github.com/ovh/terraform-provider-ovh/blob/main/docs/resources/cloud_project_database.md"
	ovhTerraformInst = "https://github.com/ovh/terraform-provider-ovh/blob/main/docs/resources/cloud_instance.md"
	ovhFlavorScrape  = "https://github.com/feoche/public-cost-indicator/blob/main/docs/catalogue-produits-complet.md"
)

func ovhcloud() *Operator {
	flavorSource := Source{
		URL: ovhFlavorScrape, Checked: Checked, Confidence: ThirdParty,
		Note: "Specs from a third-party scrape of OVHcloud's catalogue (2025-01). Availability in each region and CAD prices from ovhcloud.com/en-ca were not in the stored sources.",
	}
	bhs := &Region{
		Code: "BHS5", Aliases: []string{"BHS"},
		City: "Beauharnois", Subdivision: "QC", Country: "CA",
		Source:         Source{URL: ovhTerraformInst, Checked: Checked, Confidence: Confirmed, Note: "Region code from OVHcloud's Terraform provider; city from OpenStack SDK vendor notes (BHS1 Beauharnois, QC)."},
		Flavors:        ovhFlavors(),
		FlavorSource:   flavorSource,
		Databases:      ovhDatabases(),
		DatabaseRegion: "BHS",
		ObjectStorage: &ObjectStorage{
			Region: "bhs", Endpoint: "https://s3.bhs.io.cloud.ovh.net",
			Source: confirmed(ovhDocsS3),
		},
		DNS: true,
	}
	tor := &Region{
		Code: "CA-EAST-TOR", Aliases: []string{"ca-east-tor"},
		City: "Toronto", Subdivision: "ON", Country: "CA",
		Source:       Source{URL: ovhDocsS3, Checked: Checked, Confidence: ThirdParty, Note: "OVHcloud's own pages name the location ca-east-tor; the upper-case compute code was seen only in third-party code."},
		Flavors:      ovhFlavors(),
		FlavorSource: flavorSource,
		// The managed database guides (2025-06 and 2026-01) list BHS as the
		// only Canadian region: Toronto has no managed databases.
		ObjectStorage: &ObjectStorage{
			Region: "ca-east-tor", Endpoint: "https://s3.ca-east-tor.io.cloud.ovh.net",
			Source: confirmed(ovhDocsS3),
		},
		DNS: true,
	}
	gra := &Region{
		Code: "GRA11", Aliases: []string{"GRA"},
		City: "Gravelines", Country: "FR",
		Source:         confirmed(ovhTerraformInst),
		Flavors:        ovhFlavors(),
		FlavorSource:   flavorSource,
		Databases:      ovhDatabases(),
		DatabaseRegion: "GRA",
		ObjectStorage: &ObjectStorage{
			Region: "gra", Endpoint: "https://s3.gra.io.cloud.ovh.net",
			Source: confirmed(ovhDocsS3),
		},
		DNS: true,
	}
	return &Operator{
		ID:   "ovhcloud",
		Name: "OVHcloud",
		Owner: Owner{
			Company: "OVH Groupe SA",
			Country: "FR",
			HQ:      "Roubaix, France",
			Source: Source{
				URL: "https://ovhcloud.fr.digital-report.net/en/report/3010", Checked: Checked, Confidence: Confirmed,
				Note: "Parent and country from OVH Groupe's Universal Registration Document; the HQ street address was not read.",
			},
		},
		Regions: []*Region{bhs, tor, gra},
	}
}

func ovhFlavors() []Flavor {
	return []Flavor{
		{Name: "d2-2", VCPU: 1, RAMGB: 2, DiskGB: 25},
		{Name: "d2-4", VCPU: 2, RAMGB: 4, DiskGB: 50},
		{Name: "d2-8", VCPU: 4, RAMGB: 8, DiskGB: 50},
		{Name: "b2-7", VCPU: 2, RAMGB: 7, DiskGB: 50},
		{Name: "b2-15", VCPU: 4, RAMGB: 15, DiskGB: 100},
		{Name: "b3-8", VCPU: 2, RAMGB: 8, DiskGB: 50},
		{Name: "b3-16", VCPU: 4, RAMGB: 16, DiskGB: 100},
		{Name: "b3-32", VCPU: 8, RAMGB: 32, DiskGB: 200},
		{Name: "b3-64", VCPU: 16, RAMGB: 64, DiskGB: 400},
		{Name: "c3-4", VCPU: 2, RAMGB: 4, DiskGB: 50},
		{Name: "c3-8", VCPU: 4, RAMGB: 8, DiskGB: 100},
		{Name: "c3-16", VCPU: 8, RAMGB: 16, DiskGB: 200},
		{Name: "c3-32", VCPU: 16, RAMGB: 32, DiskGB: 400},
		{Name: "r3-16", VCPU: 2, RAMGB: 16, DiskGB: 50},
		{Name: "r3-32", VCPU: 4, RAMGB: 32, DiskGB: 100},
		{Name: "r3-64", VCPU: 8, RAMGB: 64, DiskGB: 200},
	}
}

// ovhDiskSource explains the disk limits of OVHcloud's db1 flavors, which
// are only partly published.
var ovhDiskSource = Source{
	URL: ovhDocsPostgres, Checked: Checked, Confidence: Unconfirmed,
	Note: "OVHcloud's 2023-05 guides gave db1 storage as 80-240 GB (db1-4), 160-480 (db1-7), 320-960 (db1-15), 640-1920 (db1-30), 1280-3840 (db1-60), 2560-7680 (db1-120). " +
		"Storage has since become adjustable up and down (resize guide, 2023-09: at least 20% must stay free) and the current guides publish no minimum. " +
		"The tool enforces the 2023 maximums and a floor of 20 GB in steps of 10 GB, the smallest sizes CoSocial's own target description uses (20 GB MySQL on db1-4, 160 GB PostgreSQL on db1-15); neither floor nor step is confirmed. " +
		"The provider's live /database/availability answer decides at plan time.",
}

func ovhDBFlavor(name string, vcpu int, ram float64, maxGB int) DatabaseFlavor {
	return DatabaseFlavor{Name: name, VCPU: vcpu, RAMGB: ram, DiskMinGB: 20, DiskMaxGB: maxGB, DiskStepGB: 10, DiskSource: ovhDiskSource}
}

func ovhDatabases() []DatabaseOffer {
	essential := []DatabaseFlavor{
		ovhDBFlavor("db1-4", 2, 4, 240),
		ovhDBFlavor("db1-7", 2, 7, 480),
		ovhDBFlavor("db1-15", 4, 15, 960),
		ovhDBFlavor("db1-30", 8, 30, 1920),
	}
	larger := append(append([]DatabaseFlavor{}, essential...),
		ovhDBFlavor("db1-60", 16, 60, 3840),
		ovhDBFlavor("db1-120", 32, 120, 7680),
	)
	// Node counts per plan are from the capability guides: essential runs one
	// node, business two, enterprise three.
	plans := []DatabasePlan{
		{Name: "essential", Nodes: 1, Flavors: essential},
		{Name: "business", Nodes: 2, Flavors: larger},
		{Name: "enterprise", Nodes: 3, Flavors: larger},
	}
	return []DatabaseOffer{
		{
			Engine: "postgresql", Versions: []string{"14", "15", "16", "17"}, Plans: plans,
			Source: Source{URL: ovhDocsPostgres, Checked: Checked, Confidence: Confirmed, Note: "Versions from the PostgreSQL capabilities guide (2025-06-18); plan names from OVHcloud's Terraform provider (" + ovhTerraformDB + ")."},
		},
		{
			Engine: "mysql", Versions: []string{"8"}, Plans: plans,
			Source: Source{URL: ovhDocsMySQL, Checked: Checked, Confidence: Confirmed, Note: "MySQL 8.0 from the MySQL capabilities guide (2026-01-28); 8.4 was announced as coming."},
		},
	}
}
