package views

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/pricing"
)

// CostJSON is cost's JSON document: amounts in hundred-millionths of a
// dollar (the providers' own unit), so that sums stay exact.
type CostJSON struct {
	FormatVersion string `json:"format_version"`
	*pricing.Estimate
}

// perGB writes a per-gigabyte rate to the hundredth of a cent.
func perGB(a pricing.Amount) string {
	return fmt.Sprintf("CA$%.4f/GB", a.Float())
}

func costCell(r pricing.Row) string {
	switch {
	case r.Monthly != nil:
		return r.Monthly.CAD()
	case r.PerGB != nil:
		return perGB(*r.PerGB)
	}
	return "unknown"
}

// perMember is the sentence that puts the total against the dues.
func perMember(e *pricing.Estimate) string {
	if e.Members <= 0 {
		return "The coop block names no members: no per-member figure."
	}
	at := ""
	if len(e.Unknown) > 0 {
		at = "at least "
	}
	s := fmt.Sprintf("Per member: %s%s a year for %d members", at, e.PerMemberYearly.CAD(), e.Members)
	if e.DuesYearly > 0 {
		s += fmt.Sprintf(", %.0f %% of the %s yearly dues", e.DuesShare(), e.DuesYearly.CAD())
	}
	s += "."
	if len(e.UsageBased) > 0 {
		s += " Storage priced per GB is not in it."
	}
	return s
}

// listLine says where one kind's prices come from and how fresh they are.
func listLine(l pricing.ListUsed) string {
	s := fmt.Sprintf("%s: %s, read %s", l.Kind, l.Source, l.Fetched)
	if l.Kept {
		s += fmt.Sprintf(" (%s old, kept by an earlier run; not read now: %s)", days(l.AgeDays), l.Why)
	}
	if l.Sandbox {
		s += ": served by the sandbox, not read from the provider"
	}
	return s
}

// CostTable prints the estimate for a terminal.
func CostTable(w io.Writer, e *pricing.Estimate, now time.Time, cs *iostreams.ColorScheme) {
	fmt.Fprintf(w, "Monthly cost in Canadian dollars, as of %s:\n\n", now.Format(time.DateOnly))
	// Amounts right-aligned, the rest left: tabwriter aligns every
	// column one way.
	width := len(total(e))
	for _, r := range e.Rows {
		width = max(width, len(costCell(r)))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range e.Rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%*s\n", r.Address, r.Provider, r.What, width, costCell(r))
	}
	fmt.Fprintf(tw, "  %s\t\t\t%s\n", cs.Bold("Total a month"), cs.Bold(fmt.Sprintf("%*s", width, total(e))))
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, perMember(e))
	if len(e.UsageBased) > 0 {
		fmt.Fprintf(w, "Priced per GB stored (give sizes with --bucket-gb): %s.\n", strings.Join(e.UsageBased, ", "))
	}
	if len(e.Unknown) > 0 {
		for _, line := range unknownReasons(e) {
			fmt.Fprintf(w, "%s %s.\n", cs.Yellow("Unknown:"), line)
		}
	}
	if len(e.Lists) > 0 {
		fmt.Fprintln(w, "\nPrices:")
		for _, l := range e.Lists {
			line := listLine(l)
			if l.Kept {
				line = cs.Yellow(line)
			}
			fmt.Fprintf(w, "  %s\n", line)
		}
		if e.Rate != nil {
			fmt.Fprintf(w, "  US dollars converted at %s\n", e.Rate)
		}
	}
}

// unknownReasons groups the unpriced resources by why.
func unknownReasons(e *pricing.Estimate) []string {
	var notes []string
	byNote := map[string][]string{}
	for _, r := range e.Rows {
		if r.Monthly == nil && r.PerGB == nil {
			if byNote[r.Note] == nil {
				notes = append(notes, r.Note)
			}
			byNote[r.Note] = append(byNote[r.Note], r.Address)
		}
	}
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = strings.Join(byNote[n], ", ") + ": " + n
	}
	return out
}

// total is the known total, marked when some costs are not in it.
func total(e *pricing.Estimate) string {
	if len(e.Unknown) > 0 {
		return e.Total.CAD() + " + unknown"
	}
	return e.Total.CAD()
}

// CostMarkdown prints the estimate for a board report.
func CostMarkdown(w io.Writer, e *pricing.Estimate, coop string, now time.Time) {
	title := "Infrastructure cost"
	if coop != "" {
		title += " of " + coop
	}
	fmt.Fprintf(w, "# %s\n\nMonthly, in Canadian dollars, as of %s.\n\n", title, now.Format(time.DateOnly))
	fmt.Fprintln(w, "| Resource | Provider | What | Monthly |")
	fmt.Fprintln(w, "| --- | --- | --- | ---: |")
	for _, r := range e.Rows {
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", r.Address, r.Provider, r.What, costCell(r))
	}
	fmt.Fprintf(w, "| **Total** | | | **%s** |\n\n", total(e))
	fmt.Fprintln(w, perMember(e))
	if len(e.UsageBased) > 0 {
		fmt.Fprintf(w, "\nPriced per GB stored: %s.\n", strings.Join(e.UsageBased, ", "))
	}
	if len(e.Unknown) > 0 {
		fmt.Fprintln(w)
		for _, line := range unknownReasons(e) {
			fmt.Fprintf(w, "**Unknown:** %s.\n", line)
		}
	}
	if len(e.Lists) > 0 {
		fmt.Fprintln(w, "\nSources:")
		fmt.Fprintln(w)
		for _, l := range e.Lists {
			fmt.Fprintf(w, "- %s\n", listLine(l))
		}
		if e.Rate != nil {
			fmt.Fprintf(w, "- US dollars converted at %s\n", e.Rate)
		}
	}
}
