// Package catalog holds what the tool knows about providers before any API
// call: who ultimately owns each one and in which country, where each region
// is, and what each region offers (server flavors, database engines,
// versions, plans and disk limits, object storage, DNS) with prices where
// they are published. Every fact carries its source and the date it was
// checked; a fact that could not be confirmed says so, and the provider's
// own API remains the authority at plan time.
package catalog

import (
	"fmt"
	"sort"
	"strings"
)

// Checked is the date the facts in this catalog were last read from their
// sources. Update it with the facts.
const Checked = "2026-11-22"

// Confidence says how far a fact can be trusted.
type Confidence string

const (
	// Confirmed facts were read in a first-party source: the provider's own
	// documentation, SDK, Terraform provider or a regulatory filing.
	Confirmed Confidence = "confirmed"
	// ThirdParty facts were read only in someone else's material.
	ThirdParty Confidence = "third-party"
	// Unconfirmed facts have no source; they are the tool's best reading and
	// are shown as such wherever they matter.
	Unconfirmed Confidence = "unconfirmed"
)

// Source says where a fact comes from.
type Source struct {
	URL        string
	Checked    string
	Confidence Confidence
	Note       string
}

func confirmed(url string) Source  { return Source{URL: url, Checked: Checked, Confidence: Confirmed} }
func thirdParty(url string) Source { return Source{URL: url, Checked: Checked, Confidence: ThirdParty} }
func unconfirmed(note string) Source {
	return Source{Checked: Checked, Confidence: Unconfirmed, Note: note}
}

// Owner is the company that ultimately controls a provider.
type Owner struct {
	Company string // the ultimate parent
	Country string // ISO 3166-1 alpha-2 of the parent's home country
	HQ      string
	Source  Source
}

// Price is a published monthly price.
type Price struct {
	Amount   float64
	Currency string // "CAD", "USD", "EUR"
	Source   Source
}

func (p *Price) String() string {
	if p == nil {
		return "not published"
	}
	return fmt.Sprintf("%.2f %s/month", p.Amount, p.Currency)
}

// Flavor is a server size.
type Flavor struct {
	Name   string
	VCPU   int
	RAMGB  float64
	DiskGB int // local disk; 0 when the flavor boots from a volume
	Price  *Price
}

// DatabaseFlavor is a managed database node size and the disk it allows.
type DatabaseFlavor struct {
	Name       string
	VCPU       int
	RAMGB      float64
	DiskMinGB  int
	DiskMaxGB  int
	DiskStepGB int
	Price      *Price // per cluster of the plan's node count, per month
	DiskSource Source // where the disk limits come from
}

// DatabasePlan is a service level (OVHcloud's essential, business,
// enterprise). Providers without plans have one plan named "".
type DatabasePlan struct {
	Name    string
	Nodes   int
	Flavors []DatabaseFlavor
}

// DatabaseOffer is one engine in one region.
type DatabaseOffer struct {
	Engine   string
	Versions []string
	Plans    []DatabasePlan
	// SelfManaged is true where the cloud has no managed service and the
	// tool runs the engine on a server of its own (OpenStack clouds).
	SelfManaged bool
	Source      Source
}

// ObjectStorage is a region's S3-compatible object storage.
type ObjectStorage struct {
	Region   string // the S3 region name, e.g. "bhs"
	Endpoint string
	PerGB    *Price // per GB-month
	Source   Source
}

// Region is one place a provider runs.
type Region struct {
	Code         string
	Aliases      []string // other spellings the provider's API uses
	City         string
	Subdivision  string // province or state
	Country      string // ISO 3166-1 alpha-2
	Source       Source
	Flavors      []Flavor
	FlavorSource Source
	Databases    []DatabaseOffer
	// DatabaseRegion is the region name the provider's database API uses
	// here, where it differs from Code (OVHcloud: "BHS" for BHS5).
	DatabaseRegion string
	ObjectStorage  *ObjectStorage
	DNS            bool
}

// Place reads "Beauharnois, QC, Canada".
func (r *Region) Place() string {
	parts := []string{}
	if r.City != "" {
		parts = append(parts, r.City)
	}
	if r.Subdivision != "" {
		parts = append(parts, r.Subdivision)
	}
	return strings.Join(append(parts, CountryName(r.Country)), ", ")
}

// Operator is a company that runs a cloud. OVHcloud and DigitalOcean are one
// operator each; OpenStack is an API that several companies run.
type Operator struct {
	ID      string // as written in a description's operator argument
	Name    string
	Owner   Owner
	Regions []*Region
}

// Region finds a region by code or alias, ignoring case.
func (o *Operator) Region(code string) *Region {
	for _, r := range o.Regions {
		if strings.EqualFold(r.Code, code) {
			return r
		}
		for _, a := range r.Aliases {
			if strings.EqualFold(a, code) {
				return r
			}
		}
	}
	return nil
}

// RegionCodes lists the operator's region codes.
func (o *Operator) RegionCodes() []string {
	codes := make([]string, len(o.Regions))
	for i, r := range o.Regions {
		codes[i] = r.Code
	}
	return codes
}

