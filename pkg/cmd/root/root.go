// Package root assembles the cosocial command tree and its global flags.
package root

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/cost"
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

	// validate, residency and version only read and print; fmt and init
	// write their files whole at the end, and are left to finish.
	validateCmd, residencyCmd, versionCmd := validate.NewCmdValidate(f, nil), residency.NewCmdResidency(f, nil), version.NewCmdVersion(f, nil)
	annotate(localOnlyAnnotation, validateCmd, residencyCmd, versionCmd)
	sandboxCmd := sandboxcmd.NewCmdSandbox(f, nil)
	annotate(servesAnnotation, sandboxCmd)
	cmd.AddCommand(
		initcmd.NewCmdInit(f, nil),
		fmtcmd.NewCmdFmt(f, nil),
		validateCmd,
		residencyCmd,
		cost.NewCmdCost(f, nil),
		plan.NewCmdPlan(f, nil),
		up.NewCmdUp(f, nil),
		refresh.NewCmdRefresh(f, nil),
		drift.NewCmdDrift(f, nil),
		destroy.NewCmdDestroy(f, nil),
		db.NewCmdDB(f),
		migratecmd.NewCmdMigrate(f),
		sandboxCmd,
		versionCmd,
	)
	return cmd
}

// servesAnnotation marks a command that runs until interrupted: the
// interrupt is how it ends normally.
const servesAnnotation = "cosocial/serves"

// Serves reports whether cmd runs until interrupted, so that the interrupt
// is its normal end rather than a failure.
func Serves(cmd *cobra.Command) bool { return cmd.Annotations[servesAnnotation] == "true" }

// localOnlyAnnotation marks a command that changes nothing outside this
// process (it reads files and prints): an interrupt ends it at once.
const localOnlyAnnotation = "cosocial/local-only"

// LocalOnly reports whether cmd changes nothing outside the process, so
// that an interrupt may end it at once instead of asking it to stop.
func LocalOnly(cmd *cobra.Command) bool {
	return cmd.Annotations[localOnlyAnnotation] == "true"
}

func annotate(key string, cmds ...*cobra.Command) {
	for _, c := range cmds {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[key] = "true"
	}
}
