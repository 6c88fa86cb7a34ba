package pricing

import (
	"fmt"
	"sort"
	"time"

	"github.com/cosocial/cosocial/pkg/model"
)

// Row is what one resource costs a month, in CAD.
type Row struct {
	Address  string `json:"address"`
	Provider string `json:"provider"`
	// What is the item priced: "b3-8 server", "essential db1-4, 1 node".
	What string `json:"what"`
	// Monthly is nil when no price is known, or when the cost follows use
	// (object storage without a size): then PerGB says the rate.
	Monthly *Amount `json:"monthly,omitempty"`
	PerGB   *Amount `json:"per_gb_month,omitempty"`
	// Source and Fetched say where the price was read and when.
	Source  string `json:"source,omitempty"`
	Fetched string `json:"fetched,omitempty"`
	Note    string `json:"note,omitempty"`
	// Converted is the price as published, when it was not in CAD.
	Converted string `json:"converted_from,omitempty"`
}

// Estimate is a description's monthly cost.
type Estimate struct {
	Rows []Row `json:"resources"`
	// Total is the sum of the known monthly costs.
	Total Amount `json:"total_monthly"`
	// Unknown are the resources no source prices; UsageBased those whose
	// cost follows what they hold.
	Unknown    []string `json:"unknown"`
	UsageBased []string `json:"usage_based"`
	Members    int      `json:"members"`
	// DuesYearly is one member's yearly fee; PerMemberYearly is Total
	// over a year, per member (0 without members).
	DuesYearly      Amount `json:"dues_yearly"`
	PerMemberYearly Amount `json:"per_member_yearly"`
	// Lists are the price lists used, by provider kind.
	Lists []ListUsed `json:"price_lists"`
	// Rate converted the prices published in US dollars.
	Rate *Rate `json:"usd_cad,omitempty"`
}

// ListUsed says which list priced a kind's resources, and how fresh it is.
type ListUsed struct {
	Kind    string `json:"kind"`
	Source  string `json:"source"`
	Fetched string `json:"fetched"`
	AgeDays int    `json:"age_days"`
	// Kept is true when the live list could not be read and the one kept
	// beside the stack was used; Why says why.
	Kept    bool   `json:"kept,omitempty"`
	Why     string `json:"why,omitempty"`
	Sandbox bool   `json:"sandbox,omitempty"`
}

// Inputs are what an estimate needs beyond the description.
type Inputs struct {
	// Lists are the price lists by provider kind; a kind without one is
	// unknown, with Missing[kind] saying why.
	Lists   map[string]*List
	Missing map[string]string
	// Stale marks the lists kept from an earlier run, with why the live
	// one could not be read.
	Stale map[string]string
	// Nodes is a database's node count (its plan's), 1 when unknown.
	Nodes func(*model.Database) int
	// BucketGB is the size of a bucket, by name, where it is known.
	BucketGB map[string]float64
	Now      time.Time
	// USDCAD converts the lists in US dollars; without it their prices
	// are unknown.
	USDCAD *Rate
}

// CAD is a list's price in Canadian dollars, converted at the day's rate
// when the list is in US dollars; from says what was converted.
func (in Inputs) CAD(l *List, a Amount) (cad Amount, from string, err error) {
	switch l.Currency {
	case "CAD":
		return a, "", nil
	case "USD":
		if in.USDCAD == nil {
			return 0, "", fmt.Errorf("%s prices are in US dollars and no USD/CAD rate could be read", l.Kind)
		}
		return a.Convert(in.USDCAD.Value), a.USD() + " at " + in.USDCAD.String(), nil
	}
	return 0, "", fmt.Errorf("%s prices are in %s, which the tool does not convert", l.Kind, l.Currency)
}

