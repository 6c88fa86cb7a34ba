package dbplan

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/policy"
)

// Headroom is the share of the disk the database may fill at the end of
// the horizon: the 80 % threshold, so that the resize after this one is
// planned rather than urgent.
const Headroom = 0.80

// Size is a flavor and disk a database runs on, with its monthly price
// when the catalog has one in CAD.
type Size struct {
	Flavor string `json:"flavor"`
	DiskGB int    `json:"disk_gb"`
	// CAD is the monthly price in Canadian dollars, nil when the catalog
	// has no published CAD price; Price says why or what it has instead.
	CAD   *float64 `json:"monthly_cad"`
	Price string   `json:"price"`
}

// Recommendation is the next step a database should take.
type Recommendation struct {
	Database string    `json:"database"`
	Horizon  string    `json:"horizon"`
	Until    time.Time `json:"until"`
	// NeededBytes is what the database is expected to hold at the end of
	// the horizon, at the cautious end of the forecast's interval.
	NeededBytes int64 `json:"needed_bytes"`
	Current     Size  `json:"current"`
	// Next is nil when the current size covers the horizon.
	Next *Size `json:"next"`
	// UsedAtHorizon is the share of the chosen disk the database fills at
	// the horizon's end.
	UsedAtHorizon float64 `json:"used_at_horizon"`
	Reason        string  `json:"reason"`
}

// NoSizeError says no flavor of the plan takes the disk the horizon needs.
type NoSizeError struct {
	Need    int
	Largest string
	Plan    string
	Region  string
}

func (e *NoSizeError) Error() string {
	return fmt.Sprintf("no flavor of the %s plan in %s takes %d GB; the largest disk offered is %s: choose a shorter --horizon, clean up (see db measure), or move to a bigger plan",
		e.Plan, e.Region, e.Need, e.Largest)
}

// neededBytes is what the database and its WAL may take by until, at the
// cautious end: the upper bound of the fitted size's prediction interval,
// and never less than today's size. A trend too noisy to call growing is
// not taken as no growth: its upper bound is growth.
func neededBytes(fc *Forecast, until time.Time) float64 {
	need := max(float64(fc.Latest.DatabaseBytes), fc.Fit.At(until))
	if _, hi := fc.Fit.Band(until); hi > need {
		need = hi
	}
	return need + float64(max(fc.Latest.WALBytes, 0))
}

// Recommend finds the smallest step the provider offers in the database's
// region that keeps it under Headroom until the horizon's end: a bigger
// disk on the same flavor when the flavor allows it, else the smallest
// flavor of the same plan that takes the disk (never a smaller one than
// today's, which would cut memory the database relies on).
//
// The horizon runs from now, or from the latest sample if that is later.
func Recommend(name string, fc *Forecast, offer *policy.DatabaseOffer, flavor string, diskGB int, now time.Time, horizon time.Duration, horizonText string) (*Recommendation, error) {
	from := fc.Latest.Time
	if now.After(from) {
		from = now
	}
	until := from.Add(horizon)
	need := neededBytes(fc, until)
	rec := &Recommendation{Database: name, Horizon: horizonText, Until: until, NeededBytes: int64(need),
		Current: sizeOf(offer, flavor, diskGB)}
	needGB := int(math.Ceil(need / Headroom / GB))
	if diskGB >= needGB {
		rec.UsedAtHorizon = need / float64(diskGB) / GB
		rec.Reason = fmt.Sprintf("%d GB covers the horizon: the database is expected to fill %.0f %% of it by %s.",
			diskGB, rec.UsedAtHorizon*100, until.Format(time.DateOnly))
		return rec, nil
	}
	current := offer.Plan.Flavor(flavor)
	if current != nil && current.DiskMaxGB >= needGB {
		next := sizeOf(offer, flavor, stepUp(current, needGB))
		rec.Next = &next
		rec.UsedAtHorizon = need / float64(next.DiskGB) / GB
		rec.Reason = fmt.Sprintf("Grow the disk to %d GB on the same flavor: it takes %s.", next.DiskGB, current.DiskSizes())
		return rec, nil
	}
	candidates := make([]catalog.DatabaseFlavor, 0, len(offer.Plan.Flavors))
	for _, f := range offer.Plan.Flavors {
		if f.DiskMaxGB >= needGB && (current == nil || (f.RAMGB >= current.RAMGB && f.VCPU >= current.VCPU)) {
			candidates = append(candidates, f)
		}
	}
	if len(candidates) == 0 {
		largest := ""
		best := 0
		for _, f := range offer.Plan.Flavors {
			if f.DiskMaxGB > best {
				best, largest = f.DiskMaxGB, fmt.Sprintf("%d GB (%s)", f.DiskMaxGB, f.Name)
			}
		}
		return nil, &NoSizeError{Need: needGB, Largest: largest, Plan: offer.Plan.Name, Region: offer.Region.Code}
	}
	sort.SliceStable(candidates, func(i, j int) bool {
		a, b := candidates[i], candidates[j]
		if a.RAMGB != b.RAMGB {
			return a.RAMGB < b.RAMGB
		}
		return a.VCPU < b.VCPU
	})
	f := candidates[0]
	next := sizeOf(offer, f.Name, stepUp(&f, needGB))
	rec.Next = &next
	rec.UsedAtHorizon = need / float64(next.DiskGB) / GB
	why := "the description names no flavor"
	if current != nil {
		why = fmt.Sprintf("it takes no more than %d GB", current.DiskMaxGB)
	}
	rec.Reason = fmt.Sprintf("Move to %s with %d GB: %s, %s; %s takes %s.", f.Name, next.DiskGB, flavor, why, f.Name, f.DiskSizes())
	return rec, nil
}

// stepUp is the smallest disk the flavor allows that is at least gb.
func stepUp(f *catalog.DatabaseFlavor, gb int) int {
	if gb <= f.DiskMinGB {
		return f.DiskMinGB
	}
	step := max(f.DiskStepGB, 1)
	return f.DiskMinGB + (gb-f.DiskMinGB+step-1)/step*step
}

func sizeOf(offer *policy.DatabaseOffer, flavor string, diskGB int) Size {
	s := Size{Flavor: flavor, DiskGB: diskGB, Price: "no published price in the catalog"}
	f := offer.Plan.Flavor(flavor)
	if f == nil || f.Price == nil {
		return s
	}
	if f.Price.Currency != "CAD" {
		// Converting at a rate of our choosing would be a guess dressed as
		// a price: show the published one, labelled.
		s.Price = fmt.Sprintf("no CAD price; published %s (%s)", f.Price, f.Price.Source.Confidence)
		return s
	}
	if diskGB > f.DiskMinGB {
		// The flavor's price covers its base disk; the catalog has no
		// per-GB price for the rest, and a partial sum would understate.
		s.Price = fmt.Sprintf("%s for the flavor, plus %d GB of added disk at a price not in the catalog", f.Price, diskGB-f.DiskMinGB)
		return s
	}
	amount := f.Price.Amount
	s.CAD = &amount
	s.Price = f.Price.String()
	return s
}
