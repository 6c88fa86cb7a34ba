package digitalocean

import (
	"context"
	"strings"
	"time"

	"github.com/digitalocean/godo"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/pricing"
)

// priceComparison is a third-party comparison that reads DigitalOcean's
// price page: Spaces' storage "$20 per 1 TB" and outgoing traffic "1TB +
// 0.01 per GB". The API publishes neither.
const priceComparison = "https://gist.github.com/peterwwillis/83a4636476f01852dc2b6703b78941e9 (third-party)"

// Spaces' storage beyond its subscription, per GB-month, and traffic out
// beyond the terabyte a month includes, per GB.
const (
	spacesPerGBUSD = 0.02
	egressPerGBUSD = 0.01
	egressFreeGB   = 1000
)

// Prices is DigitalOcean's list in US dollars: each size's price_monthly
// as the API's /v2/sizes gives it (every page), and the managed databases'
// from the catalog, whose sources are third-party and dated, since the
// API publishes none. Token and endpoint are the provider's own (env may
// point them at the sandbox).
func Prices(ctx context.Context, p *model.Provider, env map[string]string, now time.Time) (*pricing.List, error) {
	c, err := New(Config{Token: env[TokenEnv], Endpoint: env[EndpointEnv]})
	if err != nil {
		return nil, err
	}
	sizes, err := listAll(ctx, c, "sizes", func(s godo.Size) string { return s.Slug },
		func(ctx context.Context, opt *godo.ListOptions) ([]godo.Size, *godo.Response, error) {
			return c.api.Sizes.List(ctx, opt)
		})
	if err != nil {
		return nil, err
	}
	l := &pricing.List{Kind: Kind, Currency: "USD", Source: strings.TrimRight(c.cfg.Endpoint, "/") + "/v2/sizes", Fetched: now, Monthly: map[string]pricing.Amount{}}
	for _, s := range sizes {
		if s.PriceMonthly > 0 {
			l.Monthly[pricing.ServerItem(s.Slug)] = pricing.FromFloat(s.PriceMonthly)
		}
	}
	if op := catalog.Default().Operator("digitalocean"); op != nil {
		for _, r := range op.Regions {
			for _, offer := range r.Databases {
				for _, plan := range offer.Plans {
					for _, f := range plan.Flavors {
						if f.Price != nil && f.Price.Currency == "USD" {
							l.Monthly[pricing.DatabaseNodeItem(offer.Engine, plan.Name, f.Name)] = pricing.FromFloat(f.Price.Amount)
						}
					}
				}
			}
		}
	}
	l.Monthly[pricing.ObjectStorageGBItem] = pricing.FromFloat(spacesPerGBUSD)
	l.EgressPerGB, l.EgressFreeGB, l.EgressSource = pricing.FromFloat(egressPerGBUSD), egressFreeGB, priceComparison
	return l, nil
}
