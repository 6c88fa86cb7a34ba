// Package policy judges a description before any provider is called: the
// domain rules (what each application needs, what each provider offers in
// each region, what a migration can and cannot do) and the co-op's
// residency policy (where data is kept and who owns the provider). It
// returns diagnostics and a residency report; it never prints and never
// talks to a network.
package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/didyoumean"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/provider/providers"
)

// placement is where a provider or resource runs, as far as the catalog
// knows. Either field is nil when the catalog does not know it; the
// diagnostic saying so has then already been given.
type placement struct {
	operator *catalog.Operator
	region   *catalog.Region
}

// locator resolves providers and resources to catalog entries once each, so
// that judging a large description stays linear.
type locator struct {
	cat       *catalog.Catalog
	ix        *model.Index
	providers map[*model.Provider]placement
	diags     hcl.Diagnostics
}

func newLocator(cat *catalog.Catalog, ix *model.Index) *locator {
	return &locator{cat: cat, ix: ix, providers: map[*model.Provider]placement{}}
}

func (l *locator) provider(p *model.Provider) placement {
	if pl, ok := l.providers[p]; ok {
		return pl
	}
	pl := placement{operator: l.operator(p)}
	if pl.operator != nil && p.Region != "" {
		pl.region = pl.operator.Region(p.Region)
		if pl.region == nil {
			l.diags = append(l.diags, unknownRegion(pl.operator, p.Region, p.Src.Attr("region")))
		}
	}
	l.providers[p] = pl
	return pl
}

// operator finds the company behind a provider. A kind one company runs
// (OVHcloud, DigitalOcean) is that company; a kind anyone may run
// (OpenStack) is matched by its operator argument, else by its clouds.yaml
// entry's name, else by its region.
func (l *locator) operator(p *model.Provider) *catalog.Operator {
	kind := providers.CatalogKind(l.cat, p.Kind)
	if kind == nil || len(kind.Operators) == 0 {
		return nil // the language already refused the kind
	}
	if !kind.Open && p.Operator == "" {
		return kind.Operators[0]
	}
	if p.Operator != "" {
		if op := kind.Operator(p.Operator); op != nil {
			return op
		}
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown cloud operator",
			Detail:   fmt.Sprintf("The catalog knows no %s operator named %q. Known operators: %s.", p.Kind, p.Operator, strings.Join(kind.OperatorIDs(), ", ")),
			Subject:  p.Src.Attr("operator"),
		})
		return nil
	}
	if op := kind.Operator(p.Cloud); op != nil {
		return op
	}
	var matches []*catalog.Operator
	for _, op := range kind.Operators {
		if op.Region(p.Region) != nil {
			matches = append(matches, op)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0]
	case 0:
		var known []string
		for _, op := range kind.Operators {
			for _, r := range op.Regions {
				known = append(known, fmt.Sprintf("%s (%s, %s)", r.Code, op.Name, r.Place()))
			}
		}
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown " + kind.Title + " region",
			Detail:   fmt.Sprintf("No %s operator in the catalog has a region %q, so the tool cannot tell who runs it or where. Known regions: %s.", kind.Title, p.Region, strings.Join(known, "; ")),
			Subject:  p.Src.Attr("region"),
		})
	default:
		var ids []string
		for _, op := range matches {
			ids = append(ids, op.ID)
		}
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Ambiguous " + kind.Title + " region",
			Detail:   fmt.Sprintf("Several operators have a region %q (%s): add operator = \"<id>\" to say which.", p.Region, strings.Join(ids, ", ")),
			Subject:  p.Src.Attr("region"),
		})
	}
	return nil
}

// resource is where a resource runs: its own region, or its provider's.
func (l *locator) resource(r model.Resource) placement {
	p := l.ix.Provider(r)
	if p == nil {
		return placement{}
	}
	pl := l.provider(p)
	if pl.operator == nil || r.RegionOverride() == "" {
		return pl
	}
	region := pl.operator.Region(r.RegionOverride())
	if region == nil {
		l.diags = append(l.diags, unknownRegion(pl.operator, r.RegionOverride(), r.Source().Attr("region")))
	}
	return placement{operator: pl.operator, region: region}
}

func unknownRegion(op *catalog.Operator, code string, at *hcl.Range) *hcl.Diagnostic {
	var offered []string
	for _, r := range op.Regions {
		offered = append(offered, fmt.Sprintf("%s (%s)", r.Code, r.Place()))
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unsupported region",
		Detail:   fmt.Sprintf("%s has no region %q in the catalog.%s %s offers: %s.", op.Name, code, didyoumean.Hint(code, op.RegionCodes()), op.Name, strings.Join(offered, ", ")),
		Subject:  at,
	}
}

// listOf writes a short list of offered names, sorted, for a diagnostic.
func listOf(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	return strings.Join(sorted, ", ")
}
