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
		if err := SandboxClouds(desc, sb, dir, opts.Env); err != nil {
			opened.Close()
			return nil, err
		}
		// The plugin finds the simulator through the environment
		// (COSOCIAL_OVH_ENDPOINT in opts.Env), never through the program:
		// the state keeps the description's endpoint, and a sandbox whose
		// port moved stays usable. Only the state bucket, reached from
		// this process, is pointed at it here.
		backendEndpoints = map[string]string{}
		for _, p := range desc.Providers {
			if p.Kind == model.ProviderOVH {
				backendEndpoints[p.Name] = sb.OVHEndpoint()
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

// SandboxOptions are the sandbox for a description: its OVHcloud projects
// and DNS zones exist there.
func SandboxOptions(desc *model.Description, dir string) sandbox.Options {
	opts := sandbox.Options{Dir: dir}
	if desc == nil {
		return opts
	}
	for _, p := range desc.Providers {
		if p.Kind == model.ProviderOVH && p.Project != "" {
			opts.Projects = append(opts.Projects, p.Project)
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

// SandboxClouds writes, for an OpenStack provider that names a clouds.yaml
// entry, a clouds.yaml with the sandbox's credentials under that name, and
// points the engine at it. It goes in the sandbox's own folder, with the
// simulators' records (mode 0600: it holds a password), never beside the
// stack.
func SandboxClouds(desc *model.Description, sb *sandbox.Sandbox, dir string, env map[string]string) error {
	var cloud, region string
	for _, p := range desc.Providers {
		if p.Kind != model.ProviderOpenStack || p.Cloud == "" {
			continue
		}
		if cloud != "" && p.Cloud != cloud {
			return fmt.Errorf("the sandbox plays one OpenStack cloud; provider.%s names %q and another names %q", p.Name, p.Cloud, cloud)
		}
		cloud, region = p.Cloud, p.Region
	}
	if cloud == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(path, sb.CloudsYAML(cloud, region), 0o600); err != nil {
		return err
	}
	env["OS_CLIENT_CONFIG_FILE"] = path
	return nil
}
