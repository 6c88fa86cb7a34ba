package catalog

import (
	"strings"
	"testing"
)

// TestEveryFactIsSourcedAndDated checks the catalog's own promise: each
// owner, region and offering says where it comes from and when it was read,
// and a fact without a URL says why.
func TestEveryFactIsSourcedAndDated(t *testing.T) {
	check := func(what string, s Source) {
		t.Helper()
		if s.Checked == "" || s.Confidence == "" {
			t.Errorf("%s: source has no date or confidence: %+v", what, s)
		}
		if s.URL == "" && s.Note == "" {
			t.Errorf("%s: neither a URL nor a note saying why there is none", what)
		}
		if s.Confidence == Unconfirmed && s.Note == "" {
			t.Errorf("%s: unconfirmed without a note", what)
		}
	}
	cat := Default()
	for _, op := range cat.Operators {
		check(op.ID+" owner", op.Owner.Source)
		if len(op.Owner.Country) != 2 || op.Owner.Company == "" {
			t.Errorf("%s: owner %+v", op.ID, op.Owner)
		}
		seen := map[string]bool{}
		for _, r := range op.Regions {
			where := op.ID + "/" + r.Code
			if seen[strings.ToLower(r.Code)] {
				t.Errorf("%s: region listed twice", where)
			}
			seen[strings.ToLower(r.Code)] = true
			check(where, r.Source)
			if len(r.Flavors) > 0 {
				check(where+" flavors", r.FlavorSource)
			}
			if _, named := countryNames[r.Country]; !named {
				t.Errorf("%s: country %q has no name", where, r.Country)
			}
			for _, db := range r.Databases {
				check(where+" "+db.Engine, db.Source)
				for _, p := range db.Plans {
					for _, f := range p.Flavors {
						check(where+" "+f.Name+" disk", f.DiskSource)
						if f.DiskMinGB <= 0 || f.DiskMaxGB < f.DiskMinGB {
							t.Errorf("%s %s: disk %d-%d", where, f.Name, f.DiskMinGB, f.DiskMaxGB)
						}
					}
				}
			}
			if r.ObjectStorage != nil {
				check(where+" object storage", r.ObjectStorage.Source)
			}
		}
	}
	check("pulumi cloud", cat.PulumiCloud.Owner.Source)
}

func TestResidencyFacts(t *testing.T) {
	cat := Default()
	for _, tc := range []struct {
		kind, operator, region string
		owner, country         string
	}{
		{"ovh", "ovhcloud", "BHS5", "FR", "CA"},
		{"ovh", "ovhcloud", "bhs", "FR", "CA"},
		{"ovh", "ovhcloud", "GRA11", "FR", "FR"},
		{"digitalocean", "digitalocean", "tor1", "US", "CA"},
		{"digitalocean", "digitalocean", "nyc3", "US", "US"},
		{"openstack", "vexxhost", "ca-ymq-1", "CA", "CA"},
		{"openstack", "vexxhost", "sjc1", "CA", "US"},
	} {
		op := cat.Operator(tc.operator)
		r := op.Region(tc.region)
		if r == nil || op.Owner.Country != tc.owner || r.Country != tc.country {
			t.Errorf("%s %s: owner %s, region %+v; want owner %s, country %s", tc.operator, tc.region, op.Owner.Country, r, tc.owner, tc.country)
		}
	}
}

func TestDiskAllowed(t *testing.T) {
	f := DatabaseFlavor{DiskMinGB: 20, DiskMaxGB: 240, DiskStepGB: 10}
	for gb, want := range map[int]bool{10: false, 20: true, 25: false, 80: true, 240: true, 250: false} {
		if got := f.DiskAllowed(gb); got != want {
			t.Errorf("DiskAllowed(%d) = %v, want %v", gb, got, want)
		}
	}
	if s := f.DiskSizes(); s != "20 to 240 GB in steps of 10 GB" {
		t.Errorf("DiskSizes = %q", s)
	}
}

// TestDefaultIsACopy guards the facts against a caller editing them.
func TestDefaultIsACopy(t *testing.T) {
	a := Default()
	a.Operator("ovhcloud").Owner.Country = "CA"
	if Default().Operator("ovhcloud").Owner.Country != "FR" {
		t.Fatal("editing one catalog changed another")
	}
}
