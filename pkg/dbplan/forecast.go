package dbplan

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Models the forecast fits.
const (
	Linear      = "linear"
	Exponential = "exponential"
)

// Trends the forecast tells apart.
const (
	Growing   = "growing"
	Flat      = "flat"
	Shrinking = "shrinking"
)

// Thresholds are the shares of the disk the forecast dates: 80 % is when to
// plan, 90 % when to act, 100 % when PostgreSQL stops taking writes.
var Thresholds = []int{80, 90, 100}

// MinSamples and MinSpan are the least history a forecast is made from.
// Fewer points make a line through noise, and a date from it would be a
// guess presented as a fact.
const (
	MinSamples = 3
	MinSpan    = 14 * 24 * time.Hour
)

// Limit is how far ahead dates are searched.
const Limit = 10 * 365 * 24 * time.Hour

// TieRatio is how much smaller one model's squared error must be for it
// to count as the better fit.
const TieRatio = 1.5

const day = 24 * time.Hour

// TooFewError says the history is too short to forecast from.
type TooFewError struct {
	Samples int
	Span    time.Duration
}

func (e *TooFewError) Error() string {
	return fmt.Sprintf("too few samples to forecast: %d over %d days; at least %d spread over %d days or more are needed",
		e.Samples, int(e.Span/day), MinSamples, int(MinSpan/day))
}

// Fit is a growth model fitted by least squares: size = A + B·t (linear)
// or ln(size) = A + B·t (exponential), t in days since T0.
type Fit struct {
	Model string    `json:"model"`
	A     float64   `json:"a"`
	B     float64   `json:"b"`
	T0    time.Time `json:"t0"`
	// R2 is the share of the variance the model explains, measured in
	// bytes for both models so the two compare.
	R2 float64 `json:"r2"`

	n        int
	se       float64 // residual standard error, in the model's own space
	tbar     float64
	sxx      float64
	rssBytes float64
}

func (f Fit) days(t time.Time) float64 { return t.Sub(f.T0).Hours() / 24 }

// At is the fitted size at t.
func (f Fit) At(t time.Time) float64 {
	v := f.A + f.B*f.days(t)
	if f.Model == Exponential {
		return math.Exp(v)
	}
	return v
}

// Band is the 95 % prediction interval of the size at t.
func (f Fit) Band(t time.Time) (lo, hi float64) {
	x := f.days(t)
	spread := tQuantile(f.n-2) * f.se * math.Sqrt(1+1/float64(f.n)+(x-f.tbar)*(x-f.tbar)/f.sxx)
	v := f.A + f.B*x
	if f.Model == Exponential {
		return math.Exp(v - spread), math.Exp(v + spread)
	}
	return v - spread, v + spread
}

// slopeInterval is the 95 % confidence interval of B.
func (f Fit) slopeInterval() (lo, hi float64) {
	d := tQuantile(f.n-2) * f.se / math.Sqrt(f.sxx)
	return f.B - d, f.B + d
}

// fit fits one model; ok is false when the model cannot describe the data
// (an exponential through a zero size).
func fit(h History, model string) (Fit, bool) {
	f := Fit{Model: model, T0: h[0].Time, n: len(h)}
	xs := make([]float64, len(h))
	ys := make([]float64, len(h))
	for i, s := range h {
		xs[i] = f.days(s.Time)
		ys[i] = float64(s.DatabaseBytes)
		if model == Exponential {
			if s.DatabaseBytes <= 0 {
				return f, false
			}
			ys[i] = math.Log(ys[i])
		}
	}
	var sx, sy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
	}
	n := float64(len(xs))
	f.tbar = sx / n
	ybar := sy / n
	var sxy float64
	for i := range xs {
		f.sxx += (xs[i] - f.tbar) * (xs[i] - f.tbar)
		sxy += (xs[i] - f.tbar) * (ys[i] - ybar)
	}
	if f.sxx == 0 {
		return f, false
	}
	f.B = sxy / f.sxx
	f.A = ybar - f.B*f.tbar
	var rss, rssBytes, tss, mean float64
	for _, s := range h {
		mean += float64(s.DatabaseBytes)
	}
	mean /= n
	for i, s := range h {
		r := ys[i] - (f.A + f.B*xs[i])
		rss += r * r
		rb := float64(s.DatabaseBytes) - f.At(s.Time)
		rssBytes += rb * rb
		tss += (float64(s.DatabaseBytes) - mean) * (float64(s.DatabaseBytes) - mean)
	}
	f.se = math.Sqrt(rss / (n - 2))
	f.rssBytes = rssBytes
	f.R2 = 1
	if tss > 0 {
		f.R2 = 1 - rssBytes/tss
	}
	return f, true
}

