package views

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cosocial/cosocial/pkg/dbplan"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/objectstore"
)

// MeasureJSON is `db measure --format json`.
type MeasureJSON struct {
	FormatVersion string              `json:"format_version"`
	Measurement   *dbplan.Measurement `json:"measurement"`
	Savings       []dbplan.Saving     `json:"savings"`
	History       string              `json:"history_file"`
}

// ForecastJSON is `db forecast --format json`.
type ForecastJSON struct {
	FormatVersion string           `json:"format_version"`
	Database      string           `json:"database"`
	Forecast      *dbplan.Forecast `json:"forecast"`
}

// ResizeJSON is `db resize --format json`.
type ResizeJSON struct {
	FormatVersion  string                 `json:"format_version"`
	Forecast       *dbplan.Forecast       `json:"forecast"`
	Recommendation *dbplan.Recommendation `json:"recommendation"`
	// Written names the file --write changed, empty when none was.
	Written string `json:"written"`
}

var size = objectstore.HumanBytes

func pct(part, whole int64) string {
	if whole <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", float64(part)*100/float64(whole))
}

// Measurement prints a measurement and the room clean-ups would give back.
func Measurement(w io.Writer, m *dbplan.Measurement, savings []dbplan.Saving, markdown bool) {
	s := m.Sample
	wal := "not measured"
	if s.WALBytes >= 0 {
		wal = size(s.WALBytes)
	}
	disk := "unknown"
	if s.DiskBytes > 0 {
		disk = fmt.Sprintf("%s (%s used)", size(s.DiskBytes), pct(s.DatabaseBytes+max(s.WALBytes, 0), s.DiskBytes))
	}
	if markdown {
		fmt.Fprintf(w, "## Database %s, %s\n\n", m.Database, s.Time.Format(time.DateOnly))
		fmt.Fprintf(w, "- Size: **%s**\n- WAL: %s\n- Disk: %s\n- Estimated bloat: %s in tables, %s in their indexes\n- PostgreSQL %s\n\n", size(s.DatabaseBytes), wal, disk, size(m.BloatBytes), size(m.IndexBloatBytes), m.Server)
		fmt.Fprintln(w, "| Table | Total | Table | Indexes | TOAST | Rows | Bloat (est.) | Index bloat (est.) |")
		fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, t := range m.Tables {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %s | %s |\n", t.Name, size(t.TotalBytes()), size(t.TableBytes), size(t.IndexBytes), size(t.ToastBytes), t.Rows, size(t.BloatBytes), size(t.IndexBloatBytes))
		}
		if len(savings) > 0 {
			fmt.Fprintln(w, "\n### Room routine clean-ups would give back\n\n| Clean-up | Where | Rows | Room | Command |\n| --- | --- | ---: | ---: | --- |")
			for _, sv := range savings {
				fmt.Fprintf(w, "| %s | %s | %d | %s | `%s` |\n", sv.What, sv.Where, sv.Rows, size(sv.Bytes), sv.Command)
			}
			// The board reads the same caveats as the volunteers.
			fmt.Fprintln(w)
			for _, sv := range savings {
				if sv.Note != "" {
					fmt.Fprintf(w, "- **%s**: %s\n", sv.What, sv.Note)
				}
			}
		}
		for _, n := range m.Notes {
			fmt.Fprintf(w, "\n> %s\n", n)
		}
		return
	}
	fmt.Fprintf(w, "Database %s (PostgreSQL %s), %s\n", m.Database, m.Server, s.Time.Format(time.RFC3339))
	fmt.Fprintf(w, "  size   %s\n  WAL    %s\n  disk   %s\n  bloat  %s in tables, %s in their indexes (estimated)\n\n", size(s.DatabaseBytes), wal, disk, size(m.BloatBytes), size(m.IndexBloatBytes))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TABLE\tTOTAL\tTABLE\tINDEXES\tTOAST\tROWS\tBLOAT (EST.)\tINDEX BLOAT (EST.)\t")
	for _, t := range m.Tables {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", t.Name, size(t.TotalBytes()), size(t.TableBytes), size(t.IndexBytes), size(t.ToastBytes), t.Rows, size(t.BloatBytes), size(t.IndexBloatBytes))
	}
	tw.Flush()
	if len(savings) > 0 {
		fmt.Fprintln(w, "\nRoom Mastodon's routine clean-ups would give back:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, sv := range savings {
			fmt.Fprintf(tw, "  %s\tin the %s\t%s\t%s\n", sv.What, sv.Where, size(sv.Bytes), sv.Command)
		}
		tw.Flush()
		for _, sv := range savings {
			if sv.Note != "" {
				fmt.Fprintf(w, "  * %s: %s\n", sv.What, sv.Note)
			}
		}
	}
	for _, n := range m.Notes {
		fmt.Fprintf(w, "\nNote: %s\n", n)
	}
}

