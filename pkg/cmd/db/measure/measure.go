// Package measure is `cosocial db measure`: one sample of a database's
// size, its largest tables, bloat and WAL, and what Mastodon's routine
// clean-ups would give back, added to the database's history. It also
// imports a history from before the tool.
package measure

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/db/chosendb"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/dbplan"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/stack"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are measure's dependencies and flags.
type Options struct {
	chosendb.Deps
	// Getenv reads COSOCIAL_DB_DSN; tests replace it.
	Getenv func(string) string

	Database string
	DSN      string
	Import   string
	DiskGB   int
	Largest  int
	Format   string
	Sandbox  bool
	// Force keeps a sample far out of line with the history.
	Force bool
}

// NewCmdMeasure builds the command; runF replaces the run function in tests.
func NewCmdMeasure(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: chosendb.Deps{Deps: preflight.NewDeps(f), StackDir: f.StackDir}, Getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "measure [DATABASE]",
		Short: "Measure a database and add the sample to its history",
		Long: `Connect to a PostgreSQL database of the description and record its size, its
largest tables (table, indexes, TOAST), the estimated bloat, the WAL on disk
and the disk it has. The sample is added to the database's history in
.cosocial/history/<stack>/<database>.csv, which db forecast and db resize read.
For a Mastodon database it also estimates what the routine clean-ups
(tootctl) would give back.

The connection comes from the stack's outputs (after cosocial up), or from
--dsn / COSOCIAL_DB_DSN. Keep the password out of the command line: put it
in PGPASSWORD or ~/.pgpass, which are read as psql reads them.

--import FILE adds a history from before the tool instead: a CSV of a date
and a size per line ("2025-11-01,64.2 GB"), with an optional third column
for the disk.`,
		Example: `  cosocial db measure
  PGPASSWORD=… cosocial db measure main --dsn postgres://doadmin@db.example:25060/defaultdb
  cosocial db measure main --import sizes-2025.csv`,
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
			if opts.Import != "" && opts.DSN != "" {
				return exit.FlagErrorf("--import and --dsn do not go together: an import connects to nothing")
			}
			if runF != nil {
				return runF(opts)
			}
			return measureRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.DSN, "dsn", "", "connect here instead of the stack's outputs (a postgres:// URL; password from PGPASSWORD)")
	cmd.Flags().StringVar(&opts.Import, "import", "", "add a CSV of date,size from before the tool to the history")
	cmd.Flags().IntVar(&opts.DiskGB, "disk-gb", 0, "the disk the provider gives the database, when the description does not say")
	cmd.Flags().IntVar(&opts.Largest, "largest", 10, "how many of the largest tables to list")
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output format: table, markdown or json")
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "measure the database of the stack on the built-in simulators")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "keep a sample even when it is far out of line with the history (a third or three times the last)")
	return cmd
}

