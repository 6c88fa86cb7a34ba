// Package plan is `cosocial plan`: what `up` would change, through the
// Pulumi engine, with the residency verdict, for a person or a pull
// request.
package plan

import (
	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/cost"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/views"
)

// ExitChanges is --detailed-exitcode's status when there are changes.
const ExitChanges = 2

// Options are plan's dependencies and flags.
type Options struct {
	preflight.Deps

	JSON             bool
	Markdown         bool
	DetailedExitcode bool
	Sandbox          bool
}

// NewCmdPlan builds the command; runF replaces the run function in tests.
func NewCmdPlan(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: preflight.NewDeps(f)}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what up would change, without changing anything",
		Long: `Show what up would change: each resource to create, update in place,
replace or delete, with the properties that change (replacements flagged),
the residency verdict and a count. Nothing is changed.

The description is judged first: with on_violation = "error", a residency
violation stops plan before any provider is contacted.

--markdown writes a comment for a pull request; --json writes the same plan
for scripts. With --detailed-exitcode the exit status says whether there
are changes: 0 none, 1 error, 2 changes.`,
		Example: `  cosocial plan
  cosocial plan --sandbox -f stacks/starter/cosocial.hcl
  cosocial plan --markdown --detailed-exitcode > plan.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.JSON && opts.Markdown {
				return exit.FlagErrorf("--json and --markdown cannot be used together")
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return planRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the plan as JSON")
	cmd.Flags().BoolVar(&opts.Markdown, "markdown", false, "print the plan as markdown for a pull request")
	cmd.Flags().BoolVar(&opts.DetailedExitcode, "detailed-exitcode", false, "exit 2 when there are changes, 0 when there are none")
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "plan against the built-in simulators instead of the real providers")
	return cmd
}

func planRun(opts *Options) error {
	ctx := opts.Context()
	checked, opened, err := opts.Start(ctx, opts.Sandbox)
	if err != nil {
		return err
	}
	defer opened.Close()
	p, err := opened.Stack.Preview(ctx, nil)
	if err != nil {
		return opts.Explain(ctx, checked, err)
	}
	h := opts.Header(opts.Sandbox)
	h.Cost = cost.ForPlan(ctx, checked.Description, opts.Catalog(), opened, opts.Now(), p)
	switch {
	case opts.JSON:
		if err := views.WriteJSON(opts.IO.Out, views.NewPlanJSON(h, p, checked.Judged.Residency)); err != nil {
			return err
		}
	case opts.Markdown:
		views.PlanMarkdown(opts.IO.Out, h, p, checked.Judged.Residency)
	default:
		views.Plan(opts.IO.Out, h, p, checked.Judged.Residency, opts.IO.ColorScheme())
	}
	if opts.DetailedExitcode && p.HasChanges() {
		return exit.Code(ExitChanges)
	}
	return nil
}
