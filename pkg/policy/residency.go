package policy

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/model"
)

// Verdict is one rule's judgement of one resource.
type Verdict string

const (
	Pass          Verdict = "pass"
	Fail          Verdict = "fail"
	Waived        Verdict = "waived"
	NotApplicable Verdict = "n/a"
	// Unknown means the catalog could not place the resource; a domain
	// error says why.
	Unknown Verdict = "unknown"
)

// Report is the residency report: one row per resource and one for the
// state backend, and the waivers with their state.
type Report struct {
	AsOf        string         `json:"as_of"`
	DataCountry string         `json:"data_country"`
	Ownership   string         `json:"ownership"`
	OnViolation string         `json:"on_violation"`
	Compliant   bool           `json:"compliant"`
	Rows        []Row          `json:"resources"`
	Waivers     []WaiverStatus `json:"waivers"`
	CatalogDate string         `json:"catalog_checked"`
}

// Row is one resource as the residency policy sees it.
type Row struct {
	Kind          string  `json:"kind"`
	Name          string  `json:"name"`
	Provider      string  `json:"provider"`
	Operator      string  `json:"operator"`
	Owner         string  `json:"owner"`
	OwnerCountry  string  `json:"owner_country"`
	OwnerSource   string  `json:"owner_source"`
	Region        string  `json:"region"`
	City          string  `json:"city"`
	Country       string  `json:"country"`
	RegionSource  string  `json:"region_source"`
	Confidence    string  `json:"confidence"`
	DataCountry   Verdict `json:"data_country"`
	OwnershipRule Verdict `json:"ownership"`
	Waiver        string  `json:"waiver"`
	WaiverExpires string  `json:"waiver_expires"`
	Note          string  `json:"note"`
}

// Address is the row's reference, e.g. database.main, or "state (s3)".
func (r Row) Address() string {
	if r.Kind == "state" {
		return "state (" + r.Name + ")"
	}
	return r.Kind + "." + r.Name
}

// Failed reports whether a rule fails for the row.
func (r Row) Failed() bool {
	return r.DataCountry == Fail || r.OwnershipRule == Fail || r.DataCountry == Unknown || r.OwnershipRule == Unknown
}

// WaiverStatus is a waiver as of the report's date.
type WaiverStatus struct {
	Name      string   `json:"name"`
	Rule      string   `json:"rule"`
	Resources []string `json:"resources"`
	Reason    string   `json:"reason"`
	Expires   string   `json:"expires"`
	Expired   bool     `json:"expired"`
	DaysLeft  int      `json:"days_left"`
	AppliedTo []string `json:"applied_to"`
}

// soonDays is how early a volunteer hears that a waiver is running out:
// long enough to put it on a monthly TechOps meeting's agenda.
const soonDays = 30

func (c *checker) residency() *Report {
	pol := c.desc.Policy
	if pol == nil {
		pol = &model.Policy{Ownership: model.OwnershipAny, OnViolation: model.OnViolationWarn}
		if c.desc.Coop != nil {
			c.warnf(c.desc.Coop.Src.Decl.Ptr(), "No residency policy",
				"This description has no policy \"residency\" block, so nothing is checked about where data is kept or who owns the providers. Add one, for example:\n\n  policy \"residency\" {\n    data_country = \"CA\"\n    ownership    = \"canadian\"\n    on_violation = \"error\"\n  }")
		}
	}
	rep := &Report{
		AsOf:        c.asOf.Format("2006-01-02"),
		DataCountry: pol.DataCountry,
		Ownership:   pol.Ownership,
		OnViolation: pol.OnViolation,
		CatalogDate: catalog.Checked,
		Rows:        []Row{},
		Waivers:     []WaiverStatus{},
	}
	waivers := c.waiverStatuses(pol)
	for _, r := range c.desc.Resources() {
		row := c.row(pol, r, waivers)
		rep.Rows = append(rep.Rows, row)
	}
	rep.Rows = append(rep.Rows, c.stateRow(pol, rep.Rows))
	for _, w := range waivers {
		rep.Waivers = append(rep.Waivers, *w.status)
	}
	rep.Compliant = true
	for _, row := range rep.Rows {
		if row.Failed() {
			rep.Compliant = false
		}
	}
	return rep
}

