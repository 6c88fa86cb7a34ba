// Package plan is `cosocial migrate plan`: what a migration would move,
// how long each copy should take from measured throughput, the downtime,
// and what blocks it — read from the source's provider, changing nothing.
package plan

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/cost"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/sourcetarget"
	"github.com/cosocial/cosocial/pkg/migrate"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are migrate plan's dependencies and flags.
type Options struct {
	sourcetarget.Deps
	sourcetarget.Flags

	JSON        bool
	Markdown    bool
	Width       int
	DumpRestore bool
	NoProbe     bool
}

// NewCmdPlan builds the command; runF replaces the run function in tests.
func NewCmdPlan(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: sourcetarget.NewDeps(f)}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what a migration would move, how long it takes and what blocks it",
		Long: `Read the migration block of the description (the target) and the description
it names as its source, take stock of the source at DigitalOcean (droplets,
database clusters with their size, Spaces buckets with their objects and
bytes, DNS records with their TTLs), pair each source resource with the
target's of the same kind and name, and print the steps with their volumes,
an estimate of each copy from a short measurement of the source's speed,
the expected downtime, and what blocks the migration: a target not stood up
yet, a PostgreSQL major version going down, a disk too small, a DNS TTL
too long for the downtime budget.

Nothing is changed, except a read-only Spaces key made for the run and
deleted at its end. DIGITALOCEAN_TOKEN must be set (not with --sandbox,
which rehearses on the simulators, seeding the source with sample data the
first time).

Exit status: 0 nothing blocks, 1 an error or a blocker.`,
		Example: `  cosocial migrate plan -f stacks/cosocial
  cosocial migrate plan -f stacks/cosocial --sandbox
  cosocial migrate plan --markdown > migration-plan.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if opts.JSON && opts.Markdown {
				return exit.FlagErrorf("--json and --markdown are two outputs: choose one")
			}
			if err := opts.Check(opts.Width); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return planRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the plan as JSON")
	cmd.Flags().BoolVar(&opts.Markdown, "markdown", false, "print the plan as markdown, for a pull request or the board")
	cmd.Flags().IntVar(&opts.Width, "width", 16, "parallel transfers of the copies (and of the speed probe)")
	cmd.Flags().BoolVar(&opts.DumpRestore, "dump-restore", false, "copy the database with writers stopped instead of by logical replication")
	cmd.Flags().BoolVar(&opts.NoProbe, "no-probe", false, "do not measure the source's speed (no estimates)")
	opts.Flags.Bind(cmd)
	return cmd
}

func planRun(opts *Options) error {
	ctx := opts.Context()
	both, err := sourcetarget.Open(opts.Deps, opts.Flags, false)
	if err != nil {
		return err
	}
	defer both.Close()
	var speed migrate.Throughput
	warnings := both.Warnings
	if !opts.NoProbe {
		bucket, dsn := largest(both.Stock)
		if speed, err = migrate.Probe(ctx, bucket, dsn, opts.Width); err != nil {
			warnings = append(warnings, fmt.Sprintf("the source's speed could not be measured (%v): no estimates", err))
		}
	}
	p := migrate.MakePlan(migrate.Input{Target: both.Description, Facts: both.Stock.Facts, Speed: speed, Created: both.Created,
		Owner: ownerOf(both.Description, both.Migration.Source, opts), LowDowntime: !opts.DumpRestore, WritesPerDay: writesPerDay(both.Description)})
	p.Warnings = append(warnings, p.Warnings...)
	env := cost.ProcessEnv()
	if both.Sandbox != nil {
		env = both.Sandbox.Env()
	}
	money := cost.ForMigration(ctx, both.Description, both.Migration.Source, both.Stock.Facts, opts.Catalog(), env, opts.StackDir(opts.Sandbox), opts.Sandbox, opts.Now())

	switch {
	case opts.JSON:
		if err := views.WriteJSON(opts.IO.Out, views.MigrationPlanJSON{FormatVersion: views.FormatVersion, Plan: p, Facts: both.Stock.Facts, Speed: speed, Money: money}); err != nil {
			return err
		}
	default:
		views.MigrationPlan(opts.IO.Out, p, both.Stock.Facts, speed, opts.Markdown, opts.IO.ColorScheme())
		views.MigrationMoney(opts.IO.Out, money, opts.Markdown)
	}
	if len(p.Blockers) > 0 {
		return exit.ErrSilent
	}
	return nil
}

// largest picks what the probe reads: the bucket with the most objects and
// the first database.
func largest(st *migrate.Stock) (*objectstore.Bucket, string) {
	var names []string
	for n := range st.Buckets {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return st.Facts.Buckets[names[i]].Objects > st.Facts.Buckets[names[j]].Objects })
	var b *objectstore.Bucket
	if len(names) > 0 {
		bk := st.Buckets[names[0]]
		b = &bk
	}
	var dbs []string
	for n := range st.Databases {
		dbs = append(dbs, n)
	}
	sort.Strings(dbs)
	dsn := ""
	if len(dbs) > 0 {
		dsn = st.Databases[dbs[0]]
	}
	return b, dsn
}

// ownerOf says who owns a resource's provider and where it keeps the
// data, from the residency report of the side it belongs to.
func ownerOf(target, source *model.Description, opts *Options) func(model.Resource) string {
	rows := map[model.Resource]string{}
	for _, d := range []*model.Description{source, target} {
		rep := policy.Check(d, opts.Catalog(), opts.Now()).Residency
		byAddr := map[string]string{}
		for _, r := range rep.Rows {
			byAddr[r.Address()] = fmt.Sprintf("%s (%s), %s %s", r.Owner, r.OwnerCountry, r.City, r.Country)
		}
		for _, r := range d.Resources() {
			rows[r] = byAddr[r.Addr().String()]
		}
	}
	return func(r model.Resource) string { return rows[r] }
}

// writesPerDay is the media the services say they write a day, which the
// final sync copies in the window.
func writesPerDay(desc *model.Description) int64 {
	var n int64
	for _, s := range desc.Services {
		if s.Allowances != nil {
			n += int64(s.Allowances.MediaMBPerDay) * 1e6
		}
	}
	return n
}
