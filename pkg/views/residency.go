package views

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/policy"
)

// ResidencyJSON is the residency report's JSON document.
type ResidencyJSON struct {
	FormatVersion string `json:"format_version"`
	*policy.Report
}

// WaiverLines lists the waivers in force and the expired ones, one line
// each, under a command's summary.
func WaiverLines(w io.Writer, rep *policy.Report, cs *iostreams.ColorScheme) {
	if rep == nil || len(rep.Waivers) == 0 {
		return
	}
	fmt.Fprintln(w, "\nWaivers:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, wv := range rep.Waivers {
		state := fmt.Sprintf("until %s (%s left)", wv.Expires, days(wv.DaysLeft))
		if wv.Expired {
			state = cs.Red(fmt.Sprintf("expired %s", wv.Expires))
		}
		applied := strings.Join(wv.AppliedTo, ", ")
		if applied == "" {
			applied = "applied to nothing"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", wv.Name, wv.Rule, applied, state)
	}
	tw.Flush()
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func verdict(v policy.Verdict, cs *iostreams.ColorScheme) string {
	switch v {
	case policy.Pass:
		return cs.Green("pass")
	case policy.Fail:
		return cs.Red("FAIL")
	case policy.Waived:
		return cs.Yellow("waived")
	case policy.Unknown:
		return cs.Red("unknown")
	}
	return string(v)
}

func owner(r policy.Row) string {
	if r.Owner == "" {
		return "-"
	}
	return fmt.Sprintf("%s (%s)", r.Owner, r.OwnerCountry)
}

func location(r policy.Row) string {
	switch {
	case r.City != "":
		return r.City + ", " + catalog.CountryName(r.Country)
	case r.Country != "":
		return catalog.CountryName(r.Country)
	}
	return "-"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// policyLine says what the policy asks, in words.
func policyLine(rep *policy.Report) string {
	var asks []string
	if rep.DataCountry != "" {
		asks = append(asks, fmt.Sprintf("data stays in %s", catalog.CountryName(rep.DataCountry)))
	}
	if rep.Ownership == "canadian" {
		asks = append(asks, "providers are Canadian-owned")
	}
	if len(asks) == 0 {
		return "The description sets no residency rules."
	}
	return fmt.Sprintf("The policy asks that %s (on_violation = %q).", strings.Join(asks, " and that "), rep.OnViolation)
}

// ResultLine sums the report up in a few words.
func ResultLine(rep *policy.Report) string {
	failed, inForce := 0, 0
	for _, r := range rep.Rows {
		if r.Failed() {
			failed++
		}
	}
	for _, w := range rep.Waivers {
		if !w.Expired && len(w.AppliedTo) > 0 {
			inForce++
		}
	}
	if failed > 0 {
		return fmt.Sprintf("not compliant: %d of %d rows fail", failed, len(rep.Rows))
	}
	if inForce > 0 {
		return fmt.Sprintf("compliant, with %d waiver%s in force", inForce, map[bool]string{true: "", false: "s"}[inForce == 1])
	}
	return "compliant"
}

// ResidencyTable writes the report as an aligned table for a terminal.
func ResidencyTable(w io.Writer, rep *policy.Report, cs *iostreams.ColorScheme) {
	fmt.Fprintf(w, "Residency as of %s. %s\n\n", rep.AsOf, policyLine(rep))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tPROVIDER\tOWNER\tREGION\tLOCATION\tDATA COUNTRY\tOWNERSHIP\tWAIVER")
	for _, r := range rep.Rows {
		waiver := "-"
		if r.Waiver != "" {
			waiver = fmt.Sprintf("%s (until %s)", r.Waiver, r.WaiverExpires)
		} else if r.Note != "" && strings.HasPrefix(r.Note, "waiver") {
			waiver = r.Note
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Address(), dash(r.Provider), owner(r), dash(r.Region), location(r),
			verdict(r.DataCountry, cs), verdict(r.OwnershipRule, cs), waiver)
	}
	tw.Flush()
	result := ResultLine(rep)
	if rep.Compliant {
		result = cs.Green(result)
	} else {
		result = cs.Red(result)
	}
	fmt.Fprintf(w, "\nResult: %s.\n", result)
	WaiverLines(w, rep, cs)
	fmt.Fprintf(w, "\nProvider facts from the cosocial catalog, checked %s; `--format json` lists each fact's source.\n", rep.CatalogDate)
}

// ResidencyMarkdown writes the report for a members' forum post or a board
// report: plain words first, then the table, then the waivers with reasons.
func ResidencyMarkdown(w io.Writer, rep *policy.Report, coopName string) {
	title := "Where our services keep their data"
	if coopName != "" {
		title = "Where " + coopName + " keeps its data"
	}
	fmt.Fprintf(w, "## %s\n\n", title)
	fmt.Fprintf(w, "As of %s. %s\n\n", rep.AsOf, policyLine(rep))
	fmt.Fprintf(w, "**Result: %s.**\n\n", ResultLine(rep))
	dataCol := "Data in country"
	if rep.DataCountry != "" {
		dataCol = "Data in " + catalog.CountryName(rep.DataCountry)
	}
	fmt.Fprintf(w, "| Resource | Provider | Owned by | Region | Location | %s | Canadian-owned | Waiver |\n", dataCol)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	mark := map[policy.Verdict]string{
		policy.Pass: "✅ pass", policy.Fail: "❌ fail", policy.Waived: "⚠️ waived",
		policy.NotApplicable: "n/a", policy.Unknown: "❓ unknown",
	}
	unsure := false
	for _, r := range rep.Rows {
		waiver := ""
		if r.Waiver != "" {
			waiver = fmt.Sprintf("%s (until %s)", r.Waiver, r.WaiverExpires)
		} else if strings.HasPrefix(r.Note, "waiver") {
			waiver = r.Note
		}
		provider := r.Operator
		if provider == "" {
			provider = r.Provider
		}
		if r.Confidence != "" && r.Confidence != string(catalog.Confirmed) {
			provider += " †"
			unsure = true
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Address(), mdEscape(provider), mdEscape(owner(r)), dash(r.Region), location(r),
			mark[r.DataCountry], mark[r.OwnershipRule], mdEscape(waiver))
	}
	if len(rep.Waivers) > 0 {
		fmt.Fprintln(w, "\n### Waivers")
		fmt.Fprintln(w)
		for _, wv := range rep.Waivers {
			state := "until " + wv.Expires
			if wv.Expired {
				state = "**expired " + wv.Expires + "**"
			}
			fmt.Fprintf(w, "- **%s** (%s rule) for %s, %s: %s\n", wv.Name, wv.Rule, strings.Join(wv.Resources, ", "), state, mdEscape(wv.Reason))
		}
	}
	if unsure {
		fmt.Fprintln(w, "\n† Some of this provider's facts (region, city or owner) come from third-party or unconfirmed sources; the JSON report lists each source.")
	}
	fmt.Fprintf(w, "\n<sub>Provider ownership and region facts from the cosocial catalog, checked %s. Generated by `cosocial residency --format markdown`.</sub>\n", rep.CatalogDate)
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
