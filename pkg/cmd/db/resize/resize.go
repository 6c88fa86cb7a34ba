// Package resize is `cosocial db resize`: the next disk or flavor the
// provider offers that covers a horizon, its cost, and with --write the
// one-line change to the description that plan and up then carry out.
package resize

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/cost"
	"github.com/cosocial/cosocial/pkg/cmd/db/chosendb"
	"github.com/cosocial/cosocial/pkg/cmd/db/forecast"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/dbplan"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are resize's dependencies and flags.
type Options struct {
	chosendb.Deps

	Database string
	Horizon  string
	Write    bool
	Format   string
	Sandbox  bool
}

// NewCmdResize builds the command; runF replaces the run function in tests.
func NewCmdResize(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: chosendb.Deps{Deps: preflight.NewDeps(f), StackDir: f.StackDir}}
	cmd := &cobra.Command{
		Use:   "resize [DATABASE]",
		Short: "Recommend the disk or flavor that lasts the horizon, and write it",
		Long: `From the forecast, find the smallest size the provider offers in the
database's region (disk steps and flavors from the catalog) that keeps the
database under 80 % of its disk until the end of the horizon, at the
cautious end of the forecast's range, with the monthly cost before and after
where the catalog has a published CAD price.

--write changes disk_gb (and flavor, when the disk needs a larger one) in
the description, leaving every other byte as it was; cosocial plan then
shows the in-place resize and cosocial up carries it out.`,
		Example: `  cosocial db resize
  cosocial db resize main --horizon 18m --write && cosocial plan`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if len(args) == 1 {
				opts.Database = args[0]
			}
			if opts.Format != "table" && opts.Format != "markdown" && opts.Format != "json" {
				return exit.FlagErrorf("--format must be table, markdown or json, not %q", opts.Format)
			}
			if _, _, err := chosendb.Horizon(opts.Horizon); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return resizeRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Horizon, "horizon", "12m", "how long the new size must last: 12m, 2y, 26w, 90d")
	cmd.Flags().BoolVar(&opts.Write, "write", false, "change disk_gb/flavor in the description")
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output format: table, markdown or json")
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "use the history of the sandbox stack")
	return cmd
}

func resizeRun(opts *Options) error {
	days, text, err := chosendb.Horizon(opts.Horizon)
	if err != nil {
		return err
	}
	chosen, _, fc, err := forecast.Load(opts.Deps, opts.Database, opts.Sandbox, 0, true)
	if err != nil {
		return err
	}
	db := chosen.Database
	if chosen.Offer == nil {
		return fmt.Errorf("the catalog has no %s offer where database.%s runs, so there is nothing to recommend", db.Engine, db.Name)
	}
	rec, err := dbplan.Recommend(db.Name, fc, chosen.Offer, db.Flavor, db.DiskGB, opts.Now(), time.Duration(days)*24*time.Hour, text)
	if err != nil {
		return fmt.Errorf("database.%s: %w", db.Name, err)
	}
	// The same prices as cost and plan: read now, else kept by them.
	in := cost.Prices(opts.Context(), chosen.Description, opts.Catalog(), cost.ProcessEnv(), opts.StackDir(opts.Sandbox), opts.Sandbox, opts.Sandbox, opts.Now())
	cost.PriceSizes(in, chosen.Description, db, chosen.Offer, &rec.Current, rec.Next)
	written := ""
	if opts.Write && rec.Next != nil {
		if written, err = write(opts, chosen, rec.Next); err != nil {
			return err
		}
	}
	switch opts.Format {
	case "json":
		return views.WriteJSON(opts.IO.Out, views.ResizeJSON{FormatVersion: views.FormatVersion, Forecast: fc, Recommendation: rec, Written: written})
	default:
		views.Resize(opts.IO.Out, rec, opts.Format == "markdown")
	}
	switch {
	case written != "":
		fmt.Fprintf(opts.IO.ErrOut, "Wrote the new size to %s. `cosocial plan` shows the in-place resize; `cosocial up` carries it out.\n", written)
	case opts.Write:
		fmt.Fprintln(opts.IO.ErrOut, "Nothing to write: the current size covers the horizon.")
	case rec.Next != nil:
		fmt.Fprintln(opts.IO.ErrOut, "Run again with --write to put the new size in the description.")
	}
	return nil
}

// write rewrites the database's block, and keeps the change only if the
// whole description still loads and passes the domain rules with it: a
// disk the flavor refuses is never written.
func write(opts *Options, chosen *chosendb.Database, next *dbplan.Size) (string, error) {
	db := chosen.Database
	file := db.Src.Decl.Filename
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	flavor := ""
	if next.Flavor != db.Flavor {
		flavor = next.Flavor
	}
	out, err := dbplan.Rewrite(src, file, db.Name, next.DiskGB, flavor)
	if err != nil {
		return "", err
	}
	res := config.LoadEdited(opts.File(), file, out)
	diags := res.Diagnostics
	if !diags.HasErrors() {
		if judged := policy.Check(res.Description, opts.Catalog(), opts.Now()); judged.DomainErrors() > 0 {
			diags = judged.Diagnostics
		}
	}
	if diags.HasErrors() {
		views.Diagnostics(opts.IO.ErrOut, diags, res.Files, opts.IO.ErrColorScheme())
		return "", fmt.Errorf("the rewritten description would not validate, so %s was left as it was", file)
	}
	info, err := os.Stat(file)
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".cosocial-resize-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), info.Mode().Perm()); err != nil {
		return "", err
	}
	return file, os.Rename(tmp.Name(), file)
}