// Crossing is when the database reaches a share of its disk.
type Crossing struct {
	Percent int `json:"percent"`
	// Reached is true when the latest sample is already there.
	Reached bool `json:"reached"`
	// Date is the fitted estimate; Earliest and Latest bound it with 95 %
	// confidence. Each is nil when not within Limit.
	Date     *time.Time `json:"date"`
	Earliest *time.Time `json:"earliest"`
	Latest   *time.Time `json:"latest"`
}

// Uncertain is true when the interval is wide enough that a single date
// would mislead: more than two weeks, or open-ended.
func (c Crossing) Uncertain() bool {
	if c.Reached || c.Date == nil {
		return false
	}
	if c.Earliest == nil || c.Latest == nil {
		return true
	}
	return c.Latest.Sub(*c.Earliest) > 14*day
}

// Gap is a stretch of the history with no samples, long next to the usual
// interval: the fit bridges it with a straight guess.
type Gap struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Forecast is when a database fills its disk, at the current growth.
type Forecast struct {
	Samples int       `json:"samples"`
	From    time.Time `json:"from"`
	Latest  Sample    `json:"latest"`
	// DiskBytes is the disk the forecast is against: the description's.
	DiskBytes int64 `json:"disk_bytes"`
	// Fit is the chosen model, Other the one not chosen, for the record.
	Fit   Fit  `json:"fit"`
	Other *Fit `json:"other"`
	// Tie is true when the other model fits about as well; the intervals
	// then cover both models' dates.
	Tie   bool   `json:"tie"`
	Trend string `json:"trend"`
	// GrowthPerMonth is the fitted growth over the next 30 days, in bytes.
	GrowthPerMonth int64      `json:"growth_per_month_bytes"`
	Crossings      []Crossing `json:"crossings"`
	Gaps           []Gap      `json:"gaps"`
	// Drivers are the tables that grew, most first, between the first
	// and the last sample that measured them; empty without two such.
	Drivers []TableGrowth `json:"drivers"`
}

// TableGrowth is one table's growth over the history.
type TableGrowth struct {
	Table string    `json:"table"`
	Since time.Time `json:"since"`
	// Bytes is the table's growth with its indexes and TOAST; Share its
	// part of the database's growth over the same time.
	Bytes int64   `json:"bytes"`
	Share float64 `json:"share"`
}

