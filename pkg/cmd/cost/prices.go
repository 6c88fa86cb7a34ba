package cost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/dbplan"
	"github.com/cosocial/cosocial/pkg/migrate"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/pricing"
	"github.com/cosocial/cosocial/pkg/provider/providers"
	"github.com/cosocial/cosocial/pkg/stack"
)

// fetchTimeout bounds a live price list's read: a slow API falls back to
// the kept list rather than hang the command.
const fetchTimeout = 30 * time.Second

// Prices says where each provider kind's prices come from for a
// description: read live and kept beside the stack (in stackDir), or, when
// the live read fails or offline is set, the list kept by an earlier run,
// with why. A kind whose cloud publishes no list is missing, with why.
func Prices(ctx context.Context, desc *model.Description, cat *catalog.Catalog, env map[string]string, stackDir string, sandbox, offline bool, now time.Time) pricing.Inputs {
	in := pricing.Inputs{Lists: map[string]*pricing.List{}, Missing: map[string]string{}, Stale: map[string]string{}, Now: now,
		Nodes: nodes(desc, cat)}
	seen := map[string]bool{}
	for _, p := range desc.Providers {
		if seen[p.Kind] {
			continue
		}
		seen[p.Kind] = true
		k, ok := providers.Lookup(p.Kind)
		if !ok {
			continue
		}
		if k.Prices == nil {
			in.Missing[p.Kind] = fmt.Sprintf("%s publishes no price list the tool can read, and the catalog holds no dated price: unknown", operatorName(cat, k, p))
			continue
		}
		var why error = errors.New("--offline")
		if !offline {
			fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
			l, err := k.Prices(fctx, p, env, now)
			cancel()
			if err == nil {
				l.Sandbox = sandbox
				in.Lists[p.Kind] = l
				// Not kept is only a later offline run's loss.
				_ = l.Save(stackDir)
				continue
			}
			why = err
		}
		kept, err := pricing.Load(stackDir, p.Kind)
		if err != nil {
			in.Missing[p.Kind] = fmt.Sprintf("%s's prices could not be read (%v) and none were kept by an earlier run", k.Title, why)
			continue
		}
		in.Lists[p.Kind] = kept
		in.Stale[p.Kind] = why.Error()
	}
	for _, l := range in.Lists {
		if l.Currency == "USD" {
			in.USDCAD = usdcad(ctx, env, stackDir, sandbox, offline, now)
			break
		}
	}
	return in
}

// usdcad is the Bank of Canada's latest USD/CAD rate, read live and kept,
// or the one kept by an earlier run; nil when there is neither.
func usdcad(ctx context.Context, env map[string]string, stackDir string, sandbox, offline bool, now time.Time) *pricing.Rate {
	why := "--offline"
	if !offline {
		fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		r, err := pricing.FetchRate(fctx, env[pricing.ValetEnv], pricing.USDCAD, now)
		cancel()
		if err == nil {
			r.Sandbox = sandbox
			_ = pricing.SaveRate(stackDir, r)
			return r
		}
		why = err.Error()
	}
	r, err := pricing.LoadRate(stackDir, pricing.USDCAD)
	if err != nil {
		return nil
	}
	r.Kept = why
	return r
}

// operatorName names who runs a provider's cloud: "VEXXHOST (OpenStack)"
// where the catalog finds the operator, else the kind's title.
func operatorName(cat *catalog.Catalog, k *providers.Kind, p *model.Provider) string {
	if ck := providers.CatalogKind(cat, k.Name); ck != nil {
		for _, op := range ck.Operators {
			if strings.EqualFold(op.ID, p.Operator) || strings.EqualFold(op.ID, p.Cloud) || (p.Operator == "" && op.Region(p.Region) != nil) {
				if op.Name != k.Title {
					return op.Name + " (" + k.Title + ")"
				}
				return op.Name
			}
		}
	}
	return k.Title
}

// nodes counts a description's databases' nodes, as the catalog says;
// the description is indexed once.
func nodes(desc *model.Description, cat *catalog.Catalog) func(*model.Database) int {
	ix := model.NewIndex(desc)
	return func(d *model.Database) int {
		p := ix.Provider(d)
		if p == nil {
			return 1
		}
		region := d.Region
		if region == "" {
			region = p.Region
		}
		return providers.DatabaseNodes(cat, p.Kind, region, d)
	}
}

