// Package refresh is `cosocial refresh`: reads every resource from its
// provider and records what it finds in the state.
package refresh

import (
	"context"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/stack"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are refresh's dependencies and flags.
type Options struct {
	IO        *iostreams.IOStreams
	Load      func() *config.Result
	Catalog   func() *catalog.Catalog
	Now       func() time.Time
	OpenStack func(ctx context.Context, desc *model.Description, sandbox bool) (*factory.OpenedStack, error)
	File      func() string
	StackName func() string
	Ctx       context.Context

	Sandbox bool
}

// NewCmdRefresh builds the command; runF replaces the run function in tests.
func NewCmdRefresh(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Load: f.Description, Catalog: f.Catalog, Now: f.Now, OpenStack: f.OpenStack,
		File: func() string { return f.File }, StackName: func() string { return f.Stack }}
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
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	checked, err := preflight.Run(opts.IO, opts.Load, opts.Catalog(), opts.Now())
	if err != nil {
		return err
	}
	opened, err := opts.OpenStack(ctx, checked.Description, opts.Sandbox)
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
		return err
	}
	views.Drift(opts.IO.Out, views.PlanHeader{Description: opts.File(), Stack: opts.StackName(), Sandbox: opts.Sandbox}, p, true, opts.IO.ColorScheme())
	return nil
}
