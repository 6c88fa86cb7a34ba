// Package version is `cosocial version`.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/iostreams"
)

// Options are version's dependencies.
type Options struct {
	IO      *iostreams.IOStreams
	Version string
}

// NewCmdVersion builds the command; runF replaces the run function in tests.
func NewCmdVersion(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Version: f.Version}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of cosocial and what it was built with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

func versionRun(opts *Options) error {
	fmt.Fprintf(opts.IO.Out, "cosocial %s\n", opts.Version)
	fmt.Fprintf(opts.IO.Out, "  built with %s\n", runtime.Version())
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/pulumi/pulumi/sdk/v3" {
				fmt.Fprintf(opts.IO.Out, "  pulumi sdk %s\n", dep.Version)
			}
		}
	}
	return nil
}
