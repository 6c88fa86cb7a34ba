// Package validate is `cosocial validate`: the language, references, domain
// rules and residency policy, with no network.
package validate

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are validate's dependencies and flags.
type Options struct {
	IO      *iostreams.IOStreams
	Load    func() *config.Result
	Catalog func() *catalog.Catalog
	Now     func() time.Time

	JSON bool
	AsOf string
}

// NewCmdValidate builds the command; runF replaces the run function in tests.
func NewCmdValidate(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Load: f.Description, Catalog: f.Catalog, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the description: language, references, domain rules, residency",
		Long: `Check the description without calling any provider: its language, its
references, what each application needs and each provider offers, and the
co-op's residency policy. Residency violations are errors when the policy
says on_violation = "error", warnings when it says "warn".

Exit status: 0 valid, 1 invalid.`,
		Example: `$ cosocial validate
$ cosocial validate -f stacks/cosocial --json
$ cosocial validate --as-of 2027-02-01   # will the waivers still hold?`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return validateRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	cmd.Flags().StringVar(&opts.AsOf, "as-of", "", "judge waivers as of this date (YYYY-MM-DD) instead of today")
	return cmd
}

// Output is validate's JSON document.
type Output struct {
	FormatVersion string                 `json:"format_version"`
	Valid         bool                   `json:"valid"`
	ErrorCount    int                    `json:"error_count"`
	WarningCount  int                    `json:"warning_count"`
	Diagnostics   []views.JSONDiagnostic `json:"diagnostics"`
	Waivers       []policy.WaiverStatus  `json:"waivers"`
}

func validateRun(opts *Options) error {
	asOf, err := policy.ParseAsOf(opts.AsOf, opts.Now)
	if err != nil {
		return &exit.FlagError{Err: err}
	}
	res := opts.Load()
	diags := res.Diagnostics
	var judged *policy.Result
	if !diags.HasErrors() {
		judged = policy.Check(res.Description, opts.Catalog(), asOf)
		diags = append(diags, judged.Diagnostics...)
		config.SortDiagnostics(diags, res.Description.Files)
	}
	errs, warns := views.Count(diags)

	if opts.JSON {
		out := Output{
			FormatVersion: views.FormatVersion,
			Valid:         errs == 0,
			ErrorCount:    errs,
			WarningCount:  warns,
			Diagnostics:   views.JSONDiagnostics(diags),
			Waivers:       []policy.WaiverStatus{},
		}
		if judged != nil {
			out.Waivers = judged.Residency.Waivers
		}
		if err := views.WriteJSON(opts.IO.Out, out); err != nil {
			return err
		}
		if errs > 0 {
			return exit.ErrSilent
		}
		return nil
	}

	views.Diagnostics(opts.IO.ErrOut, diags, res.Files, opts.IO.ErrColorScheme())
	if errs > 0 {
		cs := opts.IO.ErrColorScheme()
		fmt.Fprintf(opts.IO.ErrOut, "%s %s\n", cs.Red("✗"), countLine(errs, warns))
		return exit.ErrSilent
	}
	cs := opts.IO.ColorScheme()
	desc := res.Description
	fmt.Fprintf(opts.IO.Out, "%s The description is valid: %s.\n", cs.Green("✓"), summary(desc.Resources(), len(desc.Providers), len(desc.Services)))
	if warns > 0 {
		fmt.Fprintf(opts.IO.Out, "  %s\n", countLine(0, warns))
	}
	fmt.Fprintf(opts.IO.Out, "  Residency: %s.\n", views.ResultLine(judged.Residency))
	views.WaiverLines(opts.IO.Out, judged.Residency, cs)
	return nil
}

func summary[T any](resources []T, providers, services int) string {
	return fmt.Sprintf("%s, %s, %s", plural(len(resources), "resource"), plural(providers, "provider"), plural(services, "service"))
}

func countLine(errs, warns int) string {
	switch {
	case errs > 0 && warns > 0:
		return fmt.Sprintf("%s and %s.", plural(errs, "error"), plural(warns, "warning"))
	case errs > 0:
		return plural(errs, "error") + "."
	}
	return plural(warns, "warning") + "."
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
