package policy

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/model"
)

// Result is what judging a description gives.
type Result struct {
	// Diagnostics holds domain errors and residency findings, in the order
	// they were found. Violations are errors when the policy says
	// on_violation = "error", warnings otherwise.
	Diagnostics hcl.Diagnostics
	Residency   *Report
}

// Blocked reports whether the description must not go any further: a
// domain error, or a violation under on_violation = "error".
func (r *Result) Blocked() bool { return r.Diagnostics.HasErrors() }

// Finding marks a diagnostic as a residency rule's verdict (in its Extra
// field), as opposed to a domain error.
type Finding struct{ Rule string }

// DomainErrors counts the errors that are not residency findings: what
// `residency` mentions but leaves to `validate`.
func (r *Result) DomainErrors() int {
	n := 0
	for _, d := range r.Diagnostics {
		if _, finding := d.Extra.(Finding); d.Severity == hcl.DiagError && !finding {
			n++
		}
	}
	return n
}

// checker carries one judgement's state.
type checker struct {
	desc *model.Description
	cat  *catalog.Catalog
	ix   *model.Index
	// source indexes the migration's source description, when there is one.
	source *model.Index
	loc    *locator
	asOf   time.Time
	diags  hcl.Diagnostics
}

// Check judges a description that loaded without errors against the
// catalog's facts and the description's residency policy, as of a day
// (waivers apply up to and including their expiry date).
func Check(desc *model.Description, cat *catalog.Catalog, asOf time.Time) *Result {
	ix := model.NewIndex(desc)
	c := &checker{desc: desc, cat: cat, ix: ix, loc: newLocator(cat, ix), asOf: day(asOf)}
	if m := desc.Migration; m != nil && m.Source != nil {
		c.source = model.NewIndex(m.Source)
	}
	c.domain()
	report := c.residency()
	diags := append(c.loc.diags, c.diags...)
	return &Result{Diagnostics: diags, Residency: report}
}

// day drops the time of day: waivers are dated, not timed.
func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ParseAsOf reads the date a judgement is made as of (YYYY-MM-DD), or
// returns today when s is empty.
func ParseAsOf(s string, now func() time.Time) (time.Time, error) {
	if s == "" {
		return day(now()), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--as-of %q is not a date: write it as YYYY-MM-DD", s)
	}
	return t, nil
}
