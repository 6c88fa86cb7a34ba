package views

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/migrate"
)

// MigrationPlanJSON is `migrate plan --json`.
type MigrationPlanJSON struct {
	FormatVersion string             `json:"format_version"`
	Plan          *migrate.Plan      `json:"plan"`
	Facts         migrate.Facts      `json:"source"`
	Speed         migrate.Throughput `json:"measured_speed"`
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
	if len(p.Blockers) > 0 {
		fmt.Fprintf(w, "\n%s\n", cs.Red(fmt.Sprintf("%d thing(s) block the migration:", len(p.Blockers))))
		for _, b := range p.Blockers {
			fmt.Fprintf(w, "  %s %s\n", cs.Red("✗"), b)
		}
		return
	}
	fmt.Fprintf(w, "\n%s Nothing blocks the migration.\n", cs.Green("✓"))
}