// drivers says which tables the database's growth went to, between the
// first and the last samples that measured them a week or more apart.
func drivers(h History) []TableGrowth {
	out := []TableGrowth{}
	first, last := -1, -1
	for i, s := range h {
		if len(s.Tables) == 0 {
			continue
		}
		if first < 0 {
			first = i
		}
		last = i
	}
	if first < 0 || h[last].Time.Sub(h[first].Time) < 7*day {
		return out
	}
	grew := h[last].DatabaseBytes - h[first].DatabaseBytes
	if grew <= 0 {
		return out
	}
	for name, now := range h[last].Tables {
		// A table not among the largest at first had no more than the
		// smallest listed then.
		before, ok := h[first].Tables[name]
		if !ok {
			before = 0
		}
		if d := now - before; d > 0 {
			out = append(out, TableGrowth{Table: name, Since: h[first].Time, Bytes: d, Share: float64(d) / float64(grew)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Bytes > out[j].Bytes || (out[i].Bytes == out[j].Bytes && out[i].Table < out[j].Table)
	})
	return out
}

// Full is true when the latest sample fills the disk or more.
func (f *Forecast) Full() bool { return f.Latest.Used() >= 1 }

// Predict fits the history and dates the thresholds against a disk of
// diskBytes. The history must be in date order (LoadHistory and Import
// make sure of it).
func Predict(h History, diskBytes int64) (*Forecast, error) {
	if diskBytes <= 0 {
		return nil, fmt.Errorf("the disk size is unknown: set disk_gb on the database in the description, or pass --disk-gb")
	}
	if len(h) < MinSamples || h[len(h)-1].Time.Sub(h[0].Time) < MinSpan {
		span := time.Duration(0)
		if len(h) > 0 {
			span = h[len(h)-1].Time.Sub(h[0].Time)
		}
		return nil, &TooFewError{Samples: len(h), Span: span}
	}
	// The exponential is chosen only when it fits clearly better: through
	// noisy points the two fit about as well, and an exponential carried
	// a year ahead on a coin toss would move the dates by months. When
	// they tie, the linear gives the date and the interval covers both.
	lin, _ := fit(h, Linear)
	chosen := lin
	var other *Fit
	tie := false
	if exp, ok := fit(h, Exponential); ok {
		switch {
		case exp.rssBytes*TieRatio < lin.rssBytes:
			chosen, other = exp, &lin
		default:
			other = &exp
			tie = exp.rssBytes < lin.rssBytes*TieRatio
		}
	}
	latest := h[len(h)-1]
	latest.DiskBytes = diskBytes
	f := &Forecast{Samples: len(h), From: h[0].Time, Latest: latest, DiskBytes: diskBytes, Fit: chosen, Other: other, Tie: tie, Gaps: gaps(h), Drivers: drivers(h)}
	f.GrowthPerMonth = int64(chosen.At(latest.Time.Add(30*day)) - chosen.At(latest.Time))
	switch lo, hi := chosen.slopeInterval(); {
	case lo > 0:
		f.Trend = Growing
	case hi < 0:
		f.Trend = Shrinking
	default:
		f.Trend = Flat
	}
	// The WAL shares the disk: what it takes now is not room for data.
	wal := max(latest.WALBytes, 0)
	for _, pct := range Thresholds {
		limit := float64(diskBytes)*float64(pct)/100 - float64(wal)
		c := Crossing{Percent: pct, Reached: float64(latest.DatabaseBytes) >= limit}
		if !c.Reached && f.Trend == Growing {
			c.Date = crossing(latest.Time, func(t time.Time) float64 { return chosen.At(t) }, limit)
			c.Earliest = crossing(latest.Time, func(t time.Time) float64 { _, hi := chosen.Band(t); return hi }, limit)
			c.Latest = crossing(latest.Time, func(t time.Time) float64 { lo, _ := chosen.Band(t); return lo }, limit)
			if tie {
				o := *other
				if e := crossing(latest.Time, func(t time.Time) float64 { _, hi := o.Band(t); return hi }, limit); e != nil && (c.Earliest == nil || e.Before(*c.Earliest)) {
					c.Earliest = e
				}
				if l := crossing(latest.Time, func(t time.Time) float64 { lo, _ := o.Band(t); return lo }, limit); l == nil || (c.Latest != nil && l.After(*c.Latest)) {
					c.Latest = l
				}
			}
		}
		f.Crossings = append(f.Crossings, c)
	}
	return f, nil
}

// crossing is the first day after from on which size(t) reaches limit.
func crossing(from time.Time, size func(time.Time) float64, limit float64) *time.Time {
	if size(from) >= limit {
		t := from
		return &t
	}
	// Sizes only grow along a growing fit and its bands, so a binary
	// search over days finds the first one.
	n := int(Limit / day)
	i := sort.Search(n+1, func(i int) bool { return size(from.Add(time.Duration(i)*day)) >= limit })
	if i > n {
		return nil
	}
	t := from.Add(time.Duration(i) * day).Truncate(day)
	return &t
}

// gaps finds stretches more than four times the usual interval and over a
// week long.
func gaps(h History) []Gap {
	out := []Gap{}
	if len(h) < 3 {
		return out
	}
	steps := make([]time.Duration, 0, len(h)-1)
	for i := 1; i < len(h); i++ {
		steps = append(steps, h[i].Time.Sub(h[i-1].Time))
	}
	sorted := append([]time.Duration(nil), steps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	median := sorted[len(sorted)/2]
	for i, s := range steps {
		if s > 4*median && s > 7*day {
			out = append(out, Gap{From: h[i].Time, To: h[i+1].Time})
		}
	}
	return out
}

// tQuantile is Student's t for a two-sided 95 % interval, rounded towards
// the wider interval between the tabled degrees of freedom.
func tQuantile(df int) float64 {
	table := []struct {
		df int
		t  float64
	}{{1, 12.706}, {2, 4.303}, {3, 3.182}, {4, 2.776}, {5, 2.571}, {6, 2.447}, {7, 2.365}, {8, 2.306}, {9, 2.262},
		{10, 2.228}, {12, 2.179}, {15, 2.131}, {20, 2.086}, {25, 2.060}, {30, 2.042}, {40, 2.021}, {60, 2.000}, {120, 1.980}}
	t := 1.96
	for i := len(table) - 1; i >= 0; i-- {
		if df >= table[i].df {
			return table[i].t
		}
		t = table[i].t
	}
	return t
}