// crossingText says when a threshold is reached, as an interval when the
// data are noisy.
func crossingText(c dbplan.Crossing, trend string, now time.Time) string {
	d := func(t *time.Time) string { return t.Format(time.DateOnly) }
	switch {
	case c.Reached:
		return "reached"
	case c.Date != nil && c.Date.Before(now):
		return fmt.Sprintf("probably reached already (about %s): measure again", d(c.Date))
	case trend != dbplan.Growing:
		return "not at this rate"
	case c.Date == nil:
		return "not within 10 years"
	case !c.Uncertain():
		return d(c.Date)
	case c.Latest == nil:
		return fmt.Sprintf("about %s (from %s; the data cannot rule out much later)", d(c.Date), d(c.Earliest))
	default:
		return fmt.Sprintf("about %s (between %s and %s)", d(c.Date), d(c.Earliest), d(c.Latest))
	}
}

func modelText(fc *dbplan.Forecast) string {
	s := fmt.Sprintf("%s growth (R² %.3f", fc.Fit.Model, fc.Fit.R2)
	if fc.Other != nil {
		s += fmt.Sprintf("; %s R² %.3f", fc.Other.Model, fc.Other.R2)
	}
	s += ")"
	if fc.Tie {
		s += fmt.Sprintf(": %s growth fits about as well, so the intervals cover both", fc.Other.Model)
	}
	return s
}

func trendText(fc *dbplan.Forecast) string {
	switch fc.Trend {
	case dbplan.Growing:
		return fmt.Sprintf("growing about %s a month", size(fc.GrowthPerMonth))
	case dbplan.Shrinking:
		return fmt.Sprintf("shrinking about %s a month: the disk will not fill at this rate", size(-fc.GrowthPerMonth))
	default:
		return "flat: the growth cannot be told from noise, so no date is given"
	}
}

// Forecast prints when a database fills its disk, with a chart of the
// history and the fitted growth.
func Forecast(w io.Writer, name string, fc *dbplan.Forecast, h dbplan.History, now time.Time, markdown bool, cs *iostreams.ColorScheme) {
	used := fc.Latest.DatabaseBytes + max(fc.Latest.WALBytes, 0)
	stale := ""
	if age := now.Sub(fc.Latest.Time); age > 30*24*time.Hour {
		stale = fmt.Sprintf("The latest sample is %d days old (%s): the database has grown since. Run `cosocial db measure`.", int(age.Hours()/24), fc.Latest.Time.Format(time.DateOnly))
	}
	if markdown {
		fmt.Fprintf(w, "## When database %s fills its disk\n\n", name)
		fmt.Fprintf(w, "%d samples from %s to %s. Now **%s of %s (%s)**, %s.\n\nModel: %s.\n\n",
			fc.Samples, fc.From.Format(time.DateOnly), fc.Latest.Time.Format(time.DateOnly), size(used), size(fc.DiskBytes), pct(used, fc.DiskBytes), trendText(fc), modelText(fc))
		fmt.Fprintln(w, "| Disk filled | When |\n| ---: | --- |")
		for _, c := range fc.Crossings {
			fmt.Fprintf(w, "| %d %% | %s |\n", c.Percent, crossingText(c, fc.Trend, now))
		}
		if d := driversText(fc); d != "" {
			fmt.Fprintf(w, "\n%s\n", d)
		}
		if stale != "" {
			fmt.Fprintf(w, "\n> %s\n", stale)
		}
		for _, g := range fc.Gaps {
			fmt.Fprintf(w, "\n> No samples between %s and %s: the fit bridges the gap.\n", g.From.Format(time.DateOnly), g.To.Format(time.DateOnly))
		}
		fmt.Fprintf(w, "\n```\n")
		Chart(w, fc, h, 64, 10)
		fmt.Fprintf(w, "```\n")
		return
	}
	fmt.Fprintf(w, "Database %s: %s of %s used (%s), %s.\n", name, size(used), size(fc.DiskBytes), pct(used, fc.DiskBytes), trendText(fc))
	fmt.Fprintf(w, "Fitted on %d samples from %s to %s: %s.\n\n", fc.Samples, fc.From.Format(time.DateOnly), fc.Latest.Time.Format(time.DateOnly), modelText(fc))
	if fc.Full() {
		fmt.Fprintln(w, cs.Red(fmt.Sprintf("The database already fills %s of its disk: PostgreSQL stops taking writes when the disk is full. Grow the disk now (cosocial db resize --write, then cosocial up).", pct(used, fc.DiskBytes))))
		fmt.Fprintln(w)
	}
	for _, c := range fc.Crossings {
		text := crossingText(c, fc.Trend, now)
		if c.Reached {
			text = cs.Red(text)
		}
		fmt.Fprintf(w, "  %3d %%  %s\n", c.Percent, text)
	}
	if d := driversText(fc); d != "" {
		fmt.Fprintf(w, "\n%s\n", d)
	}
	for _, g := range fc.Gaps {
		fmt.Fprintf(w, "\nNo samples between %s and %s: the fit bridges the gap.\n", g.From.Format(time.DateOnly), g.To.Format(time.DateOnly))
	}
	if stale != "" {
		fmt.Fprintf(w, "\n%s\n", cs.Yellow(stale))
	}
	fmt.Fprintln(w)
	Chart(w, fc, h, 64, 10)
}

