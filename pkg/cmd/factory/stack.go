package factory

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/cosocial/cosocial/pkg/migrate"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/provider/providers"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/stack"
)

// SandboxPassphrase encrypts a sandbox stack's secrets when
// COSOCIAL_PASSPHRASE is not set: a rehearsal's throwaway credentials.
const SandboxPassphrase = "cosocial-sandbox"

// OpenedStack is a stack ready for an engine operation, with the sandbox
// behind it when one was asked for.
type OpenedStack struct {
	Stack   *stack.Stack
	Sandbox *sandbox.Sandbox
	Dir     string
}

// Close stops the sandbox, if any.
func (o *OpenedStack) Close() error {
	if o.Sandbox != nil {
		return o.Sandbox.Close()
	}
	return nil
}

// StackDir is the stack folder of a description: .cosocial beside it
// (sandbox stacks in .cosocial/sandbox, apart from real ones).
func (f *Factory) StackDir(useSandbox bool) string {
	base := f.File
	if info, err := os.Stat(base); err != nil || !info.IsDir() {
		base = filepath.Dir(base)
	}
	if abs, err := filepath.Abs(base); err == nil {
		base = abs // the engine runs in its own folder: paths must not be relative
	}
	dir := filepath.Join(base, ".cosocial")
	if useSandbox {
		dir = filepath.Join(dir, "sandbox")
	}
	return dir
}

// openStack finds the engine, starts the sandbox when asked, and opens the
// stack.
func (f *Factory) openStack(ctx context.Context, desc *model.Description, useSandbox bool) (*OpenedStack, error) {
	engine, err := f.Engine(ctx)
	if err != nil {
		return nil, err
	}
	opened := &OpenedStack{Dir: f.StackDir(useSandbox)}
	opts := stack.Options{
		Description: desc, Stack: f.Stack, Dir: opened.Dir, Engine: engine,
		Passphrase: os.Getenv("COSOCIAL_PASSPHRASE"),
		Say:        func(msg string) { fmt.Fprintln(f.IOStreams.ErrOut, msg) },
	}
	// A service moved by the description's migration starts at the
	// cutover, not before: it would write into the database being copied.
	opts.Program.AwaitingCutover = migrate.AwaitingCutover(desc, opened.Dir)
	var backendEndpoints map[string]string
	if useSandbox {
		sb, err := f.StartSandbox(ctx, desc, nil)
		if err != nil {
			return nil, fmt.Errorf("starting the sandbox: %w", err)
		}
		dir := sb.Dir()
		opened.Sandbox = sb
		if opts.Passphrase == "" {
			opts.Passphrase = SandboxPassphrase
		}
		// No public CA reaches the sandbox's servers: their Caddy makes
		// its own certificates.
		opts.Program.InternalTLS = true
		opts.Env = sb.Env()
		if err := PrepareSandbox(desc, dir, opts.Env); err != nil {
			opened.Close()
			return nil, err
		}
		// The plugin finds the simulator through the environment (the
		// kind's EndpointEnv in opts.Env), never through the program: the
		// state keeps the description's endpoint, and a sandbox whose
		// port moved stays usable. Only the state bucket, reached from
		// this process, is pointed at it here.
		backendEndpoints = map[string]string{}
		for _, p := range desc.Providers {
			if k, ok := providers.Lookup(p.Kind); ok && k.Sandbox.EndpointEnv != "" {
				backendEndpoints[p.Name] = opts.Env[k.Sandbox.EndpointEnv]
			}
		}
	}
	backend, err := stack.ResolveBackend(ctx, desc, opened.Dir, stack.BackendOptions{
		Endpoints: backendEndpoints, Env: opts.Env,
		Progress: func(msg string) { fmt.Fprintf(f.IOStreams.ErrOut, "  %s\n", msg) },
	})
	if err != nil {
		opened.Close()
		return nil, err
	}
	opts.Backend = backend
	st, err := stack.Open(ctx, opts)
	if err != nil {
		opened.Close()
		return nil, err
	}
	opened.Stack = st
	return opened, nil
}

// StartSandbox starts the description's sandbox (desc may be nil): its
// folder, its OVHcloud projects and DNS zones, waiting, with a word on
// stderr, while another process holds it. Every command that needs the
// sandbox starts it here; adjust changes the options first (cosocial
// sandbox's folder and faults). The caller closes it.
func (f *Factory) StartSandbox(ctx context.Context, desc *model.Description, adjust func(*sandbox.Options)) (*sandbox.Sandbox, error) {
	dir, err := sandbox.DefaultDir(f.File)
	if err != nil {
		return nil, err
	}
	opts := SandboxOptions(desc, dir)
	opts.Waiting = SandboxWaiting(f.IOStreams.ErrOut)
	if adjust != nil {
		adjust(&opts)
	}
	return sandbox.Start(ctx, opts)
}

// SandboxWaiting tells the person, on w, why a command does not start
// yet: the description's sandbox is in use by another process.
func SandboxWaiting(w io.Writer) func(holder string) {
	return func(holder string) {
		if holder == "" {
			holder = "another process"
		}
		fmt.Fprintf(w, "The sandbox of this description is in use by %s: waiting for it to finish (Ctrl-C to stop waiting)…\n", holder)
	}
}

// SandboxOptions are the sandbox for a description: the projects its
// providers' kinds ask for, and its DNS zones, exist there.
func SandboxOptions(desc *model.Description, dir string) sandbox.Options {
	opts := sandbox.Options{Dir: dir}
	if desc == nil {
		return opts
	}
	for _, p := range desc.Providers {
		if k, ok := providers.Lookup(p.Kind); ok && k.Sandbox.Projects != nil {
			opts.Projects = append(opts.Projects, k.Sandbox.Projects(p)...)
		}
	}
	for _, z := range desc.DNS {
		opts.Zones = append(opts.Zones, z.Zone)
	}
	return opts
}

// findEngine finds the Pulumi CLI, offering to install it when it is
// missing and someone is at the terminal to say yes.
func (f *Factory) findEngine(ctx context.Context) (auto.PulumiCommand, error) {
	engine, err := stack.FindEngine()
	if !errors.Is(err, stack.ErrNoEngine) || !f.IOStreams.CanPrompt() {
		return engine, err
	}
	fmt.Fprintf(f.IOStreams.ErrOut, "The Pulumi engine (the pulumi command) is not installed.\nInstall Pulumi %s into %s now? It needs internet access. [y/N] ", stack.InstallEngine, stack.EngineRoot())
	answer, _ := bufio.NewReader(f.IOStreams.In).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return nil, stack.ErrNoEngine
	}
	engine, ierr := stack.InstallEngineCommand(ctx)
	if ierr != nil {
		return nil, fmt.Errorf("%w\n\n%v", stack.ErrNoEngine, ierr)
	}
	return engine, nil
}

// PrepareSandbox lets each provider kind of the description write what
// its own clients read (OpenStack's clouds.yaml) into the sandbox's folder
// dir, from the sandbox's environment env, which it completes.
func PrepareSandbox(desc *model.Description, dir string, env map[string]string) error {
	for _, k := range providers.All() {
		if k.Sandbox.Prepare == nil {
			continue
		}
		if err := k.Sandbox.Prepare(desc.Providers, dir, env); err != nil {
			return err
		}
	}
	return nil
}
