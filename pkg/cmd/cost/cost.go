// Package cost is `cosocial cost`: what the description costs each month
// in Canadian dollars, per resource and in total, and per member per year
// against the dues, with the source and date of every price.
package cost

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/pricing"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/views"
)

// Formats the estimate can be printed in.
var Formats = []string{"table", "markdown", "json"}

// Options are cost's dependencies and flags.
type Options struct {
	IO      *iostreams.IOStreams
	Load    func() *config.Result
	Catalog func() *catalog.Catalog
	Now     func() time.Time
	// StackDir is where price lists are kept, beside the stack.
	StackDir func(sandbox bool) string
	// StartSandbox starts the simulators, whose catalog --sandbox reads.
	StartSandbox func(ctx context.Context, desc *model.Description) (*sandbox.Sandbox, error)
	Environ      func() []string

	Format   string
	Sandbox  bool
	Offline  bool
	BucketGB map[string]string
}

// NewCmdCost builds the command; runF replaces the run function in tests.
func NewCmdCost(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Load: f.Description, Catalog: f.Catalog, Now: f.Now, StackDir: f.StackDir, Environ: os.Environ,
		StartSandbox: func(ctx context.Context, desc *model.Description) (*sandbox.Sandbox, error) {
			return f.StartSandbox(ctx, desc, nil)
		}}
	cmd := &cobra.Command{
		Use:   "cost",
		Short: "Say what the description costs each month, in Canadian dollars, and per member",
		Long: `Say what each server, database and bucket costs a month in Canadian dollars,
the total, and that total per member per year against the dues the coop
block names.

Prices are read live where the provider publishes them (OVHcloud's catalog,
without credentials) and kept in the stack's folder with their date: a run
without network uses the last kept prices and says how old they are. A
price no source gives is reported as unknown, never guessed. Object storage
is priced per gigabyte stored; --bucket-gb gives a bucket's size.

The markdown form is written for a board report.`,
		Example: `  cosocial cost
  cosocial cost --bucket-gb media=250 --format markdown > cost.md
  cosocial cost --offline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(Formats, opts.Format) {
				return exit.FlagErrorf("--format must be table, markdown or json, not %q", opts.Format)
			}
			if _, err := bucketSizes(opts.BucketGB); err != nil {
				return exit.FlagErrorf("--bucket-gb: %v", err)
			}
			if runF != nil {
				return runF(opts)
			}
			return costRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output format: table, markdown or json")
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "read the built-in simulators' prices (invented) instead of the providers'")
	cmd.Flags().BoolVar(&opts.Offline, "offline", false, "use the prices kept by an earlier run; read nothing")
	cmd.Flags().StringToStringVar(&opts.BucketGB, "bucket-gb", nil, "a bucket's size in GB, to price its storage: name=GB (repeatable)")
	return cmd
}

// bucketSizes reads --bucket-gb.
func bucketSizes(flag map[string]string) (map[string]float64, error) {
	out := map[string]float64{}
	for name, v := range flag {
		gb, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || gb < 0 {
			return nil, fmt.Errorf("%s=%s: the size is a number of gigabytes", name, v)
		}
		out[name] = gb
	}
	return out, nil
}

func costRun(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	res := opts.Load()
	if res.Diagnostics.HasErrors() {
		views.Diagnostics(opts.IO.ErrOut, res.Diagnostics, res.Files, opts.IO.ErrColorScheme())
		return exit.ErrSilent
	}
	desc := res.Description
	sizes, _ := bucketSizes(opts.BucketGB)
	for name := range sizes {
		if !slices.ContainsFunc(desc.Buckets, func(b *model.Bucket) bool { return b.Name == name }) {
			return exit.FlagErrorf("--bucket-gb: the description has no bucket %q", name)
		}
	}
	env := environ(opts.Environ())
	if opts.Sandbox && !opts.Offline {
		sb, err := opts.StartSandbox(ctx, desc)
		if err != nil {
			return fmt.Errorf("starting the sandbox: %w", err)
		}
		defer sb.Close()
		env = sb.Env()
	}
	now := opts.Now()
	in := Prices(ctx, desc, opts.Catalog(), env, opts.StackDir(opts.Sandbox), opts.Sandbox, opts.Offline, now)
	in.BucketGB = sizes
	est := pricing.Make(desc, in)
	name := ""
	if desc.Coop != nil {
		name = desc.Coop.Name
	}
	switch opts.Format {
	case "json":
		return views.WriteJSON(opts.IO.Out, views.CostJSON{FormatVersion: views.FormatVersion, Estimate: est})
	case "markdown":
		views.CostMarkdown(opts.IO.Out, est, name, now)
	default:
		views.CostTable(opts.IO.Out, est, now, opts.IO.ColorScheme())
	}
	return nil
}