// driversText names the three tables the growth went to, "" when the
// history does not say.
func driversText(fc *dbplan.Forecast) string {
	if len(fc.Drivers) == 0 {
		return ""
	}
	var parts []string
	for i, d := range fc.Drivers {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s +%s (%.0f %%)", d.Table, size(d.Bytes), d.Share*100))
	}
	return fmt.Sprintf("Growing most since %s: %s of the database's growth.", fc.Drivers[0].Since.Format(time.DateOnly), strings.Join(parts, ", "))
}

// Chart draws the history (*), the fitted growth ahead (.) and the disk
// (-) in a small grid of text.
func Chart(w io.Writer, fc *dbplan.Forecast, h dbplan.History, width, height int) {
	x0 := fc.From
	x1 := fc.Latest.Time.Add(365 * 24 * time.Hour)
	if c := fc.Crossings[len(fc.Crossings)-1]; c.Date != nil && c.Date.After(x1) {
		x1 = *c.Date
	}
	if limit := fc.Latest.Time.Add(3 * 365 * 24 * time.Hour); x1.After(limit) {
		x1 = limit
	}
	lo, hi := math.Inf(1), float64(fc.DiskBytes)
	for _, s := range h {
		lo = math.Min(lo, float64(s.DatabaseBytes))
		hi = math.Max(hi, float64(s.DatabaseBytes))
	}
	lo *= 0.9
	grid := make([][]rune, height)
	for i := range grid {
		grid[i] = []rune(strings.Repeat(" ", width))
	}
	col := func(t time.Time) int {
		return int(math.Round(float64(t.Sub(x0)) / float64(x1.Sub(x0)) * float64(width-1)))
	}
	row := func(v float64) int {
		r := int(math.Round((hi - v) / (hi - lo) * float64(height-1)))
		return min(max(r, 0), height-1)
	}
	diskRow := row(float64(fc.DiskBytes))
	for c := range grid[diskRow] {
		grid[diskRow][c] = '-'
	}
	if fc.Trend == dbplan.Growing {
		for c := col(fc.Latest.Time) + 1; c < width; c++ {
			t := x0.Add(time.Duration(float64(x1.Sub(x0)) * float64(c) / float64(width-1)))
			if v := fc.Fit.At(t); v <= hi {
				grid[row(v)][c] = '.'
			}
		}
	}
	for _, s := range h {
		if c := col(s.Time); c >= 0 && c < width {
			grid[row(float64(s.DatabaseBytes))][c] = '*'
		}
	}
	label := func(r int) string {
		switch r {
		case 0:
			return size(int64(hi))
		case diskRow:
			return "disk"
		case height - 1:
			return size(int64(lo))
		}
		return ""
	}
	for r, line := range grid {
		fmt.Fprintf(w, "%9s |%s\n", label(r), string(line))
	}
	fmt.Fprintf(w, "%9s +%s\n", "", strings.Repeat("-", width))
	left, right := x0.Format(time.DateOnly), x1.Format(time.DateOnly)
	fmt.Fprintf(w, "%9s  %s%*s\n", "", left, width-len(left), right)
}

// Resize prints a recommendation.
func Resize(w io.Writer, rec *dbplan.Recommendation, markdown bool) {
	cur := fmt.Sprintf("%s, %d GB", rec.Current.Flavor, rec.Current.DiskGB)
	if markdown {
		fmt.Fprintf(w, "## Resizing database %s\n\n", rec.Database)
		fmt.Fprintf(w, "Expected size by %s (%s ahead, at the cautious end of the forecast): **%s**.\n\n", rec.Until.Format(time.DateOnly), rec.Horizon, size(rec.NeededBytes))
		fmt.Fprintln(w, "| | Size | Monthly cost |\n| --- | --- | --- |")
		fmt.Fprintf(w, "| Now | %s | %s |\n", cur, rec.Current.Price)
		if rec.Next != nil {
			fmt.Fprintf(w, "| Recommended | %s, %d GB | %s |\n", rec.Next.Flavor, rec.Next.DiskGB, rec.Next.Price)
		}
		fmt.Fprintf(w, "\n%s\n", rec.Reason)
		return
	}
	fmt.Fprintf(w, "Database %s: expected to hold %s by %s (%s ahead, at the cautious end of the forecast).\n\n", rec.Database, size(rec.NeededBytes), rec.Until.Format(time.DateOnly), rec.Horizon)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  now\t%s\t%s\n", cur, rec.Current.Price)
	if rec.Next != nil {
		fmt.Fprintf(tw, "  recommended\t%s, %d GB\t%s\n", rec.Next.Flavor, rec.Next.DiskGB, rec.Next.Price)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s\n", rec.Reason)
}
