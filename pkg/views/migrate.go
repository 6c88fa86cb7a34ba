package views

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/migrate"
	"github.com/cosocial/cosocial/pkg/migrate/journal"
	"github.com/cosocial/cosocial/pkg/migrate/pgcopy"
	"github.com/cosocial/cosocial/pkg/pricing"
)

// MigrationPlanJSON is `migrate plan --json`.
type MigrationPlanJSON struct {
	FormatVersion string             `json:"format_version"`
	Plan          *migrate.Plan      `json:"plan"`
	Facts         migrate.Facts      `json:"source"`
	Speed         migrate.Throughput `json:"measured_speed"`
	// Money is in hundred-millionths of a dollar, as cost's JSON.
	Money *pricing.Migration `json:"money,omitempty"`
}

func estimate(s migrate.Step) string {
	if s.Estimate == 0 {
		return "-"
	}
	return migrate.Round(s.Estimate)
}

func volume(s migrate.Step) string {
	switch {
	case s.Objects > 0:
		return fmt.Sprintf("%d objects, %s", s.Objects, size(s.Bytes))
	case s.Bytes > 0:
		return size(s.Bytes)
	}
	return ""
}

// MigrationPlan prints a migration's plan: what moves where, the steps
// with their volumes and estimates, the downtime, and what blocks it.
func MigrationPlan(w io.Writer, p *migrate.Plan, f migrate.Facts, speed migrate.Throughput, markdown bool, cs *iostreams.ColorScheme) {
	budget := "no budget given"
	if p.Budget > 0 {
		budget = "budget " + migrate.Round(p.Budget)
	}
	speedLine := "not measured"
	if speed.ObjectsPerSecond > 0 || speed.DatabaseBytesPerSecond > 0 {
		speedLine = fmt.Sprintf("%.0f objects/s and %s/s from the bucket, %s/s from the database (measured at the source; the target's side is not included)",
			speed.ObjectsPerSecond, size(int64(speed.BytesPerSecond)), size(int64(speed.DatabaseBytesPerSecond)))
	}
	if markdown {
		fmt.Fprintf(w, "## Migration %q\n\n", p.Migration)
		fmt.Fprintf(w, "Expected downtime: **%s** (%s). Speed: %s.\n\n", migrate.Round(p.Downtime), budget, speedLine)
		if len(p.Moves) > 0 {
			fmt.Fprintln(w, "| Resource | From | To |\n| --- | --- | --- |")
			for _, m := range p.Moves {
				fmt.Fprintf(w, "| %s | %s | %s |\n", m.Addr, m.From, m.To)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, "| Step | What | Volume | Estimate | Service down |\n| --- | --- | --- | ---: | --- |")
		for _, s := range p.Steps {
			down := ""
			if s.Downtime {
				down = "yes"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", s.Name, s.What, volume(s), estimate(s), down)
		}
		if len(p.Blockers) > 0 {
			fmt.Fprintln(w, "\n### Blocks the migration")
			for _, b := range p.Blockers {
				fmt.Fprintf(w, "- %s\n", b)
			}
		}
		if len(p.Warnings) > 0 {
			fmt.Fprintln(w, "\n### Warnings")
			for _, x := range p.Warnings {
				fmt.Fprintf(w, "- %s\n", x)
			}
		}
		if len(p.Manual) > 0 {
			fmt.Fprintln(w, "\n### By hand (the tool does not do these)")
			for i, x := range p.Manual {
				fmt.Fprintf(w, "%d. %s\n", i+1, x)
			}
		}
		return
	}
	fmt.Fprintf(w, "Migration %q: %d resources move, %d are new in the target, %d stay behind.\n", p.Migration, len(p.Pairs), len(p.New), len(p.Left))
	for _, m := range p.Moves {
		fmt.Fprintf(w, "  %s leaves %s for %s\n", m.Addr, m.From, m.To)
	}
	fmt.Fprintf(w, "\nSpeed: %s.\n\n", speedLine)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tVOLUME\tESTIMATE\tDOWN\tWHAT")
	for _, s := range p.Steps {
		down := ""
		if s.Downtime {
			down = "down"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, volume(s), estimate(s), down, s.What)
	}
	tw.Flush()
	line := fmt.Sprintf("\nExpected downtime: %s (%s).", migrate.Round(p.Downtime), budget)
	if p.Budget > 0 && p.Downtime > p.Budget {
		line = cs.Red(line)
	}
	fmt.Fprintln(w, line)
	for _, x := range p.Warnings {
		fmt.Fprintf(w, "%s %s\n", cs.Yellow("!"), x)
	}
	if len(p.Manual) > 0 {
		fmt.Fprintln(w, "\nBy hand (the tool does not do these):")
		for i, x := range p.Manual {
			fmt.Fprintf(w, "  %d. %s\n", i+1, x)
		}
	}
	if len(p.Blockers) > 0 {
		fmt.Fprintf(w, "\n%s\n", cs.Red(fmt.Sprintf("%d thing(s) block the migration:", len(p.Blockers))))
		for _, b := range p.Blockers {
			fmt.Fprintf(w, "  %s %s\n", cs.Red("✗"), b)
		}
		return
	}
	fmt.Fprintf(w, "\n%s Nothing blocks the migration.\n", cs.Green("✓"))
}

// VerifyJSON is `migrate verify --json`.
type VerifyJSON struct {
	FormatVersion string          `json:"format_version"`
	Checks        []migrate.Check `json:"checks"`
}

// Verify prints what comparing the two ends found.
func Verify(w io.Writer, checks []migrate.Check, cs *iostreams.ColorScheme) {
	for _, c := range checks {
		mark := cs.Green("✓")
		if !c.OK() {
			mark = cs.Red("✗")
		}
		switch {
		case c.Err != "":
			fmt.Fprintf(w, "%s %s: not compared: %s\n", mark, c.Address, c.Err)
		case c.Objects != nil && c.AfterCutover:
			r := c.Objects
			fmt.Fprintf(w, "%s %s: %d of the source's objects compared; %d missing at the target, %d different, %d unreadable (%d new at the target since the cutover)\n",
				mark, c.Address, r.Compared, r.Missing, r.Different, r.Unreadable, r.Extra)
		case c.Objects != nil:
			r := c.Objects
			fmt.Fprintf(w, "%s %s: %d objects compared; %d missing at the target, %d extra, %d different, %d unreadable\n",
				mark, c.Address, r.Compared, r.Missing, r.Extra, r.Different, r.Unreadable)
			for i, f := range r.Findings {
				if i == 20 {
					fmt.Fprintf(w, "    … and %d more (--json lists up to 1000)\n", len(r.Findings)-20)
					break
				}
				fmt.Fprintf(w, "    %s %s %s\n", f.Kind, f.Key, f.Detail)
			}
		case c.Tables != nil && c.AfterCutover:
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			short := 0
			for _, t := range c.Tables.Tables {
				if t.Checksum == pgcopy.MissingAtTarget || t.TargetRows < t.SourceRows {
					short++
					fmt.Fprintf(tw, "    %s\t%d rows at the source\t%d at the target\n", t.Table, t.SourceRows, t.TargetRows)
				}
			}
			fmt.Fprintf(w, "%s %s: %d tables compared by rows (the app writes at the target since the cutover), %d with fewer rows than the source\n", mark, c.Address, len(c.Tables.Tables), short)
			tw.Flush()
		case c.Tables != nil:
			tables, seqs := 0, 0
			for _, t := range c.Tables.Tables {
				if !t.Equal() {
					tables++
				}
			}
			for _, sq := range c.Tables.Sequences {
				if !sq.OK {
					seqs++
				}
			}
			fmt.Fprintf(w, "%s %s: %d tables compared, %d different", mark, c.Address, len(c.Tables.Tables), tables)
			if seqs > 0 {
				// Replication carries rows, not sequences: until the cutover
				// copies them, a replicating target's are behind.
				fmt.Fprintf(w, "; %d of %d sequences behind the source (the cutover sets them)", seqs, len(c.Tables.Sequences))
			}
			fmt.Fprintln(w)
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			for _, t := range c.Tables.Tables {
				switch {
				case t.Equal():
				case t.SourceLastKey != "":
					fmt.Fprintf(tw, "    %s\tlast key %s at the source\t%s at the target\n", t.Table, t.SourceLastKey, t.TargetLastKey)
				default:
					fmt.Fprintf(tw, "    %s\t%d rows at the source\t%d at the target\tchecksum %s\n", t.Table, t.SourceRows, t.TargetRows, t.Checksum)
				}
			}
			for _, sq := range c.Tables.Sequences {
				if sq.Missing {
					fmt.Fprintf(tw, "    %s\tmissing at the target\n", sq.Sequence)
				} else if !sq.OK {
					fmt.Fprintf(tw, "    %s\tnext value %d at the source\t%d at the target\n", sq.Sequence, sq.Source, sq.Target)
				}
			}
			tw.Flush()
		}
	}
}

// MigrationStatus prints where each step of a migration stands.
func MigrationStatus(w io.Writer, steps []journal.StepState, cs *iostreams.ColorScheme) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range steps {
		mark := "·"
		switch s.State {
		case journal.Done, journal.Undone:
			mark = cs.Green("✓")
		case journal.Failed, journal.UndoFailed, journal.Interrupted:
			mark = cs.Red("✗")
		case journal.Running, journal.Undoing:
			mark = cs.Yellow("…")
		}
		when := ""
		if !s.Finished.IsZero() {
			when = s.Finished.Local().Format("2006-01-02 15:04:05")
		}
		detail := s.Detail
		if s.Error != "" {
			detail = s.Error
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\n", mark, s.Name, s.State, when, detail)
	}
	tw.Flush()
}

// MigrationMoney says what the source costs today, what the target will,
// the change per month and per member, and the one-off cost of moving
// the data out.
func MigrationMoney(w io.Writer, m *pricing.Migration, markdown bool) {
	side := func(e *pricing.Estimate) string {
		s := e.Total.CAD() + " a month"
		if len(e.Unknown) > 0 {
			s += " and unknown for " + strings.Join(e.Unknown, ", ")
		}
		return s
	}
	lines := []string{
		"Today at the source: " + side(m.Source) + ".",
		"At the target: " + side(m.Target) + ".",
	}
	change := fmt.Sprintf("Change: %s/month", m.MonthlyChange.Signed())
	if m.Target.Members > 0 {
		change += fmt.Sprintf(", %s per member per year", m.PerMemberYearly.Signed())
	}
	if !m.Comparable {
		change += " (between the known parts only)"
	}
	lines = append(lines, change+".")
	if m.Egress != nil {
		lines = append(lines, fmt.Sprintf("Moving the data out, once: %s (%s).", m.Egress.CAD(), m.EgressNote))
	} else if m.EgressNote != "" {
		lines = append(lines, fmt.Sprintf("Moving the data out, once: unknown (%s).", m.EgressNote))
	}
	// Both sides are priced from the same lists.
	var from []string
	for _, l := range m.Source.Lists {
		from = append(from, listLine(l))
	}
	if m.Source.Rate != nil {
		from = append(from, "US dollars converted at "+m.Source.Rate.String())
	}
	if markdown {
		fmt.Fprintln(w, "\n### Money (CAD)")
		for _, l := range lines {
			fmt.Fprintf(w, "- %s\n", l)
		}
		for _, f := range from {
			fmt.Fprintf(w, "- Prices: %s\n", f)
		}
		return
	}
	fmt.Fprintln(w, "\nMoney, in Canadian dollars:")
	for _, l := range lines {
		fmt.Fprintf(w, "  %s\n", l)
	}
	for _, f := range from {
		fmt.Fprintf(w, "  Prices: %s\n", f)
	}
}
