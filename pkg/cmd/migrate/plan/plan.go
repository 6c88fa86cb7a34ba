// Package plan is `cosocial migrate plan`: what a migration would move,
// how long each copy should take from measured throughput, the downtime,
// and what blocks it — read from the source's provider, changing nothing.
package plan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/migrate"
	"github.com/cosocial/cosocial/pkg/migrate/rehearse"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/provider/digitalocean"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/stack"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are migrate plan's dependencies and flags.
type Options struct {
	preflight.Deps
	// StartSandbox starts the simulators alone, when the engine is
	// missing and the target's stack cannot be read.
	StartSandbox func(ctx context.Context, desc *model.Description) (*sandbox.Sandbox, error)
	Getenv       func(string) string

	JSON        bool
	Markdown    bool
	Sandbox     bool
	Width       int
	DumpRestore bool
	NoProbe     bool
	SourceNames []string
}

// NewCmdPlan builds the command; runF replaces the run function in tests.
func NewCmdPlan(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: preflight.NewDeps(f), Getenv: os.Getenv, StartSandbox: func(ctx context.Context, desc *model.Description) (*sandbox.Sandbox, error) {
		dir, err := sandbox.DefaultDir(f.File)
		if err != nil {
			return nil, err
		}
		return sandbox.Start(ctx, factory.SandboxOptions(desc, dir))
	}}
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
			if opts.Width < 1 || opts.Width > 256 {
				return exit.FlagErrorf("--width must be between 1 and 256, not %d", opts.Width)
			}
			for _, n := range opts.SourceNames {
				if k, v, ok := strings.Cut(n, "="); !ok || k == "" || v == "" {
					return exit.FlagErrorf("--source-name takes ADDRESS=NAME, e.g. bucket.media=cosocial-files, not %q", n)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return planRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the plan as JSON")
	cmd.Flags().BoolVar(&opts.Markdown, "markdown", false, "print the plan as markdown, for a pull request or the board")
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "rehearse on the built-in simulators")
	cmd.Flags().IntVar(&opts.Width, "width", 16, "parallel transfers of the copies (and of the speed probe)")
	cmd.Flags().BoolVar(&opts.DumpRestore, "dump-restore", false, "copy the database with writers stopped instead of by logical replication")
	cmd.Flags().BoolVar(&opts.NoProbe, "no-probe", false, "do not measure the source's speed (no estimates)")
	cmd.Flags().StringArrayVar(&opts.SourceNames, "source-name", nil, "ADDRESS=NAME: the source resource's name at DigitalOcean, when not <coop>-<name> or <name>")
	return cmd
}

func planRun(opts *Options) error {
	ctx := opts.Context()
	checked, err := preflight.Run(opts.IO, opts.Load, opts.Catalog(), opts.Now())
	if err != nil {
		return err
	}
	desc := checked.Description
	m := desc.Migration
	if m == nil || m.Source == nil {
		return errors.New("the description has no migration block: add one naming the description of what runs today (see docs/language.md)")
	}
	var srcProvider *model.Provider
	for _, p := range m.Source.Providers {
		if p.Kind != model.ProviderDigitalOcean {
			return fmt.Errorf("the migration's source uses a %s provider (%s): only DigitalOcean sources can be migrated", p.Kind, p.Addr())
		}
		srcProvider = p
	}
	if srcProvider == nil {
		return errors.New("the migration's source names no provider")
	}

	warnings := []string{}
	var stood map[string]bool
	var sb *sandbox.Sandbox
	opened, err := opts.OpenStack(ctx, desc, opts.Sandbox)
	switch {
	case err == nil:
		defer opened.Close()
		sb = opened.Sandbox
		if stood, err = standing(ctx, opened.Stack); err != nil {
			warnings = append(warnings, fmt.Sprintf("the target's stack could not be read (%v): whether the target is stood up was not checked", err))
		}
	case ctx.Err() != nil:
		return err
	default:
		// A plan is still worth having without the target's stack (no
		// engine yet, a provider not implemented yet): say what was not
		// checked, and go on.
		first, _, _ := strings.Cut(err.Error(), "\n")
		warnings = append(warnings, fmt.Sprintf("the target's stack could not be opened (%s): whether the target is stood up was not checked", first))
		if opts.Sandbox {
			if sb, err = opts.StartSandbox(ctx, desc); err != nil {
				return fmt.Errorf("starting the sandbox: %w", err)
			}
			defer sb.Close()
		}
	}

	cfg := digitalocean.Config{Token: opts.Getenv(digitalocean.TokenEnv), Endpoint: opts.Getenv(digitalocean.EndpointEnv)}
	spaces := digitalocean.SpacesEndpoint(srcProvider.Region)
	if sb != nil {
		cfg.Token, cfg.Endpoint, spaces = sb.DOToken, sb.DOEndpoint(), sb.S3Endpoint()
	}
	cloud, err := digitalocean.New(cfg)
	if err != nil {
		return err
	}
	if sb != nil {
		fmt.Fprintln(opts.IO.ErrOut, "Rehearsing on the sandbox: its DigitalOcean holds the source, seeded with sample data on first use.")
		if _, err := rehearse.Seed(ctx, cloud, m.Source, srcProvider.Region, rehearse.Options{Statuses: 5000, Objects: 300, Seed: 1, MakeBucket: sb.CreateSpacesBucket, SpacesEndpoint: spaces}); err != nil {
			return fmt.Errorf("seeding the rehearsal: %w", err)
		}
	}
	names := map[string]string{}
	for _, n := range opts.SourceNames {
		k, v, _ := strings.Cut(n, "=")
		names[k] = v
	}
	stock, err := migrate.TakeStock(ctx, desc, migrate.Source{Cloud: cloud, Region: srcProvider.Region, SpacesEndpoint: spaces, Names: names})
	if err != nil {
		return err
	}
	defer stock.Close(context.Background())
	warnings = append(warnings, stock.Warnings...)

	var speed migrate.Throughput
	if !opts.NoProbe {
		bucket, dsn := largest(stock)
		if speed, err = migrate.Probe(ctx, bucket, dsn, opts.Width); err != nil {
			warnings = append(warnings, fmt.Sprintf("the source's speed could not be measured (%v): no estimates", err))
		}
	}
	owners := ownerOf(desc, m.Source, opts)
	p := migrate.MakePlan(migrate.Input{Target: desc, Facts: stock.Facts, Speed: speed, Stood: stood, Owner: owners,
		LowDowntime: !opts.DumpRestore, WritesPerDay: writesPerDay(desc)})
	p.Warnings = append(warnings, p.Warnings...)

	switch {
	case opts.JSON:
		if err := views.WriteJSON(opts.IO.Out, views.MigrationPlanJSON{FormatVersion: views.FormatVersion, Plan: p, Facts: stock.Facts, Speed: speed}); err != nil {
			return err
		}
	default:
		views.MigrationPlan(opts.IO.Out, p, stock.Facts, speed, opts.Markdown, opts.IO.ColorScheme())
	}
	if len(p.Blockers) > 0 {
		return exit.ErrSilent
	}
	return nil
}

// standing lists the target resources the stack has stood up, from the
// outputs each one exports ("server.web.ipv4", "bucket.media.bucket").
func standing(ctx context.Context, st *stack.Stack) (map[string]bool, error) {
	out, err := st.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	stood := map[string]bool{}
	for k := range out {
		if i := strings.LastIndex(k, "."); i > 0 {
			stood[k[:i]] = true
		}
	}
	return stood, nil
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
