// Package drift is `cosocial drift`: what differs between the state and
// the providers, changing nothing. Exit status 2 means drift, for a
// scheduled CI job.
package drift

import (
	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/stack"
	"github.com/cosocial/cosocial/pkg/views"
)

// ExitDrift is drift's status when something differs.
const ExitDrift = 2

// Options are drift's dependencies and flags.
type Options struct {
	preflight.Deps

	JSON    bool
	Sandbox bool
}

// NewCmdDrift builds the command; runF replaces the run function in tests.
func NewCmdDrift(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: preflight.NewDeps(f)}
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Show what differs between the state and the providers, changing nothing",
		Long: `Read every resource from its provider and show what was changed or deleted
outside cosocial. Nothing is changed, not even the state.

Exit status: 0 no drift, 1 error, 2 drift.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return driftRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the findings as JSON")
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "check the stack on the built-in simulators")
	return cmd
}

func driftRun(opts *Options) error {
	ctx := opts.Context()
	checked, opened, err := opts.Start(ctx, opts.Sandbox)
	if err != nil {
		return err
	}
	defer opened.Close()
	p, err := opened.Stack.Drift(ctx, nil)
	if err != nil {
		return opts.Explain(ctx, checked, err)
	}
	h := opts.Header(opts.Sandbox)
	if opts.JSON {
		if err := views.WriteJSON(opts.IO.Out, views.NewPlanJSON(h, p, nil)); err != nil {
			return err
		}
	} else {
		views.Drift(opts.IO.Out, h, p, false, opts.IO.ColorScheme())
	}
	for _, c := range p.Changes {
		if c.Action == stack.ActionDrift || c.Action == stack.ActionGone {
			return exit.Code(ExitDrift)
		}
	}
	return nil
}
