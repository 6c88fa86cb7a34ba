// Package refresh is `cosocial refresh`: reads every resource from its
// provider and records what it finds in the state.
package refresh

import (
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/stack"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are refresh's dependencies and flags.
type Options struct {
	preflight.Deps

	Sandbox bool
}

// NewCmdRefresh builds the command; runF replaces the run function in tests.
func NewCmdRefresh(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: preflight.NewDeps(f)}
	cmd := &cobra.Command{
		Use:   "refresh",
		Short: "Record in the state what the providers really have",
		Long: `Read every resource of the stack from its provider and record what it finds:
a resource resized by hand, or deleted in a provider's console. Only the
state changes, never a resource; run plan afterwards to see what up would
put back. To look without recording, use drift.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return refreshRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "refresh the stack on the built-in simulators")
	return cmd
}

func refreshRun(opts *Options) error {
	ctx := opts.Context()
	checked, opened, err := opts.Start(ctx, opts.Sandbox)
	if err != nil {
		return err
	}
	defer opened.Close()
	progress := views.NewProgress(opts.IO.ErrOut, opts.IO.ErrColorScheme())
	p, err := opened.Stack.Refresh(ctx, func(e events.EngineEvent) {
		if step, ok := stack.StepOf(e, true); ok && step.Message != "" {
			progress.Event(step)
		}
	})
	if err != nil {
		return opts.Explain(ctx, checked, err)
	}
	views.Drift(opts.IO.Out, opts.Header(opts.Sandbox), p, true, opts.IO.ColorScheme())
	return nil
}
