// Package residency is `cosocial residency`: the report of where each
// resource keeps its data and who owns its provider, for members and the
// board.
package residency

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/views"
)

// Formats the report can be printed in.
var Formats = []string{"table", "markdown", "json"}

// Options are residency's dependencies and flags.
type Options struct {
	IO      *iostreams.IOStreams
	Load    func() *config.Result
	Catalog func() *catalog.Catalog
	Now     func() time.Time

	Format string
	AsOf   string
}

// NewCmdResidency builds the command; runF replaces the run function in tests.
func NewCmdResidency(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Load: f.Description, Catalog: f.Catalog, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "residency",
		Short: "Report where each resource keeps its data and who owns its provider",
		Long: `Report, for every server, database, bucket, DNS zone and the state backend,
which provider holds it, who ultimately owns that provider and in which
country, where the region is, and each residency rule's verdict, with the
waivers that apply and when they expire.

The markdown form is written to be pasted into a members' forum post or a
board report.

Exit status: 0 compliant, 1 a rule fails (whatever on_violation says: the
report states facts; on_violation decides what plan and up do about them).`,
		Example: `  cosocial residency
  cosocial residency --format markdown > residency.md
  cosocial residency --as-of 2027-02-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(Formats, opts.Format) {
				return exit.FlagErrorf("--format must be table, markdown or json, not %q", opts.Format)
			}
			if runF != nil {
				return runF(opts)
			}
			return residencyRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output format: table, markdown or json")
	cmd.Flags().StringVar(&opts.AsOf, "as-of", "", "judge waivers as of this date (YYYY-MM-DD) instead of today")
	return cmd
}

func residencyRun(opts *Options) error {
	asOf, err := policy.ParseAsOf(opts.AsOf, opts.Now)
	if err != nil {
		return &exit.FlagError{Err: err}
	}
	res := opts.Load()
	if res.Diagnostics.HasErrors() {
		views.Diagnostics(opts.IO.ErrOut, res.Diagnostics, res.Files, opts.IO.ErrColorScheme())
		return exit.ErrSilent
	}
	judged := policy.Check(res.Description, opts.Catalog(), asOf)
	rep := judged.Residency

	switch opts.Format {
	case "json":
		if err := views.WriteJSON(opts.IO.Out, views.ResidencyJSON{FormatVersion: views.FormatVersion, Report: rep}); err != nil {
			return err
		}
	case "markdown":
		name := ""
		if res.Description.Coop != nil {
			name = res.Description.Coop.Name
		}
		views.ResidencyMarkdown(opts.IO.Out, rep, name)
	default:
		views.ResidencyTable(opts.IO.Out, rep, opts.IO.ColorScheme())
	}
	if n := judged.DomainErrors(); n > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "The description has %d other problem(s); `cosocial validate` shows them.\n", n)
	}
	if !rep.Compliant {
		return exit.ErrSilent
	}
	return nil
}
