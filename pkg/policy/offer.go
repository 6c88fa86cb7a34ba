package policy

import (
	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/model"
)

// DatabaseOffer is what the catalog says a provider offers where a
// database runs: the sizes it could be moved to and what they cost.
type DatabaseOffer struct {
	Operator *catalog.Operator
	Region   *catalog.Region
	Offer    *catalog.DatabaseOffer
	Plan     *catalog.DatabasePlan
	Flavor   *catalog.DatabaseFlavor // nil when the database names none
}

// OfferFor finds a database's offer in the catalog, resolving its provider
// the way the residency and domain checks do. It returns nil when the
// catalog does not know the place, engine or plan: Check has said so.
func OfferFor(cat *catalog.Catalog, desc *model.Description, db *model.Database) *DatabaseOffer {
	l := newLocator(cat, model.NewIndex(desc))
	pl := l.resource(db)
	if pl.region == nil {
		return nil
	}
	offer := pl.region.Database(db.Engine)
	if offer == nil {
		return nil
	}
	plan := offer.Plan(db.Plan)
	if plan == nil {
		return nil
	}
	return &DatabaseOffer{Operator: pl.operator, Region: pl.region, Offer: offer, Plan: plan, Flavor: plan.Flavor(db.Flavor)}
}
