// Package preflight is what every command that reaches a provider does
// first: load the description and judge it. With a language or domain
// error, or a residency violation under on_violation = "error", it stops
// the command before a single provider request is sent.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/stack"
	"github.com/cosocial/cosocial/pkg/views"
	"github.com/hashicorp/hcl/v2"
)

// Checked is a description that may go ahead.
type Checked struct {
	Description *model.Description
	Judged      *policy.Result
	Files       map[string]*hcl.File // the sources, to show lines from
}

// Run loads and judges; it prints the diagnostics (warnings too) to
// stderr, and returns exit.ErrSilent when the command must stop.
func Run(io *iostreams.IOStreams, load func() *config.Result, cat *catalog.Catalog, now time.Time) (*Checked, error) {
	res := load()
	diags := res.Diagnostics
	var judged *policy.Result
	if !diags.HasErrors() {
		judged = policy.Check(res.Description, cat, now)
		diags = append(diags, judged.Diagnostics...)
		diags = append(diags, unsetSecrets(res.Description, os.LookupEnv)...)
		config.SortDiagnostics(diags, res.Description.Files)
	}
	views.Diagnostics(io.ErrOut, diags, res.Files, io.ErrColorScheme())
	if diags.HasErrors() {
		cs := io.ErrColorScheme()
		fmt.Fprintf(io.ErrOut, "%s Stopped before contacting any provider: nothing was changed.\n", cs.Red("✗"))
		return nil, exit.ErrSilent
	}
	return &Checked{Description: res.Description, Judged: judged, Files: res.Files}, nil
}

// unsetSecrets are the environment variables the description names for a
// secret (a mail relay's password) that this shell does not set: the
// deployment would otherwise write an empty password.
func unsetSecrets(desc *model.Description, lookup func(string) (string, bool)) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, s := range desc.Services {
		if s.SMTP == nil || s.SMTP.PasswordEnv == "" {
			continue
		}
		if _, ok := lookup(s.SMTP.PasswordEnv); !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: "The mail relay's password is not set",
				Detail: fmt.Sprintf("%s sends mail through %s as %q, with the password in the environment variable %s, which this shell does not set. Set it (export %s=…); the description never holds the password, and the state keeps it encrypted.",
					s.Addr(), s.SMTP.Host, s.SMTP.User, s.SMTP.PasswordEnv, s.SMTP.PasswordEnv),
				Subject: s.SMTP.Src.Attr("password_env")})
		}
	}
	return diags
}

// Deps are what every command that drives the engine depends on; each
// command's Options embeds them.
type Deps struct {
	IO        *iostreams.IOStreams
	Load      func() *config.Result
	Catalog   func() *catalog.Catalog
	Now       func() time.Time
	OpenStack func(ctx context.Context, desc *model.Description, sandbox bool) (*factory.OpenedStack, error)
	File      func() string
	StackName func() string
	// Ctx is the command's context: Ctrl-C cancels it.
	Ctx context.Context
}

// Context is the command's context, or a background one in tests.
func (d Deps) Context() context.Context {
	if d.Ctx == nil {
		return context.Background()
	}
	return d.Ctx
}

// NewDeps takes the engine commands' dependencies from the factory.
func NewDeps(f *factory.Factory) Deps {
	return Deps{IO: f.IOStreams, Load: f.Description, Catalog: f.Catalog, Now: f.Now, OpenStack: f.OpenStack,
		File: func() string { return f.File }, StackName: func() string { return f.Stack }}
}

// Start judges the description and, when it may go ahead, opens its stack
// (on the sandbox when asked). The caller closes what it returns.
func (d Deps) Start(ctx context.Context, sandbox bool) (*Checked, *factory.OpenedStack, error) {
	checked, err := Run(d.IO, d.Load, d.Catalog(), d.Now())
	if err != nil {
		return nil, nil, err
	}
	opened, err := d.OpenStack(ctx, checked.Description, sandbox)
	if err != nil {
		return nil, nil, err
	}
	return checked, opened, nil
}

// Header names the stack a command works on, for its output.
func (d Deps) Header(sandbox bool) views.PlanHeader {
	return views.PlanHeader{Description: d.File(), Stack: d.StackName(), Sandbox: sandbox}
}

// Explain renders what pkg/stack made of a failed operation (the
// refusals at the lines of the description they are about, the rest as it
// was said) and returns what the command returns then. Other errors come
// back unchanged. When ctx was cancelled (an interrupt), it names what is
// unfinished and returns the cancellation.
func (d Deps) Explain(ctx context.Context, checked *Checked, err error) error {
	var op *stack.OperationError
	if ctx.Err() != nil && err != nil {
		if errors.As(err, &op) {
			if msg := op.Unfinished(); msg != "" {
				fmt.Fprintln(d.IO.ErrOut, msg)
			}
		}
		return context.Canceled
	}
	if checked == nil || !errors.As(err, &op) {
		return err
	}
	diags, rest := op.Diagnostics(checked.Description)
	if len(diags) == 0 {
		return err
	}
	views.Diagnostics(d.IO.ErrOut, diags, checked.Files, d.IO.ErrColorScheme())
	for _, m := range rest {
		fmt.Fprintf(d.IO.ErrOut, "%s: %s\n", op.Op, m)
	}
	return exit.ErrSilent
}
