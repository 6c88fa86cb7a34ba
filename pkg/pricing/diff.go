package pricing

import (
	"fmt"
	"strconv"

	"github.com/cosocial/cosocial/pkg/model"
)

// Step is one resource's planned change as a cost sees it: what it is,
// what is done to it, and the inputs its price depends on before and
// after.
type Step struct {
	Address  string
	Kind     string // the provider kind
	Resource string // "server", "database", "bucket", ...
	Action   string // "create", "update", "replace", "delete"
	Before   map[string]string
	After    map[string]string
}

// StepCost is a step's change to the monthly cost; Monthly is nil when a
// price it needs is unknown (Note says why).
type StepCost struct {
	Address string  `json:"address"`
	Monthly *Amount `json:"monthly_change,omitempty"`
	Note    string  `json:"note,omitempty"`
}

// Diff is a plan's change to the monthly cost, as Infracost shows one for
// Terraform.
type Diff struct {
	Steps []StepCost `json:"resources"`
	// Monthly is the sum of the known changes.
	Monthly Amount   `json:"monthly_change"`
	Unknown []string `json:"unknown"`
	Members int      `json:"members"`
	// PerMemberYearly is Monthly over a year, per member.
	PerMemberYearly Amount     `json:"per_member_yearly_change"`
	Lists           []ListUsed `json:"price_lists"`
}

// itemOf is what a resource with these inputs is priced as, and how many:
// false for what a plan's change does not price. Buckets cost what they
// hold, which a plan does not change; DNS costs nothing at either cloud.
func itemOf(resource string, inputs map[string]string) (item string, qty float64, ok bool) {
	switch resource {
	case model.KindServer:
		return ServerItem(inputs["flavor"]), 1, true
	case model.KindDatabase:
		qty = 1
		if n, err := strconv.Atoi(inputs["nodes"]); err == nil && n > 0 {
			qty = float64(n)
		}
		return DatabaseNodeItem(inputs["engine"], inputs["plan"], inputs["flavor"]), qty, true
	}
	return "", 0, false
}

// priceCAD is what a resource with these inputs costs a month, in CAD.
func priceCAD(in Inputs, l *List, resource string, inputs map[string]string) (Amount, error) {
	item, qty, ok := itemOf(resource, inputs)
	if !ok {
		return 0, nil
	}
	if l == nil {
		return 0, fmt.Errorf("no price list")
	}
	if p, listed := l.Price(item); listed && p == 0 {
		return 0, nil // nothing to convert, even without a rate
	}
	cad, _, err := in.Cost(l, item, item, qty)
	return cad, err
}

// MakeDiff prices each step: a create adds what the resource costs, a
// delete takes off what it cost, an update or replacement the
// difference.
func MakeDiff(steps []Step, in Inputs, members int) *Diff {
	d := &Diff{Steps: []StepCost{}, Unknown: []string{}, Members: members}
	for _, s := range steps {
		l := in.Lists[s.Kind]
		var before, after Amount
		var err error
		if s.Action != "create" && s.Before != nil {
			before, err = priceCAD(in, l, s.Resource, s.Before)
		}
		if err == nil && s.Action != "delete" && s.After != nil {
			after, err = priceCAD(in, l, s.Resource, s.After)
		}
		sc := StepCost{Address: s.Address}
		switch {
		case err != nil && l == nil:
			sc.Note = in.Missing[s.Kind]
			if sc.Note == "" {
				sc.Note = fmt.Sprintf("no price source for %s providers", s.Kind)
			}
		case err != nil:
			sc.Note = err.Error()
		default:
			delta := after - before
			sc.Monthly = &delta
			d.Monthly += delta
		}
		if sc.Monthly == nil {
			d.Unknown = append(d.Unknown, s.Address)
		}
		d.Steps = append(d.Steps, sc)
	}
	if members > 0 {
		d.PerMemberYearly = d.Monthly.Times(12 / float64(members))
	}
	d.Lists = listsUsed(in)
	return d
}

// Of finds a step's cost.
func (d *Diff) Of(address string) (StepCost, bool) {
	if d == nil {
		return StepCost{}, false
	}
	for _, s := range d.Steps {
		if s.Address == address {
			return s, true
		}
	}
	return StepCost{}, false
}