// PlanDiff is what a plan's changes do to the monthly cost, priced from
// the lists in.
func PlanDiff(desc *model.Description, p *stack.Plan, in pricing.Inputs) *pricing.Diff {
	var steps []pricing.Step
	for _, c := range p.Changes {
		kind, resource, ok := providers.ParseToken(c.Type)
		if !ok || c.Action == stack.ActionSame {
			continue
		}
		steps = append(steps, pricing.Step{Address: c.Address, Kind: kind, Resource: resource, Action: c.Action, Before: c.Before, After: c.After})
	}
	members := 0
	if desc.Coop != nil {
		members = desc.Coop.Members
	}
	return pricing.MakeDiff(steps, in, members)
}

// ForPlan prices a plan's changes for plan and up, from the lists read
// now (or kept), at the simulators' catalog when the stack is the
// sandbox's.
func ForPlan(ctx context.Context, desc *model.Description, cat *catalog.Catalog, opened *factory.OpenedStack, now time.Time, p *stack.Plan) *pricing.Diff {
	env := ProcessEnv()
	if opened.Sandbox != nil {
		env = opened.Sandbox.Env()
	}
	return PlanDiff(desc, p, Prices(ctx, desc, cat, env, opened.Dir, opened.Sandbox != nil, false, now))
}

// ProcessEnv is this process's environment, as price readers take it.
func ProcessEnv() map[string]string { return environ(os.Environ()) }

// environ is an environment as a map.
func environ(kvs []string) map[string]string {
	env := map[string]string{}
	for _, kv := range kvs {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// ForMigration prices a migration for migrate plan: both sides from the
// same lists (the source's at its own API, in US dollars converted at the
// Bank of Canada's rate), the buckets at the sizes the source holds, and
// the one-off cost of reading every byte out of the source.
func ForMigration(ctx context.Context, target, source *model.Description, facts migrate.Facts, cat *catalog.Catalog, env map[string]string, stackDir string, sandbox bool, now time.Time) *pricing.Migration {
	both := &model.Description{Coop: target.Coop, Providers: append(append([]*model.Provider{}, source.Providers...), target.Providers...)}
	in := Prices(ctx, both, cat, env, stackDir, sandbox, false, now)
	sourceNodes, targetNodes := nodes(source, cat), nodes(target, cat)
	in.Nodes = func(d *model.Database) int {
		if slices.Contains(source.Databases, d) {
			return sourceNodes(d)
		}
		return targetNodes(d)
	}
	sizes := map[string]float64{}
	var egress float64
	for name, b := range facts.Buckets {
		sizes[name] = float64(b.Bytes) / 1e9
		egress += float64(b.Bytes) / 1e9
	}
	for _, d := range facts.Databases {
		egress += float64(d.DataBytes) / 1e9
	}
	return pricing.MakeMigration(source, target, in, sizes, egress)
}

// PriceSizes gives a resize's sizes their monthly price from the list of
// the database's provider, where it has the flavor: the same prices as
// cost and plan. A disk beyond the flavor's own is priced by no list: the
// size then says so rather than understate.
func PriceSizes(in pricing.Inputs, desc *model.Description, d *model.Database, offer *policy.DatabaseOffer, sizes ...*dbplan.Size) {
	p := model.NewIndex(desc).Provider(d)
	if p == nil || offer == nil || offer.Plan == nil {
		return
	}
	l := in.Lists[p.Kind]
	if l == nil {
		return
	}
	nodes := 1
	if in.Nodes != nil {
		nodes = max(in.Nodes(d), 1)
	}
	for _, s := range sizes {
		if s == nil {
			continue
		}
		item := pricing.DatabaseNodeItem(d.Engine, d.Plan, s.Flavor)
		cad, from, err := in.Cost(l, item, item, float64(nodes))
		if err != nil {
			continue
		}
		src := fmt.Sprintf("%s's list of %s", l.Kind, l.Fetched.Format(time.DateOnly))
		if from != "" {
			src += "; " + from
		}
		if f := offer.Plan.Flavor(s.Flavor); f != nil && s.DiskGB > f.DiskMinGB {
			s.CAD, s.Price = nil, fmt.Sprintf("%s a month for the flavor (%s), plus %d GB of added disk at a price no list gives", cad.CAD(), src, s.DiskGB-f.DiskMinGB)
			continue
		}
		v := cad.Float()
		s.CAD, s.Price = &v, fmt.Sprintf("%s a month (%s)", cad.CAD(), src)
	}
}