// Kind is one provider kind of the language and the operators that speak
// it, as the kind's registration (pkg/provider/providers) links them.
type Kind struct {
	Kind      string
	Title     string // how messages name the API
	Operators []*Operator
	// Open is true for an API that many companies run (OpenStack): a
	// provider of this kind must be matched to its operator, never assumed.
	Open bool
}

// Operator finds an operator of the kind by ID.
func (k *Kind) Operator(id string) *Operator {
	for _, o := range k.Operators {
		if strings.EqualFold(o.ID, id) {
			return o
		}
	}
	return nil
}

// OperatorIDs lists the kind's operators.
func (k *Kind) OperatorIDs() []string {
	ids := make([]string, len(k.Operators))
	for i, o := range k.Operators {
		ids[i] = o.ID
	}
	return ids
}

// Catalog is every cloud operator the tool knows. Which API each speaks
// is the provider kinds' registrations' to say.
type Catalog struct {
	Operators []*Operator
	// PulumiCloud is the owner of Pulumi's hosted state service, judged
	// when a description keeps its state there.
	PulumiCloud PulumiCloud
}

// PulumiCloud describes Pulumi's hosted backend.
type PulumiCloud struct {
	Owner   Owner
	Country string
	Source  Source
}

// Default returns the built-in catalog. It is built on each call so that a
// caller can never alter the facts another caller sees.
func Default() *Catalog {
	return &Catalog{
		Operators:   []*Operator{ovhcloud(), vexxhost(), digitalOcean()},
		PulumiCloud: pulumiCloud(),
	}
}

// Operator finds an operator by ID, ignoring case.
func (c *Catalog) Operator(id string) *Operator {
	for _, o := range c.Operators {
		if strings.EqualFold(o.ID, id) {
			return o
		}
	}
	return nil
}

// Database finds the offer for an engine in a region.
func (r *Region) Database(engine string) *DatabaseOffer {
	for i := range r.Databases {
		if r.Databases[i].Engine == engine {
			return &r.Databases[i]
		}
	}
	return nil
}

// Flavor finds a server flavor in a region.
func (r *Region) Flavor(name string) *Flavor {
	for i := range r.Flavors {
		if r.Flavors[i].Name == name {
			return &r.Flavors[i]
		}
	}
	return nil
}

// FlavorNames lists the region's server flavors.
func (r *Region) FlavorNames() []string {
	names := make([]string, len(r.Flavors))
	for i, f := range r.Flavors {
		names[i] = f.Name
	}
	return names
}

// Engines lists the engines the region offers, sorted.
func (r *Region) Engines() []string {
	var names []string
	for _, d := range r.Databases {
		names = append(names, d.Engine)
	}
	sort.Strings(names)
	return names
}

// Plan finds a plan of the offer.
func (d *DatabaseOffer) Plan(name string) *DatabasePlan {
	for i := range d.Plans {
		if d.Plans[i].Name == name {
			return &d.Plans[i]
		}
	}
	return nil
}

// PlanNames lists the offer's named plans.
func (d *DatabaseOffer) PlanNames() []string {
	var names []string
	for _, p := range d.Plans {
		if p.Name != "" {
			names = append(names, p.Name)
		}
	}
	return names
}

// HasVersion reports whether the engine version is offered.
func (d *DatabaseOffer) HasVersion(v string) bool {
	for _, have := range d.Versions {
		if have == v {
			return true
		}
	}
	return false
}

// Flavor finds a node flavor of the plan.
func (p *DatabasePlan) Flavor(name string) *DatabaseFlavor {
	for i := range p.Flavors {
		if p.Flavors[i].Name == name {
			return &p.Flavors[i]
		}
	}
	return nil
}

// FlavorNames lists the plan's node flavors.
func (p *DatabasePlan) FlavorNames() []string {
	names := make([]string, len(p.Flavors))
	for i, f := range p.Flavors {
		names[i] = f.Name
	}
	return names
}

// DiskSizes says which disk sizes a flavor allows, e.g. "80 to 240 GB in
// steps of 10 GB".
func (f *DatabaseFlavor) DiskSizes() string {
	s := fmt.Sprintf("%d to %d GB", f.DiskMinGB, f.DiskMaxGB)
	if f.DiskStepGB > 1 {
		s += fmt.Sprintf(" in steps of %d GB", f.DiskStepGB)
	}
	return s
}

// DiskAllowed reports whether the flavor takes a disk of gb gigabytes.
func (f *DatabaseFlavor) DiskAllowed(gb int) bool {
	if gb < f.DiskMinGB || gb > f.DiskMaxGB {
		return false
	}
	return f.DiskStepGB <= 1 || (gb-f.DiskMinGB)%f.DiskStepGB == 0
}

var countryNames = map[string]string{
	"CA": "Canada",
	"US": "United States",
	"FR": "France",
	"NL": "Netherlands",
	"DE": "Germany",
	"GB": "United Kingdom",
	"PL": "Poland",
	"SG": "Singapore",
	"AU": "Australia",
	"IN": "India",
}

// CountryName spells out an ISO country code the catalog uses.
func CountryName(code string) string {
	if n, ok := countryNames[code]; ok {
		return n
	}
	return code
}

// TheCountry is CountryName as it reads inside a sentence: "the United
// States", "France".
func TheCountry(code string) string {
	switch code {
	case "US", "NL", "GB":
		return "the " + CountryName(code)
	}
	return CountryName(code)
}