type waiverState struct {
	w      *model.Waiver
	status *WaiverStatus
	active bool
	// covers is the waiver's resource list as a set: a waiver may name
	// hundreds of resources, and each is looked up once per rule.
	covers map[model.Addr]bool
	// needed records, per covered resource, whether the rule failed there.
	needed map[model.Addr]bool
}

func (c *checker) waiverStatuses(pol *model.Policy) []*waiverState {
	var out []*waiverState
	for _, w := range pol.Waivers {
		st := &WaiverStatus{
			Name: w.Name, Rule: w.Rule, Reason: w.Reason,
			Expires:   w.Expires.Format("2006-01-02"),
			Resources: []string{}, AppliedTo: []string{},
		}
		for _, r := range w.Resources {
			st.Resources = append(st.Resources, r.Addr.String())
		}
		st.DaysLeft = int(w.Expires.Sub(c.asOf).Hours() / 24)
		st.Expired = st.DaysLeft < 0
		ws := &waiverState{w: w, status: st, active: !st.Expired, covers: map[model.Addr]bool{}, needed: map[model.Addr]bool{}}
		for _, r := range w.Resources {
			ws.covers[r.Addr] = true
		}
		out = append(out, ws)
		switch {
		case st.Expired:
			c.warnf(w.Src.Attr("expires"), "Waiver expired",
				"Waiver %q expired on %s and no longer applies: %s is judged by the %s rule again. Renew it with a new date and reason, or move the resources.",
				w.Name, st.Expires, joinAddrs(st.Resources), w.Rule)
		case st.DaysLeft <= soonDays:
			c.warnf(w.Src.Attr("expires"), "Waiver expires soon",
				"Waiver %q expires on %s, in %d days; after that %s is judged by the %s rule again.",
				w.Name, st.Expires, st.DaysLeft, joinAddrs(st.Resources), w.Rule)
		}
	}
	return out
}

func joinAddrs(addrs []string) string {
	switch len(addrs) {
	case 0:
		return "nothing"
	case 1:
		return addrs[0]
	}
	s := ""
	for i, a := range addrs {
		switch {
		case i == 0:
		case i == len(addrs)-1:
			s += " and "
		default:
			s += ", "
		}
		s += a
	}
	return s
}