func measureRun(opts *Options) error {
	ctx := opts.Context()
	chosen, err := chosendb.Resolve(opts.Deps, opts.Database, opts.Sandbox, opts.DiskGB, false)
	if err != nil {
		return err
	}
	history, err := dbplan.LoadHistory(chosen.History)
	if err != nil {
		return err
	}
	if opts.Import != "" {
		return importRun(opts, chosen, history)
	}
	if chosen.Database.Engine != "postgresql" {
		return fmt.Errorf("database.%s runs %s: only PostgreSQL can be measured; import its sizes with --import", chosen.Database.Name, chosen.Database.Engine)
	}
	dsn := opts.DSN
	if dsn == "" {
		dsn = opts.Getenv("COSOCIAL_DB_DSN")
	}
	if dsn == "" {
		// On the sandbox the database lives as long as the sandbox does:
		// keep the stack open until the measurement is done.
		var opened *factory.OpenedStack
		if dsn, opened, err = fromOutputs(ctx, opts, chosen); err != nil {
			return err
		}
		defer opened.Close()
	}
	conn, err := dbplan.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	m, err := dbplan.Measure(ctx, conn, dbplan.MeasureOptions{Largest: opts.Largest, DiskBytes: chosen.DiskBytes, Now: opts.Now})
	if err != nil {
		return err
	}
	var savings []dbplan.Saving
	if ok, err := dbplan.IsMastodon(ctx, conn); err != nil {
		return err
	} else if ok {
		if savings, err = dbplan.MastodonSavings(ctx, conn, m); err != nil {
			return err
		}
	} else {
		m.Notes = append(m.Notes, fmt.Sprintf("Database %s has no Mastodon tables (accounts, statuses, media_attachments, follows): no clean-up estimates. Is it the one database.%s holds?", m.Database, chosen.Database.Name))
	}
	// A sample far from the last one is most often another database (a
	// DSN ending in /defaultdb): kept, it would bend the trend for a year.
	if n := len(history); n > 0 && !opts.Force && dbplan.OutOfLine(m.Sample.DatabaseBytes, history[n-1].DatabaseBytes) {
		last := history[n-1]
		return fmt.Errorf("database %s measures %s, but the last sample of database.%s (%s) was %s: this looks like another database. Nothing was kept. "+
			"Check the DSN's database name; if it really changed that much, run again with --force",
			m.Database, objectstore.HumanBytes(m.Sample.DatabaseBytes), chosen.Database.Name, last.Time.Format(time.DateOnly), objectstore.HumanBytes(last.DatabaseBytes))
	}
	// Measured again within the hour (another format, a second look), the
	// last measured sample is replaced, not joined: samples seconds apart
	// would weigh on the trend as much as a month.
	if n := len(history); n > 0 && history[n-1].Source == m.Sample.Source && m.Sample.Time.Sub(history[n-1].Time) < time.Hour {
		history = history[:n-1]
	}
	if err := history.Merge(m.Sample).Save(chosen.History); err != nil {
		return fmt.Errorf("keeping the sample: %w", err)
	}
	switch opts.Format {
	case "json":
		if savings == nil {
			savings = []dbplan.Saving{}
		}
		return views.WriteJSON(opts.IO.Out, views.MeasureJSON{FormatVersion: views.FormatVersion, Measurement: m, Savings: savings, History: chosen.History})
	default:
		views.Measurement(opts.IO.Out, m, savings, opts.Format == "markdown")
	}
	fmt.Fprintf(opts.IO.ErrOut, "Sample %d of database.%s kept in %s.\n", len(history)+1, chosen.Database.Name, chosen.History)
	return nil
}

func importRun(opts *Options, chosen *chosendb.Database, history dbplan.History) error {
	var in io.Reader = opts.IO.In
	name := "standard input"
	if opts.Import != "-" {
		f, err := os.Open(opts.Import)
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, opts.Import
	}
	imported, err := dbplan.Import(name, in, opts.Now())
	if err != nil {
		return err
	}
	merged := history.Merge(imported...)
	if err := merged.Save(chosen.History); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Imported %d samples of database.%s, %s to %s; the history now holds %d, in %s.\n",
		len(imported), chosen.Database.Name, imported[0].Time.Format("2006-01-02"), imported[len(imported)-1].Time.Format("2006-01-02"), len(merged), chosen.History)
	return nil
}

// fromOutputs builds the connection from the stack's outputs: the host,
// port and one of the users the stack created, with its password. The
// password stays in memory.
func fromOutputs(ctx context.Context, opts *Options, chosen *chosendb.Database) (string, *factory.OpenedStack, error) {
	opened, err := opts.OpenStack(ctx, chosen.Description, opts.Sandbox)
	if err != nil {
		return "", nil, err
	}
	dsn, err := dsnOf(ctx, opened, opts.Sandbox, chosen.Database.Name)
	if err != nil {
		opened.Close()
		return "", nil, err
	}
	return dsn, opened, nil
}

func dsnOf(ctx context.Context, opened *factory.OpenedStack, sandbox bool, database string) (string, error) {
	out, err := opened.Stack.Outputs(ctx)
	if err != nil {
		return "", err
	}
	return stack.DatabaseDSN(out, database, sandbox)
}
