// Package verify is `cosocial migrate verify`: compare what the source
// holds with what the target holds — every object and every table — at
// any time, changing nothing.
package verify

import (
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/sourcetarget"
	"github.com/cosocial/cosocial/pkg/migrate"
	"github.com/cosocial/cosocial/pkg/migrate/journal"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are migrate verify's dependencies and flags.
type Options struct {
	sourcetarget.Deps
	sourcetarget.Flags

	JSON        bool
	Width       int
	ChecksumMax int64
}

// NewCmdVerify builds the command; runF replaces the run function in tests.
func NewCmdVerify(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: sourcetarget.NewDeps(f)}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Compare every object and table at the source with the target's",
		Long: `Read every object of each paired bucket at both ends and compare its size and
SHA-256 (computed here: providers' ETags differ), and compare every paired
database table by table: row counts, and a checksum of the content in
primary-key order for tables up to --checksum-max bytes. Nothing is changed.

Run it after the bulk copy, after the cutover, or any day after.

Exit status: 0 both ends hold the same data, 1 a difference or an error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if err := opts.Check(opts.Width); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return verifyRun(opts)
		},
	}
	opts.Flags.Bind(cmd)
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the findings as JSON")
	cmd.Flags().IntVar(&opts.Width, "width", 16, "objects compared at once")
	cmd.Flags().Int64Var(&opts.ChecksumMax, "checksum-max", 1<<30, "largest table (bytes) whose content is checksummed; larger ones compare row counts")
	return cmd
}

func verifyRun(opts *Options) error {
	both, err := sourcetarget.Open(opts.Deps, opts.Flags, true)
	if err != nil {
		return err
	}
	defer both.Close()
	conns, err := both.Connections()
	if err != nil {
		return err
	}
	// Once the DNS switched, the app writes at the target: only what the
	// source had is judged.
	steps, err := journal.Read(filepath.Join(migrate.JournalDir(opts.StackDir(opts.Sandbox), both.Migration), "journal.json"))
	if err != nil {
		return err
	}
	after := migrate.OutcomeOf(steps).Done
	checks := migrate.Verify(opts.Context(), conns, opts.Width, opts.ChecksumMax, after)
	if opts.JSON {
		if err := views.WriteJSON(opts.IO.Out, views.VerifyJSON{FormatVersion: views.FormatVersion, Checks: checks}); err != nil {
			return err
		}
	} else {
		views.Verify(opts.IO.Out, checks, opts.IO.ColorScheme())
	}
	for _, c := range checks {
		if !c.OK() {
			return exit.ErrSilent
		}
	}
	return nil
}
