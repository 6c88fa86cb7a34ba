package dbplan

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var start = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)

// synthetic is a weekly history over a year whose truth is size(day).
func synthetic(weeks int, size func(day float64) float64, noise float64, seed uint64) History {
	r := rand.New(rand.NewPCG(seed, seed))
	var h History
	for w := 0; w < weeks; w++ {
		d := float64(7 * w)
		v := size(d) * (1 + noise*r.NormFloat64())
		h = append(h, Sample{Time: start.Add(time.Duration(d) * day), DatabaseBytes: int64(v), WALBytes: -1})
	}
	return h
}

// truthCrossing is the day the true curve reaches limit.
func truthCrossing(size func(float64) float64, limit float64) time.Time {
	for d := 0.0; d < 3650; d++ {
		if size(d) >= limit {
			return start.Add(time.Duration(d) * day)
		}
	}
	panic("never")
}

func TestForecastFindsTheTruth(t *testing.T) {
	const disk = 200 * GB
	cases := []struct {
		name  string
		size  func(float64) float64
		model string
		// tolerance is how far the 100 % date may land from the truth, as
		// a share of the time from the last sample to the truth.
		tolerance float64
	}{
		{"linear", func(d float64) float64 { return 60*GB + d*(40*GB/365) }, Linear, 0.02},
		{"exponential", func(d float64) float64 { return 60 * GB * math.Exp(d*math.Log(100.0/60)/365) }, Exponential, 0.02},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := synthetic(53, c.size, 0, 1)
			fc, err := Predict(h, disk)
			if err != nil {
				t.Fatal(err)
			}
			if fc.Fit.Model != c.model {
				t.Errorf("chose %s, want %s (R² %.4f)", fc.Fit.Model, c.model, fc.Fit.R2)
			}
			if fc.Trend != Growing {
				t.Errorf("trend %s", fc.Trend)
			}
			for _, cr := range fc.Crossings {
				truth := truthCrossing(c.size, float64(disk)*float64(cr.Percent)/100)
				if cr.Date == nil {
					t.Fatalf("%d%%: no date; truth %s", cr.Percent, truth.Format(time.DateOnly))
				}
				ahead := truth.Sub(fc.Latest.Time)
				off := math.Abs(cr.Date.Sub(truth).Hours()) / ahead.Hours()
				if off > c.tolerance {
					t.Errorf("%d%%: %s, truth %s (off by %.1f%% of the time ahead)", cr.Percent, cr.Date.Format(time.DateOnly), truth.Format(time.DateOnly), off*100)
				}
				if cr.Uncertain() {
					t.Errorf("%d%%: exact data gave an uncertain date %s..%s", cr.Percent, cr.Earliest, cr.Latest)
				}
			}
		})
	}
}

func TestNoisyHistoryGivesAnIntervalHoldingTheTruth(t *testing.T) {
	const disk = 150 * GB
	size := func(d float64) float64 { return 60*GB + d*(40*GB/365) }
	truth := truthCrossing(size, disk)
	// Over many seeds the 95 % interval should hold the truth nearly
	// always; a fit that ignores the noise would miss it often.
	misses := 0
	const runs = 40
	for seed := uint64(1); seed <= runs; seed++ {
		fc, err := Predict(synthetic(26, size, 0.04, seed), disk)
		if err != nil {
			t.Fatal(err)
		}
		c := fc.Crossings[2]
		if !c.Uncertain() {
			t.Fatalf("seed %d: 4%% noise over 26 weeks gave a single date %s", seed, c.Date.Format(time.DateOnly))
		}
		if c.Earliest == nil || c.Earliest.After(truth) || (c.Latest != nil && c.Latest.Before(truth)) {
			misses++
		}
	}
	if misses > runs/10 {
		t.Errorf("the interval missed the truth %d times in %d", misses, runs)
	}
}

func TestFlatAndShrinkingGiveNoDate(t *testing.T) {
	for name, size := range map[string]func(float64) float64{
		Flat:      func(d float64) float64 { return 70 * GB },
		Shrinking: func(d float64) float64 { return 70*GB - d*(10*GB/365) },
	} {
		t.Run(name, func(t *testing.T) {
			fc, err := Predict(synthetic(20, size, 0.002, 7), 100*GB)
			if err != nil {
				t.Fatal(err)
			}
			if fc.Trend != name {
				t.Errorf("trend %s, want %s", fc.Trend, name)
			}
			for _, c := range fc.Crossings {
				if c.Date != nil || c.Reached {
					t.Errorf("%d%%: %+v", c.Percent, c)
				}
			}
		})
	}
}

func TestTooFewSamplesIsSaidPlainly(t *testing.T) {
	h := synthetic(2, func(d float64) float64 { return 10 * GB }, 0, 1)
	_, err := Predict(h, 100*GB)
	var tf *TooFewError
	if !errors.As(err, &tf) || tf.Samples != 2 {
		t.Fatalf("got %v", err)
	}
	// Three samples within a week are as few.
	short := History{{Time: start, DatabaseBytes: 1}, {Time: start.Add(day), DatabaseBytes: 2}, {Time: start.Add(3 * day), DatabaseBytes: 3}}
	if _, err := Predict(short, 100*GB); !errors.As(err, &tf) || tf.Span != 3*day {
		t.Fatalf("got %v", err)
	}
	if _, err := Predict(synthetic(10, func(float64) float64 { return GB }, 0, 1), 0); err == nil {
		t.Fatal("no disk size, no error")
	}
}

func TestAFullDiskIsReached(t *testing.T) {
	h := synthetic(10, func(d float64) float64 { return 95*GB + d*GB/7 }, 0, 1)
	fc, err := Predict(h, 100*GB)
	if err != nil {
		t.Fatal(err)
	}
	if !fc.Full() {
		t.Fatalf("latest %d of 100 GB is not full", fc.Latest.DatabaseBytes)
	}
	for _, c := range fc.Crossings {
		if !c.Reached {
			t.Errorf("%d%% not reached", c.Percent)
		}
	}
}

func TestGapsAreFound(t *testing.T) {
	h := synthetic(30, func(d float64) float64 { return 60*GB + d*GB/10 }, 0, 1)
	h = append(h[:10:10], h[20:]...)
	fc, err := Predict(h, 200*GB)
	if err != nil {
		t.Fatal(err)
	}
	if len(fc.Gaps) != 1 || !fc.Gaps[0].From.Equal(h[9].Time) || !fc.Gaps[0].To.Equal(h[10].Time) {
		t.Fatalf("gaps %+v", fc.Gaps)
	}
}
