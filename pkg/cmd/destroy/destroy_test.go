package destroy

import (
	"errors"
	"testing"

	"github.com/google/shlex"
	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/iostreams"
)

func parse(t *testing.T, args string) (*Options, error) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	var got *Options
	cmd := NewCmdDestroy(&factory.Factory{IOStreams: ios}, func(o *Options) error { got = o; return nil })
	a, _ := shlex.Split(args)
	cmd.SetArgs(a)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exit.FlagError{Err: err} })
	_, err := cmd.ExecuteC()
	return got, err
}

func TestDestroyFlags(t *testing.T) {
	got, err := parse(t, "--include-data --confirm northwind.example.ca --sandbox")
	if err != nil || !got.IncludeData || got.Confirm != "northwind.example.ca" || !got.Sandbox || got.Yes {
		t.Fatalf("options = %+v, %v", got, err)
	}
	var flagErr *exit.FlagError
	if _, err := parse(t, "--confirm northwind.example.ca"); !errors.As(err, &flagErr) {
		t.Errorf("--confirm without --include-data: %v", err)
	}
}

// TestDataNeedsTheDomain checks the decision that --yes is not: removing
// data needs the co-op's domain, typed or given with --confirm.
func TestDataNeedsTheDomain(t *testing.T) {
	ios, in, _, _ := iostreams.Test()
	opts := &Options{IncludeData: true}
	opts.IO = ios
	if err := confirmDomain(opts, "northwind.example.ca"); err == nil {
		t.Fatal("no terminal and no --confirm: data removal went ahead")
	}
	opts.Confirm = "other.example.ca"
	if err := confirmDomain(opts, "northwind.example.ca"); err == nil {
		t.Fatal("a wrong --confirm went ahead")
	}
	opts.Confirm = ""
	ios.SetTTY(true, true, true)
	in.WriteString("yes\n")
	if err := confirmDomain(opts, "northwind.example.ca"); !errors.Is(err, exit.ErrCancel) {
		t.Fatalf("typing yes instead of the domain: %v", err)
	}
	in.WriteString("northwind.example.ca\n")
	if err := confirmDomain(opts, "northwind.example.ca"); err != nil {
		t.Fatalf("typing the domain: %v", err)
	}
}