// Make prices every server, database and bucket of the description.
func Make(desc *model.Description, in Inputs) *Estimate {
	ix := model.NewIndex(desc)
	e := &Estimate{Unknown: []string{}, UsageBased: []string{}}
	row := func(r model.Resource, what, item string, qty float64) Row {
		p := ix.Provider(r)
		out := Row{Address: r.Addr().String(), What: what}
		if p == nil {
			return out
		}
		out.Provider = p.Name
		l := in.Lists[p.Kind]
		if l == nil {
			out.Note = in.Missing[p.Kind]
			if out.Note == "" {
				out.Note = fmt.Sprintf("no price source for %s providers", p.Kind)
			}
			return out
		}
		out.Source, out.Fetched = l.Source, l.Fetched.Format(time.DateOnly)
		n := qty
		if qty < 0 {
			n = 1 // the rate per GB
		}
		cad, from, err := in.Cost(l, item, what, n)
		if err != nil {
			out.Note = err.Error()
			return out
		}
		out.Converted = from
		if qty >= 0 {
			out.Monthly = &cad
		} else {
			out.PerGB = &cad
		}
		return out
	}
	for _, s := range desc.Servers {
		e.Rows = append(e.Rows, row(s, s.Flavor+" server", ServerItem(s.Flavor), 1))
	}
	for _, d := range desc.Databases {
		nodes := 1
		if in.Nodes != nil {
			nodes = max(in.Nodes(d), 1)
		}
		what := fmt.Sprintf("%s %s %s, %d node", d.Engine, d.Plan, d.Flavor, nodes)
		if nodes > 1 {
			what += "s"
		}
		e.Rows = append(e.Rows, row(d, what, DatabaseNodeItem(d.Engine, d.Plan, d.Flavor), float64(nodes)))
	}
	for _, b := range desc.Buckets {
		gb, sized := in.BucketGB[b.Name]
		qty, what := -1.0, "object storage, per GB stored"
		if sized {
			qty, what = gb, fmt.Sprintf("object storage, %g GB", gb)
		}
		e.Rows = append(e.Rows, row(b, what, ObjectStorageGBItem, qty))
	}
	for _, r := range e.Rows {
		switch {
		case r.Monthly != nil:
			e.Total += *r.Monthly
		case r.PerGB != nil:
			e.UsageBased = append(e.UsageBased, r.Address)
		default:
			e.Unknown = append(e.Unknown, r.Address)
		}
	}
	if desc.Coop != nil {
		e.Members, e.DuesYearly = desc.Coop.Members, FromFloat(desc.Coop.FeeCADYearly)
		if e.Members > 0 {
			e.PerMemberYearly = e.Total.Times(12 / float64(e.Members))
		}
	}
	e.Lists = listsUsed(in)
	e.Rate = in.USDCAD
	return e
}

// Cost is qty of an item at the list's price, in Canadian dollars; what
// names the item in the error when the list lacks it, and from says what
// was converted ("" for a list in CAD).
func (in Inputs) Cost(l *List, item, what string, qty float64) (cad Amount, from string, err error) {
	p, ok := l.Price(item)
	if !ok {
		return 0, "", fmt.Errorf("%s is not in the %s price list", what, l.Kind)
	}
	return in.CAD(l, p.Times(qty))
}

// listsUsed says which list priced each kind, and how fresh it is.
func listsUsed(in Inputs) []ListUsed {
	out := []ListUsed{}
	for kind, l := range in.Lists {
		used := ListUsed{Kind: kind, Source: l.Source, Fetched: l.Fetched.Format(time.DateOnly), AgeDays: l.Age(in.Now), Sandbox: l.Sandbox}
		if why, stale := in.Stale[kind]; stale {
			used.Kept, used.Why = true, why
		}
		out = append(out, used)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// DuesShare is the infrastructure's part of a member's dues, in percent;
// 0 without dues.
func (e *Estimate) DuesShare() float64 {
	if e.DuesYearly <= 0 {
		return 0
	}
	return 100 * float64(e.PerMemberYearly) / float64(e.DuesYearly)
}