func (c *checker) row(pol *model.Policy, r model.Resource, waivers []*waiverState) Row {
	addr := r.Addr()
	row := Row{Kind: addr.Kind, Name: addr.Name, Provider: "provider." + r.ProviderRef().Name}
	pl := c.loc.resource(r)
	p := c.ix.Provider(r)
	if p != nil {
		row.Provider = p.Kind + "." + p.Name
	}
	confidence := catalog.Confirmed
	if op := pl.operator; op != nil {
		row.Operator = op.Name
		row.Owner, row.OwnerCountry = op.Owner.Company, op.Owner.Country
		row.OwnerSource = op.Owner.Source.URL
		confidence = weaker(confidence, op.Owner.Source.Confidence)
	}
	if reg := pl.region; reg != nil {
		row.Region, row.City, row.Country = reg.Code, reg.City, reg.Country
		row.RegionSource = reg.Source.URL
		confidence = weaker(confidence, reg.Source.Confidence)
	}
	row.Confidence = string(confidence)

	// Data country: data-bearing resources only.
	switch {
	case pol.DataCountry == "" || !r.StoresData():
		row.DataCountry = NotApplicable
	case pl.region == nil:
		row.DataCountry = Unknown
	case pl.region.Country == pol.DataCountry:
		row.DataCountry = Pass
	default:
		row.DataCountry = c.violation(pol, r, waivers, model.RuleDataCountry, &row, func() *hcl.Diagnostic {
			return &hcl.Diagnostic{
				Summary: "Data outside " + catalog.CountryName(pol.DataCountry),
				Detail: fmt.Sprintf("%s keeps its data in %s's region %s (%s), in %s. The residency policy keeps every byte in %s (data_country = %q). Choose a region in %s, or add a waiver with a reason and an expiry date.",
					addr, pl.operator.Name, pl.region.Code, pl.region.Place(), catalog.TheCountry(pl.region.Country), catalog.TheCountry(pol.DataCountry), pol.DataCountry, catalog.TheCountry(pol.DataCountry)),
				Subject: regionAttr(r, p),
			}
		})
	}

	// Ownership: every resource, since every resource hands its provider the
	// co-op's money and its members' traffic.
	switch {
	case pol.Ownership != model.OwnershipCanadian:
		row.OwnershipRule = NotApplicable
	case pl.operator == nil:
		row.OwnershipRule = Unknown
	case pl.operator.Owner.Country == "CA":
		row.OwnershipRule = Pass
	default:
		owner := pl.operator.Owner
		row.OwnershipRule = c.violation(pol, r, waivers, model.RuleOwnership, &row, func() *hcl.Diagnostic {
			return &hcl.Diagnostic{
				Summary: "Provider not Canadian-owned",
				Detail: fmt.Sprintf("%s uses %s (%s), whose ultimate parent %s is based in %s (%s). The residency policy requires Canadian-owned providers (ownership = \"canadian\"). Move it to a Canadian-owned provider, or add a waiver with a reason and an expiry date.",
					addr, row.Provider, pl.operator.Name, owner.Company, catalog.TheCountry(owner.Country), owner.Country),
				Subject: r.Source().Attr("provider"),
			}
		})
	}
	c.unneededWaivers(r, &row, waivers)
	return row
}

// regionAttr is where a resource's region is written: its own region
// argument, else its provider argument (the region comes from there).
func regionAttr(r model.Resource, p *model.Provider) *hcl.Range {
	if r.RegionOverride() != "" || p == nil {
		return r.Source().Attr("region")
	}
	return r.Source().Attr("provider")
}

// violation decides between Waived and Fail, and reports a failure with the
// severity the policy asks for.
func (c *checker) violation(pol *model.Policy, r model.Resource, waivers []*waiverState, rule string, row *Row, diag func() *hcl.Diagnostic) Verdict {
	var expired *waiverState
	for _, w := range waivers {
		if w.w.Rule != rule || !w.covers[r.Addr()] {
			continue
		}
		w.needed[r.Addr()] = true
		if !w.active {
			expired = w
			continue
		}
		w.status.AppliedTo = append(w.status.AppliedTo, r.Addr().String())
		row.Waiver, row.WaiverExpires = w.w.Name, w.status.Expires
		return Waived
	}
	d := diag()
	d.Extra = Finding{Rule: rule}
	d.Severity = hcl.DiagError
	if pol.OnViolation == model.OnViolationWarn {
		d.Severity = hcl.DiagWarning
	}
	if expired != nil {
		d.Detail += fmt.Sprintf(" (Waiver %q covered this until %s.)", expired.w.Name, expired.status.Expires)
		row.Note = fmt.Sprintf("waiver %q expired %s", expired.w.Name, expired.status.Expires)
	}
	c.diags = append(c.diags, d)
	return Fail
}

