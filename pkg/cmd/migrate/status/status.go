// Package status is `cosocial migrate status`: where a migration's run
// stands, step by step, from its journal — read only, reaching nothing.
package status

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/sourcetarget"
	"github.com/cosocial/cosocial/pkg/migrate"
	"github.com/cosocial/cosocial/pkg/migrate/journal"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are migrate status's dependencies and flags.
type Options struct {
	sourcetarget.Deps

	Sandbox bool
	JSON    bool
}

// NewCmdStatus builds the command; runF replaces the run function in tests.
func NewCmdStatus(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: sourcetarget.NewDeps(f)}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show where a migration's run stands, step by step",
		Long: `Read the migration's journal and show each step: pending, done, failed,
interrupted (the process stopped while it ran; the next run does it again)
or undone, with when it finished and what it did. It reaches no server.

It ends with what happened last (the step that failed and why, when the
window was undone) and what the next run will do.

Exit status: 0 once the migration is done (the DNS switched), 1 while it
is not: not started, under way, stopped at a step, or undone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return statusRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "the rehearsal's journal")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the steps as JSON")
	return cmd
}

func statusRun(opts *Options) error {
	res := opts.Load()
	if res.Diagnostics.HasErrors() {
		views.Diagnostics(opts.IO.ErrOut, res.Diagnostics, res.Files, opts.IO.ErrColorScheme())
		return exit.ErrSilent
	}
	m := res.Description.Migration
	if m == nil {
		return errors.New("the description has no migration block")
	}
	path := filepath.Join(migrate.JournalDir(opts.StackDir(opts.Sandbox), m), "journal.json")
	steps, err := journal.Read(path)
	if err != nil {
		return err
	}
	if steps == nil {
		fmt.Fprintf(opts.IO.Out, "Migration %q has not been run yet (no journal at %s).\n", m.Name, path)
		return exit.ErrSilent
	}
	if opts.JSON {
		outcome := migrate.OutcomeOf(steps)
		if err := views.WriteJSON(opts.IO.Out, struct {
			FormatVersion string              `json:"format_version"`
			Migration     string              `json:"migration"`
			Done          bool                `json:"done"`
			Summary       string              `json:"summary"`
			Steps         []journal.StepState `json:"steps"`
		}{views.FormatVersion, m.Name, outcome.Done, outcome.Summary, steps}); err != nil {
			return err
		}
		if !outcome.Done {
			return exit.ErrSilent
		}
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "Migration %q (%s):\n", m.Name, path)
	views.MigrationStatus(opts.IO.Out, steps, opts.IO.ColorScheme())
	outcome := migrate.OutcomeOf(steps)
	fmt.Fprintf(opts.IO.Out, "\n%s\n", outcome.Summary)
	if !outcome.Done {
		return exit.ErrSilent
	}
	return nil
}
