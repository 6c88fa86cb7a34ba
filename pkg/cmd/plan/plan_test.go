package plan

import (
	"errors"
	"testing"

	"github.com/google/shlex"
	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/iostreams"
)

func TestNewCmdPlanFlags(t *testing.T) {
	for _, tc := range []struct {
		args    string
		want    Options
		flagErr bool
	}{
		{args: "", want: Options{}},
		{args: "--json --detailed-exitcode --sandbox", want: Options{JSON: true, DetailedExitcode: true, Sandbox: true}},
		{args: "--markdown", want: Options{Markdown: true}},
		{args: "--json --markdown", flagErr: true},
		{args: "--yes", flagErr: true},
	} {
		t.Run(tc.args, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &factory.Factory{IOStreams: ios, File: "x.hcl", Stack: "staging"}
			var got *Options
			cmd := NewCmdPlan(f, func(o *Options) error { got = o; return nil })
			args, _ := shlex.Split(tc.args)
			cmd.SetArgs(args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exit.FlagError{Err: err} })
			_, err := cmd.ExecuteC()
			var flagErr *exit.FlagError
			if tc.flagErr {
				if !errors.As(err, &flagErr) {
					t.Fatalf("want a flag error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.JSON != tc.want.JSON || got.Markdown != tc.want.Markdown || got.DetailedExitcode != tc.want.DetailedExitcode || got.Sandbox != tc.want.Sandbox {
				t.Errorf("options = %+v, want %+v", got, tc.want)
			}
			if got.File() != "x.hcl" || got.StackName() != "staging" {
				t.Errorf("the global -f and --stack do not reach the command: %q %q", got.File(), got.StackName())
			}
		})
	}
}