// unneededWaivers warns about waivers that name a resource their rule does
// not fail for: a waiver that sets nothing aside hides what it was for.
func (c *checker) unneededWaivers(r model.Resource, row *Row, waivers []*waiverState) {
	verdicts := map[string]Verdict{model.RuleDataCountry: row.DataCountry, model.RuleOwnership: row.OwnershipRule}
	for _, w := range waivers {
		if !w.covers[r.Addr()] || w.needed[r.Addr()] {
			continue
		}
		v := verdicts[w.w.Rule]
		if v == Pass || v == NotApplicable {
			c.warnf(w.w.Src.Attr("resources"), "Waiver not needed",
				"Waiver %q sets the %s rule aside for %s, which does not fail that rule (%s). Remove it from the waiver so the waiver says only what it is for.",
				w.w.Name, w.w.Rule, r.Addr(), v)
		}
	}
}

// stateRow judges where the stack's state is kept.
func (c *checker) stateRow(pol *model.Policy, rows []Row) Row {
	st := c.desc.State
	backend := model.BackendLocal
	if st != nil && st.Backend != "" {
		backend = st.Backend
	}
	row := Row{Kind: "state", Name: backend, DataCountry: NotApplicable, OwnershipRule: NotApplicable, Confidence: string(catalog.Confirmed)}
	switch backend {
	case model.BackendLocal:
		row.Provider = "this machine"
		row.Note = "state is kept in a file beside the description, on the machine that runs cosocial"
	case model.BackendS3:
		if st.Bucket == nil {
			return row
		}
		for _, r := range rows {
			if r.Kind == model.KindBucket && r.Name == st.Bucket.Name {
				row = r
				row.Kind, row.Name = "state", backend
				row.Note = "state is kept in bucket." + st.Bucket.Name + ", created outside the stack"
			}
		}
	case model.BackendPulumiCloud:
		pc := c.cat.PulumiCloud
		row.Provider, row.Operator = "Pulumi Cloud", "Pulumi Cloud"
		row.Owner, row.OwnerCountry, row.OwnerSource = pc.Owner.Company, pc.Owner.Country, pc.Owner.Source.URL
		row.Country = pc.Country
		row.Confidence = string(weaker(pc.Owner.Source.Confidence, pc.Source.Confidence))
		sev := hcl.DiagError
		if pol.OnViolation == model.OnViolationWarn {
			sev = hcl.DiagWarning
		}
		// No waiver can name the state: keeping every resource's history
		// and secrets abroad is never a small exception.
		if pol.DataCountry != "" && pol.DataCountry != pc.Country {
			row.DataCountry = Fail
			c.diags = append(c.diags, &hcl.Diagnostic{
				Severity: sev,
				Summary:  "State kept outside " + catalog.CountryName(pol.DataCountry),
				Extra:    Finding{Rule: model.RuleDataCountry},
				Detail:   fmt.Sprintf("Pulumi Cloud keeps stack state, which records every resource and its encrypted secrets, in %s. Use backend = \"local\" or backend = \"s3\" with a bucket in %s.", catalog.TheCountry(pc.Country), catalog.TheCountry(pol.DataCountry)),
				Subject:  st.Src.Attr("backend"),
			})
		}
		if pol.Ownership == model.OwnershipCanadian {
			row.OwnershipRule = Fail
			c.diags = append(c.diags, &hcl.Diagnostic{
				Severity: sev,
				Summary:  "State kept by a provider not Canadian-owned",
				Extra:    Finding{Rule: model.RuleOwnership},
				Detail:   fmt.Sprintf("Pulumi Cloud is run by %s, based in %s. Use backend = \"local\" or backend = \"s3\" with a bucket at a Canadian-owned provider.", pc.Owner.Company, catalog.TheCountry(pc.Owner.Country)),
				Subject:  st.Src.Attr("backend"),
			})
		}
	}
	return row
}

var confidenceRank = map[catalog.Confidence]int{catalog.Confirmed: 0, catalog.ThirdParty: 1, catalog.Unconfirmed: 2}

// weaker returns the less certain of two confidences: a row is only as
// sure as its least sure fact.
func weaker(a, b catalog.Confidence) catalog.Confidence {
	if confidenceRank[b] > confidenceRank[a] {
		return b
	}
	return a
}
