package catalog

// Operators that run OpenStack public clouds. A description's openstack
// provider is matched to one of them by its operator argument, its cloud
// name or its region.

const (
	vexxhostSDK  = "https://github.com/openstack/openstacksdk/blob/master/doc/source/user/config/vendor-support.rst"
	vexxhostSalt = "https://github.com/saltstack/salt/pull/12208"
)

func vexxhost() *Operator {
	flavorSource := Source{
		URL: vexxhostSDK, Checked: Checked, Confidence: ThirdParty,
		Note: "Flavor names from a third-party flavor map; vCPU and RAM of v3-starter-1/2 and v3-standard-2/4/8 from a third-party README; other sizes and all prices (and their currency) are unconfirmed.",
	}
	// Servers boot from volumes, so flavors carry no disk of their own.
	flavors := func() []Flavor {
		return []Flavor{
			{Name: "v3-starter-1", VCPU: 1, RAMGB: 2},
			{Name: "v3-starter-2", VCPU: 1, RAMGB: 4},
			{Name: "v3-starter-4"},
			{Name: "v3-standard-1"},
			{Name: "v3-standard-2", VCPU: 2, RAMGB: 8},
			{Name: "v3-standard-4", VCPU: 4, RAMGB: 16},
			{Name: "v3-standard-8", VCPU: 8, RAMGB: 32},
			{Name: "v3-standard-16"},
			{Name: "v3-standard-32"},
		}
	}
	region := func(code, city, sub, country string, src Source) *Region {
		r := &Region{
			Code: code, City: city, Subdivision: sub, Country: country, Source: src,
			Flavors: flavors(), FlavorSource: flavorSource,
			ObjectStorage: &ObjectStorage{
				Region: code,
				Source: unconfirmed("VEXXHOST runs Ceph object storage with an S3 API; not confirmed in the stored sources. The endpoint comes from the Keystone catalog."),
			},
			DNS: true,
		}
		r.Databases = selfManagedDatabases(r.Flavors)
		return r
	}
	return &Operator{
		ID:   "vexxhost",
		Name: "VEXXHOST",
		Owner: Owner{
			Company: "VEXXHOST Inc.",
			Country: "CA",
			HQ:      "Montreal, QC, Canada",
			Source: Source{
				URL: vexxhostSalt, Checked: Checked, Confidence: Confirmed,
				Note: "Described by its founders as an OpenStack public cloud based in Canada; the exact legal name was not read.",
			},
		},
		Regions: []*Region{
			region("ca-ymq-1", "Montreal", "QC", "CA", confirmed(vexxhostSDK)),
			region("sjc1", "San Jose", "CA", "US", unconfirmed("The region exists (VEXXHOST CI nodes are named vexxhost-sjc1); the city is read from its airport code.")),
			region("ams1", "Amsterdam", "", "NL", unconfirmed("The region exists (VEXXHOST CI nodes are named vexxhost-ams1); the city is read from its code.")),
		},
	}
}

// selfManagedDatabases is what an OpenStack cloud without a managed
// database service offers through the tool: the engine on a server of the
// region's flavors, with its data on a volume of any size.
func selfManagedDatabases(flavors []Flavor) []DatabaseOffer {
	var dbFlavors []DatabaseFlavor
	for _, f := range flavors {
		dbFlavors = append(dbFlavors, DatabaseFlavor{
			Name: f.Name, VCPU: f.VCPU, RAMGB: f.RAMGB,
			DiskMinGB: 10, DiskMaxGB: 10000, DiskStepGB: 1,
			DiskSource: Source{Checked: Checked, Confidence: Confirmed, Note: "A block volume the tool attaches and grows in place."},
		})
	}
	plans := []DatabasePlan{{Name: "", Nodes: 1, Flavors: dbFlavors}}
	src := Source{Checked: Checked, Confidence: Confirmed, Note: "Run by the tool on a dedicated server from Debian 12 packages (PostgreSQL 15, MariaDB 10.11) or the engines' own Debian repositories."}
	return []DatabaseOffer{
		{Engine: "postgresql", Versions: []string{"15", "16", "17"}, Plans: plans, SelfManaged: true, Source: src},
		{Engine: "mysql", Versions: []string{"8"}, Plans: plans, SelfManaged: true, Source: src},
		{Engine: "mariadb", Versions: []string{"10.11", "11.4"}, Plans: plans, SelfManaged: true, Source: src},
	}
}

func pulumiCloud() PulumiCloud {
	return PulumiCloud{
		Owner: Owner{
			Company: "Pulumi Corporation",
			Country: "US",
			HQ:      "Seattle, WA, United States",
			Source:  thirdParty("https://www.slideshare.net/slideshow/pulumi-modern-infrastructure-as-code/236603600"),
		},
		Country: "US",
		Source:  Source{Checked: Checked, Confidence: Confirmed, Note: "Pulumi Cloud keeps stack state in the United States (the project's design notes)."},
	}
}
