// Package up is `cosocial up`: shows the plan, asks, applies it through
// the Pulumi engine with progress per resource, and ends with the outputs.
package up

import (
	"bufio"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/cost"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/stack"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are up's dependencies and flags.
type Options struct {
	preflight.Deps

	Yes     bool
	Sandbox bool
}

// NewCmdUp builds the command; runF replaces the run function in tests.
func NewCmdUp(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: preflight.NewDeps(f)}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Apply the description: create, update and replace what the plan shows",
		Long: `Apply the description through the Pulumi engine. up shows the plan first and
asks before changing anything (--yes skips the question, for CI), then
reports each resource as it is created, updated or replaced, and ends with
the stack's outputs: server addresses, database endpoints, bucket endpoints.
Secret outputs are named, never shown.

Databases and buckets are protected: up never deletes or replaces them.`,
		Example: `  cosocial up
  cosocial up --sandbox --yes -f stacks/starter/cosocial.hcl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return upRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "apply without asking")
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "apply to the built-in simulators instead of the real providers")
	return cmd
}

func upRun(opts *Options) error {
	ctx := opts.Context()
	checked, opened, err := opts.Start(ctx, opts.Sandbox)
	if err != nil {
		return err
	}
	defer opened.Close()
	h := opts.Header(opts.Sandbox)
	plan, err := opened.Stack.Preview(ctx, nil)
	if err != nil {
		return opts.Explain(ctx, checked, err)
	}
	out, errOut, cs := opts.IO.Out, opts.IO.ErrOut, opts.IO.ColorScheme()
	h.Cost = cost.ForPlan(ctx, checked.Description, opts.Catalog(), opened, opts.Now(), plan)
	views.Plan(out, h, plan, checked.Judged.Residency, cs)
	if !plan.HasChanges() {
		return printOutputs(ctx, opts, opened.Stack)
	}
	if !opts.Yes {
		if !opts.IO.CanPrompt() {
			return fmt.Errorf("up asks before changing anything; not at a terminal, pass --yes to apply (nothing was changed)")
		}
		fmt.Fprint(out, "\nApply these changes? Only 'yes' is accepted: ")
		answer, _ := bufio.NewReader(opts.IO.In).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			return exit.ErrCancel
		}
	}
	fmt.Fprintln(errOut)
	progress := views.NewProgress(errOut, opts.IO.ErrColorScheme())
	start := time.Now()
	result, err := opened.Stack.Up(ctx, progress.Events())
	if err != nil {
		return opts.Explain(ctx, checked, err)
	}
	c := result.Counts()
	fmt.Fprintf(out, "\n%s Applied in %s: %d created, %d updated in place, %d replaced, %d deleted.\n",
		cs.Green("✓"), time.Since(start).Round(time.Second), c[stack.ActionCreate], c[stack.ActionUpdate], c[stack.ActionReplace], c[stack.ActionDelete])
	return printOutputs(ctx, opts, opened.Stack)
}

func printOutputs(ctx context.Context, opts *Options, st *stack.Stack) error {
	outputs, err := st.Outputs(ctx)
	if err != nil {
		return err
	}
	plain := map[string]string{}
	var secrets []string
	for k, v := range outputs {
		if v.Secret {
			secrets = append(secrets, k)
			continue
		}
		plain[k] = fmt.Sprint(v.Value)
	}
	sort.Strings(secrets)
	views.Outputs(opts.IO.Out, plain, secrets)
	return nil
}
