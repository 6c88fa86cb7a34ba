package pricing

import "testing"

func TestAmountWords(t *testing.T) {
	for _, tc := range []struct {
		a          Amount
		cad, delta string
	}{
		{4_120_000_000, "CA$41.20", "+CA$41.20"},
		{-310_000_000, "-CA$3.10", "-CA$3.10"},
		{0, "CA$0.00", "CA$0.00"},
		// Half a cent rounds away from zero.
		{109_500_000, "CA$1.10", "+CA$1.10"},
		{123_456_789_000_000, "CA$1,234,567.89", "+CA$1,234,567.89"},
	} {
		if got := tc.a.CAD(); got != tc.cad {
			t.Errorf("%d.CAD() = %s, want %s", tc.a, got, tc.cad)
		}
		if got := tc.a.Signed(); got != tc.delta {
			t.Errorf("%d.Signed() = %s, want %s", tc.a, got, tc.delta)
		}
	}
	if got := FromFloat(4.0).USD(); got != "US$4.00" {
		t.Errorf("FromFloat(4) = %s", got)
	}
	// An hourly price over OVHcloud's month stays exact.
	if got := Amount(1507).Times(HoursPerMonth); got != 1_100_110 {
		t.Errorf("1507 × 730 = %d", got)
	}
}
