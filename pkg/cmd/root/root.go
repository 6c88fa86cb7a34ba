// Package root assembles the cosocial command tree and its global flags.
package root

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/db"
	"github.com/cosocial/cosocial/pkg/cmd/destroy"
	"github.com/cosocial/cosocial/pkg/cmd/drift"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	fmtcmd "github.com/cosocial/cosocial/pkg/cmd/fmt"
	initcmd "github.com/cosocial/cosocial/pkg/cmd/init"
	migratecmd "github.com/cosocial/cosocial/pkg/cmd/migrate"
	"github.com/cosocial/cosocial/pkg/cmd/plan"
	"github.com/cosocial/cosocial/pkg/cmd/refresh"
	"github.com/cosocial/cosocial/pkg/cmd/residency"
	sandboxcmd "github.com/cosocial/cosocial/pkg/cmd/sandbox"
	"github.com/cosocial/cosocial/pkg/cmd/up"
	"github.com/cosocial/cosocial/pkg/cmd/validate"
	"github.com/cosocial/cosocial/pkg/cmd/version"
	"github.com/cosocial/cosocial/pkg/stack"
)

// NewCmdRoot returns the root command with every subcommand attached.
func NewCmdRoot(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cosocial <command>",
		Short: "Run a co-op's fediverse services on Canadian infrastructure",
		Long: `cosocial stands up and looks after a co-operative's Mastodon, Castopod and
Pixelfed from one description in HCL: it checks that every byte stays in
Canada with Canadian-owned providers, shows what would change, applies it
through the Pulumi engine, migrates off other providers and plans database
resizes before the disk fills.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.PersistentFlags().StringVarP(&f.File, "file", "f", factory.DefaultFile, "the description: a file, or a folder of .hcl files")
	cmd.PersistentFlags().StringVar(&f.Stack, "stack", factory.DefaultStack, "the stack (one deployment of the description)")
	// The stack's name becomes a folder and an engine name: it is checked
	// once, before any command makes either.
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
		if err := stack.ValidName(f.Stack); err != nil {
			return fmt.Errorf("--stack: %w", err)
		}
		return nil
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exit.FlagError{Err: err} })
	cmd.CompletionOptions.HiddenDefaultCmd = true

	cmd.AddCommand(
		initcmd.NewCmdInit(f, nil),
		fmtcmd.NewCmdFmt(f, nil),
		validate.NewCmdValidate(f, nil),
		residency.NewCmdResidency(f, nil),
		plan.NewCmdPlan(f, nil),
		up.NewCmdUp(f, nil),
		refresh.NewCmdRefresh(f, nil),
		drift.NewCmdDrift(f, nil),
		destroy.NewCmdDestroy(f, nil),
		db.NewCmdDB(f),
		migratecmd.NewCmdMigrate(f),
		sandboxcmd.NewCmdSandbox(f, nil),
		version.NewCmdVersion(f, nil),
	)
	return cmd
}
