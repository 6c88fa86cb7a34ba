// Package destroy is `cosocial destroy`: removes what the stack created.
// Data-bearing resources (databases, buckets) stay unless --include-data,
// and then only after the co-op's domain is typed; buckets are emptied in
// the open, never silently. The state bucket is never touched.
package destroy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/stack"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are destroy's dependencies and flags.
type Options struct {
	preflight.Deps

	Yes         bool
	IncludeData bool
	Confirm     string
	Sandbox     bool
}

// NewCmdDestroy builds the command; runF replaces the run function in tests.
func NewCmdDestroy(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: preflight.NewDeps(f)}
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Remove what the stack created; data stays unless --include-data",
		Long: `Remove the stack's servers and DNS records. Databases and buckets hold the
members' data, and a DNS zone the stack made (OpenStack's Designate) holds
records it may not all know: they are protected and stay, unless
--include-data is given,
and even then only after the co-op's domain is typed (or given with
--confirm). Buckets that hold objects are emptied first, in the open, with
a count; the state bucket is never touched.`,
		Example: `  cosocial destroy --sandbox
  cosocial destroy --include-data --confirm northwind.example.ca --sandbox`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Confirm != "" && !opts.IncludeData {
				return exit.FlagErrorf("--confirm goes with --include-data")
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return destroyRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "remove the servers and records without asking (never enough for data)")
	cmd.Flags().BoolVar(&opts.IncludeData, "include-data", false, "remove databases and buckets too, with everything in them")
	cmd.Flags().StringVar(&opts.Confirm, "confirm", "", "the co-op's domain, typed in advance, to confirm --include-data without a terminal")
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "destroy the stack on the built-in simulators")
	return cmd
}

// holdsData tells the resources that hold members' data.
func holdsData(r stack.StateResource) bool {
	return r.Protect || strings.HasSuffix(r.Type, ":Database") || strings.HasSuffix(r.Type, ":Bucket")
}

func destroyRun(opts *Options) error {
	ctx := opts.Context()
	checked, opened, err := opts.Start(ctx, opts.Sandbox)
	if err != nil {
		return err
	}
	defer opened.Close()
	desc := checked.Description
	st := opened.Stack
	resources, err := st.Resources(ctx)
	if err != nil {
		return err
	}
	var plain, data []string
	for _, r := range resources {
		if !r.Custom || strings.HasPrefix(r.Type, "pulumi:providers:") {
			continue
		}
		if holdsData(r) {
			data = append(data, r.Address())
		} else {
			plain = append(plain, r.Address())
		}
	}
	out, cs := opts.IO.Out, opts.IO.ColorScheme()
	if len(plain) == 0 && (len(data) == 0 || !opts.IncludeData) {
		fmt.Fprintln(out, "Nothing to destroy.")
		if len(data) > 0 {
			fmt.Fprintf(out, "Kept, because they hold data: %s (--include-data removes them).\n", strings.Join(data, ", "))
		}
		return nil
	}
	fmt.Fprintf(out, "Destroy in %s:\n", opts.Header(opts.Sandbox))
	for _, a := range plain {
		fmt.Fprintf(out, "  %s %s\n", cs.Red("-"), a)
	}
	var toEmpty []objectstore.Bucket
	if opts.IncludeData {
		buckets, err := dataBuckets(ctx, st, data)
		if err != nil {
			return err
		}
		for _, a := range data {
			note := "(all its data)"
			if b, ok := buckets[a]; ok {
				n, size, err := b.Usage(ctx)
				switch {
				case err != nil:
					return fmt.Errorf("counting the objects of %s: %w", a, err)
				case n == 0:
					note = "(empty)"
				default:
					note = fmt.Sprintf("(%d objects, %s: emptied first)", n, objectstore.HumanBytes(size))
					toEmpty = append(toEmpty, b)
				}
			}
			fmt.Fprintf(out, "  %s %s %s\n", cs.Red("-"), a, cs.Red(note))
		}
		fmt.Fprintf(out, "\n%s This deletes the members' data for good: databases with every row, buckets with every object.\n", cs.Bold(cs.Red("!")))
		if err := confirmDomain(opts, desc.Coop.Domain); err != nil {
			return err
		}
	} else {
		if len(data) > 0 {
			fmt.Fprintf(out, "  kept (they hold data; --include-data removes them): %s\n", strings.Join(data, ", "))
		}
		if err := confirmYes(opts); err != nil {
			return err
		}
	}

	progress := views.NewProgress(opts.IO.ErrOut, opts.IO.ErrColorScheme())
	if opts.IncludeData {
		for _, b := range toEmpty {
			fmt.Fprintf(opts.IO.ErrOut, "  emptying bucket %s…\n", b.Name)
			err := b.Empty(ctx, func(n int64) { progress.Status(b.Name, fmt.Sprintf("%d objects deleted", n)) })
			if err != nil {
				return err
			}
		}
		if err := st.Unprotect(ctx); err != nil {
			return err
		}
	}
	if _, err := st.Destroy(ctx, opts.IncludeData, progress.Events()); err != nil {
		return opts.Explain(ctx, checked, err)
	}
	fmt.Fprintf(out, "\n%s Destroyed.\n", cs.Green("✓"))
	return nil
}

// dataBuckets finds how to reach each bucket to be destroyed, from the
// stack's outputs (decrypted here, never printed).
func dataBuckets(ctx context.Context, st *stack.Stack, addrs []string) (map[string]objectstore.Bucket, error) {
	outputs, err := st.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	get := func(k string) string {
		if v, ok := outputs[k]; ok {
			if s, ok := v.Value.(string); ok {
				return s
			}
		}
		return ""
	}
	out := map[string]objectstore.Bucket{}
	for _, a := range addrs {
		if !strings.HasPrefix(a, model.KindBucket+".") {
			continue
		}
		b := objectstore.Bucket{Endpoint: get(a + ".endpoint"), Name: get(a + ".bucket"), AccessKey: get(a + ".accessKey"), SecretKey: get(a + ".secretKey")}
		if b.Name == "" || b.Endpoint == "" {
			return nil, fmt.Errorf("%s: its endpoint and name are not in the stack's outputs; run `cosocial up` or `cosocial refresh` first", a)
		}
		out[a] = b
	}
	return out, nil
}

func confirmYes(opts *Options) error {
	if opts.Yes {
		return nil
	}
	if !opts.IO.CanPrompt() {
		return fmt.Errorf("destroy asks before removing anything; not at a terminal, pass --yes (nothing was changed)")
	}
	fmt.Fprint(opts.IO.Out, "\nRemove these resources? Only 'yes' is accepted: ")
	if readLine(opts.IO.In) != "yes" {
		return exit.ErrCancel
	}
	return nil
}

// confirmDomain asks for the co-op's domain: typing it is a decision,
// which --yes is not.
func confirmDomain(opts *Options, domain string) error {
	if opts.Confirm != "" {
		if opts.Confirm != domain {
			return fmt.Errorf("--confirm %q is not the co-op's domain: nothing was changed", opts.Confirm)
		}
		return nil
	}
	if !opts.IO.CanPrompt() {
		return fmt.Errorf("removing data needs the co-op's domain: type it at a terminal, or pass --confirm %s (nothing was changed)", domain)
	}
	fmt.Fprintf(opts.IO.Out, "To confirm, type the co-op's domain (%s): ", domain)
	if readLine(opts.IO.In) != domain {
		return exit.ErrCancel
	}
	return nil
}

func readLine(r io.Reader) string {
	s, _ := bufio.NewReader(r).ReadString('\n')
	return strings.TrimSpace(s)
}
