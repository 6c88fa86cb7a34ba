package pricing

import (
	"fmt"

	"github.com/cosocial/cosocial/pkg/model"
)

// Migration is a migration's money: what the source costs today, what the
// target will, and what moving the data out of the source costs once.
type Migration struct {
	Source *Estimate `json:"source"`
	Target *Estimate `json:"target"`
	// MonthlyChange is the target's known total less the source's; the
	// per-member figure follows it over a year.
	MonthlyChange   Amount `json:"monthly_change"`
	PerMemberYearly Amount `json:"per_member_yearly_change"`
	// Comparable is false when either side has an unknown cost: the
	// change then compares parts.
	Comparable bool `json:"comparable"`
	// EgressGB is what leaves the source; Egress its one-off cost, nil
	// when the source publishes no price for it.
	EgressGB   float64 `json:"egress_gb"`
	Egress     *Amount `json:"egress,omitempty"`
	EgressNote string  `json:"egress_note"`
}

// MakeMigration prices both sides with the same lists. sizes are the
// buckets' sizes at the source, in GB, which the target will hold too;
// egressGB is every byte the copy reads out of the source.
func MakeMigration(source, target *model.Description, in Inputs, sizes map[string]float64, egressGB float64) *Migration {
	in.BucketGB = sizes
	m := &Migration{Source: Make(source, in), Target: Make(target, in), EgressGB: egressGB}
	m.MonthlyChange = m.Target.Total - m.Source.Total
	m.Comparable = len(m.Source.Unknown) == 0 && len(m.Target.Unknown) == 0
	if members := m.Target.Members; members > 0 {
		m.PerMemberYearly = m.MonthlyChange.Times(12 / float64(members))
	}
	kinds := map[string]bool{}
	for _, p := range source.Providers {
		kinds[p.Kind] = true
	}
	for kind := range kinds {
		l := in.Lists[kind]
		if l == nil || l.EgressPerGB == 0 {
			m.EgressNote = fmt.Sprintf("%s publishes no price for data leaving it: unknown", kind)
			continue
		}
		billed := max(egressGB-l.EgressFreeGB, 0)
		cost, from, err := in.CAD(l, l.EgressPerGB.Times(billed))
		if err != nil {
			m.EgressNote = err.Error()
			continue
		}
		m.Egress = &cost
		m.EgressNote = fmt.Sprintf("%.0f GB leave %s; %g GB a month are included, the rest costs %s/GB (%s)", egressGB, kind, l.EgressFreeGB, l.EgressPerGB.USD(), l.EgressSource)
		if from != "" {
			m.EgressNote += "; " + from
		}
	}
	return m
}
