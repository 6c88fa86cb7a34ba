// Package forecast is `cosocial db forecast`: when a database reaches
// 80, 90 and 100 % of its disk, fitted over its measured history.
package forecast

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/db/chosendb"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/dbplan"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are forecast's dependencies and flags.
type Options struct {
	chosendb.Deps

	Database string
	DiskGB   int
	Format   string
	Sandbox  bool
}

// NewCmdForecast builds the command; runF replaces the run function in tests.
func NewCmdForecast(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: chosendb.Deps{Deps: preflight.NewDeps(f), StackDir: f.StackDir}}
	cmd := &cobra.Command{
		Use:   "forecast [DATABASE]",
		Short: "Say when a database fills its disk",
		Long: `Fit the database's growth over its history (db measure, db measure --import)
with a linear and an exponential model, say which fits and how well, and
give the dates it reaches 80, 90 and 100 % of its disk: a range rather than
one date when the samples are noisy. At least 3 samples over 2 weeks are
needed; fewer give no forecast, not a guess.

Exit status: 0, or 1 when there is no forecast or the disk is already full.`,
		Example: `  cosocial db forecast
  cosocial db forecast main --format markdown >> board-report.md`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if len(args) == 1 {
				opts.Database = args[0]
			}
			if opts.Format != "table" && opts.Format != "markdown" && opts.Format != "json" {
				return exit.FlagErrorf("--format must be table, markdown or json, not %q", opts.Format)
			}
			if cmd.Flags().Changed("disk-gb") && opts.DiskGB <= 0 {
				return exit.FlagErrorf("--disk-gb must be the disk's size in GB, above 0, not %d", opts.DiskGB)
			}
			if runF != nil {
				return runF(opts)
			}
			return forecastRun(opts)
		},
	}
	cmd.Flags().IntVar(&opts.DiskGB, "disk-gb", 0, "judge against this disk instead of the description's disk_gb")
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output format: table, markdown or json")
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "use the history of the sandbox stack")
	return cmd
}

// Load resolves the database and fits its history: what forecast and
// resize share.
func Load(d chosendb.Deps, database string, sandbox bool, diskGB int, strict bool) (*chosendb.Database, dbplan.History, *dbplan.Forecast, error) {
	chosen, err := chosendb.Resolve(d, database, sandbox, diskGB, strict)
	if err != nil {
		return nil, nil, nil, err
	}
	h, err := dbplan.LoadHistory(chosen.History)
	if err != nil {
		return nil, nil, nil, err
	}
	fc, err := dbplan.Predict(h, chosen.DiskBytes)
	var few *dbplan.TooFewError
	if errors.As(err, &few) {
		return nil, nil, nil, fmt.Errorf("database.%s: %w.\nMeasure it regularly (`cosocial db measure`, weekly from cron is plenty), or add older sizes with `cosocial db measure --import FILE`", chosen.Database.Name, err)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("database.%s: %w", chosen.Database.Name, err)
	}
	return chosen, h, fc, nil
}

func forecastRun(opts *Options) error {
	chosen, h, fc, err := Load(opts.Deps, opts.Database, opts.Sandbox, opts.DiskGB, false)
	if err != nil {
		return err
	}
	switch opts.Format {
	case "json":
		if err := views.WriteJSON(opts.IO.Out, views.ForecastJSON{FormatVersion: views.FormatVersion, Database: chosen.Database.Name, Forecast: fc}); err != nil {
			return err
		}
	default:
		views.Forecast(opts.IO.Out, chosen.Database.Name, fc, h, opts.Now(), opts.Format == "markdown", opts.IO.ColorScheme())
	}
	if fc.Full() {
		return exit.ErrSilent
	}
	return nil
}
