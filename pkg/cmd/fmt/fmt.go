// Package fmtcmd is `cosocial fmt`: rewrites description files in the
// language's canonical layout, or with --check says which would change.
package fmtcmd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/views"
)

// ExitWouldReformat is fmt --check's exit status when a file would change.
const ExitWouldReformat = 3

// Options are fmt's dependencies and flags.
type Options struct {
	IO   *iostreams.IOStreams
	Path func() string

	Check bool
}

// NewCmdFmt builds the command; runF replaces the run function in tests.
func NewCmdFmt(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Path: func() string { return f.File }}
	cmd := &cobra.Command{
		Use:   "fmt",
		Short: "Rewrite the description in canonical layout",
		Long: `Rewrite the description's files in the language's canonical layout:
aligned equals signs, two-space indents, normalised spacing. Comments and
the order of everything are kept. A file with a syntax error is reported
and no file is written.

Exit status: 0 done (or nothing to do), 1 error, 3 with --check when a file
would change.`,
		Example: `  cosocial fmt
  cosocial fmt --check -f stacks/cosocial`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return fmtRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Check, "check", false, "change nothing; exit 3 if a file would be reformatted")
	return cmd
}

func fmtRun(opts *Options) error {
	files, err := descriptionFiles(opts.Path())
	if err != nil {
		return err
	}
	type change struct {
		name string
		mode os.FileMode
		out  []byte
	}
	var changes []change
	var diags hcl.Diagnostics
	parsed := map[string]*hcl.File{}
	for _, name := range files {
		info, err := os.Stat(name)
		if err != nil {
			return err
		}
		src, d := config.ReadSource(name)
		if d.HasErrors() {
			// Nothing of a file refused unread is shown back.
			diags = append(diags, d...)
			continue
		}
		out, d := config.Format(name, src)
		if d.HasErrors() {
			diags = append(diags, d...)
			parsed[name] = &hcl.File{Bytes: src}
			continue
		}
		if !bytes.Equal(out, src) {
			changes = append(changes, change{name, info.Mode().Perm(), out})
		}
	}
	if diags.HasErrors() {
		views.Diagnostics(opts.IO.ErrOut, diags, parsed, opts.IO.ErrColorScheme())
		fmt.Fprintln(opts.IO.ErrOut, "No file was changed.")
		return exit.ErrSilent
	}
	for _, c := range changes {
		fmt.Fprintln(opts.IO.Out, c.name)
	}
	if opts.Check {
		if len(changes) > 0 {
			return exit.Code(ExitWouldReformat)
		}
		return nil
	}
	for _, c := range changes {
		if err := writeAtomically(c.name, c.out, c.mode); err != nil {
			return err
		}
	}
	return nil
}

// descriptionFiles lists what -f names: one file, or a folder's .hcl files.
func descriptionFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("there is no file or folder at %s", path)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	matches, err := filepath.Glob(filepath.Join(path, "*.hcl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(matches)
	return matches, nil
}

// writeAtomically replaces a file through a temporary sibling, so that an
// interrupted fmt never leaves half a description behind.
func writeAtomically(name string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
