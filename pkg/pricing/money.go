// Package pricing says what a description costs each month, in Canadian
// dollars: the price lists the providers publish (fetched live where an
// API serves them, kept dated beside the stack for the next run without
// network), the estimate per resource and in total, and that total per
// member per year against the co-op's dues. A price nobody published is
// unknown, never guessed.
package pricing

import (
	"fmt"
	"math"
	"strings"
)

// Amount is money in hundred-millionths of its currency, the unit
// OVHcloud's catalog writes prices in: sums of hourly prices stay exact.
type Amount int64

// Unit is one currency unit as an Amount.
const Unit Amount = 100_000_000

// HoursPerMonth is the month OVHcloud bills an hourly price over (730 h).
const HoursPerMonth = 730

// FromFloat reads an amount written in currency units (DigitalOcean's
// price_monthly, 4.0 for US$4), rounded to the unit's hundred-millionth.
func FromFloat(units float64) Amount {
	return Amount(math.Round(units * float64(Unit)))
}

// Float is the amount in currency units.
func (a Amount) Float() float64 { return float64(a) / float64(Unit) }

// Cents is the amount rounded to the cent, half away from zero.
func (a Amount) Cents() int64 {
	return int64(math.Round(float64(a) / float64(Unit/100)))
}

// CAD writes the amount as Canadian dollars to the cent: CA$41.20, or
// -CA$3.10.
func (a Amount) CAD() string { return a.format("CA$") }

// USD writes the amount as US dollars to the cent.
func (a Amount) USD() string { return a.format("US$") }

func (a Amount) format(symbol string) string {
	c := a.Cents()
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%s%s.%02d", sign, symbol, thousands(c/100), c%100)
}

// Signed writes a change: +CA$41.20, -CA$3.10, CA$0.00.
func (a Amount) Signed() string {
	if a.Cents() > 0 {
		return "+" + a.CAD()
	}
	return a.CAD()
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Times multiplies by a quantity (nodes, gigabytes).
func (a Amount) Times(n float64) Amount { return Amount(math.Round(float64(a) * n)) }

// Convert changes currency at rate units of the target per unit of a.
func (a Amount) Convert(rate float64) Amount { return a.Times(rate) }
