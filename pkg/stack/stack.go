// Package stack runs a description through the Pulumi engine: the inline
// program, the workspace (state folder, engine home, plugin link, secrets
// passphrase), and the engine's events turned into a plan a person can
// read. The engine runs the provider plugin from this same binary, linked
// as pulumi-resource-cosocial; it never downloads a plugin.
package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/opthistory"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/providerplugin"
)

// Options say which description and stack to run, and how.
type Options struct {
	Description *model.Description
	Stack       string
	// Dir is the stack folder: the state, the engine's home, the plugin
	// link and the work folder live under it.
	Dir        string
	Passphrase string
	Engine     auto.PulumiCommand
	// PluginBinary serves pulumi-resource-cosocial; this program when
	// empty.
	PluginBinary string
	// Env is passed to the engine and so to the plugin: provider
	// credentials, the sandbox's among them.
	Env     map[string]string
	Program ProgramOptions
	// Backend is where the state is kept; the stack folder when empty.
	Backend Backend
	// Say hears what the stack does on its own account, such as settling
	// what a killed run left pending.
	Say func(string)
}

// Stack is an opened stack.
type Stack struct {
	auto  auto.Stack
	opts  Options
	env   map[string]string
	work  string
	label string
}

// ErrNoPassphrase means the secrets of a stack cannot be encrypted.
var ErrNoPassphrase = errors.New("set COSOCIAL_PASSPHRASE: it encrypts the stack's secrets (database passwords, S3 keys) in its state. Keep it in the co-op's password manager; without it the state's secrets cannot be read")

// Open creates or opens the stack. Nothing is sent to a provider.
func Open(ctx context.Context, opts Options) (*Stack, error) {
	if err := ValidName(opts.Stack); err != nil {
		return nil, err
	}
	if opts.Passphrase == "" {
		return nil, ErrNoPassphrase
	}
	if opts.Engine == nil {
		return nil, ErrNoEngine
	}
	stateDir := filepath.Join(opts.Dir, "state")
	home := filepath.Join(opts.Dir, "engine")
	plugins := filepath.Join(opts.Dir, "plugins")
	work := filepath.Join(opts.Dir, "work", opts.Stack)
	for _, d := range []string{stateDir, home, plugins, work} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if err := linkPlugin(plugins, opts.PluginBinary); err != nil {
		return nil, err
	}
	backend := opts.Backend
	if backend.URL == "" {
		backend = Backend{URL: "file://" + stateDir, Name: "local"}
	}
	env := map[string]string{
		"PULUMI_BACKEND_URL":                          backend.URL,
		"PULUMI_CONFIG_PASSPHRASE":                    opts.Passphrase,
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	for k, v := range backend.Env {
		env[k] = v
	}
	project := workspace.Project{
		Name:    tokens.PackageName(ProjectName(opts.Description)),
		Runtime: workspace.NewProjectRuntimeInfo("go", nil),
		Plugins: &workspace.Plugins{Providers: []workspace.PluginOptions{{Name: providerplugin.Name, Path: plugins, Version: providerplugin.Version.String()}}},
	}
	if err := clearStaleLocks(backend.URL, string(project.Name), opts.Stack, opts.Say); err != nil {
		return nil, err
	}
	st, err := auto.UpsertStackInlineSource(ctx, opts.Stack, string(project.Name), Program(opts.Description, opts.Program),
		auto.WorkDir(work), auto.PulumiHome(home), auto.Project(project), auto.EnvVars(env),
		auto.SecretsProvider("passphrase"), auto.Pulumi(opts.Engine))
	if err != nil {
		return nil, engineError("opening the stack", err)
	}
	return &Stack{auto: st, opts: opts, env: env, work: work, label: opts.Stack}, nil
}

// ProjectName is the Pulumi project of a description: one per co-op.
func ProjectName(d *model.Description) string { return "cosocial-" + d.Coop.ID }

// linkPlugin makes plugins/pulumi-resource-cosocial point at the binary
// that serves the plugin, so the engine starts this program under that
// name.
func linkPlugin(dir, binary string) error {
	if binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		binary = exe
	}
	if abs, err := filepath.Abs(binary); err == nil {
		binary = abs
	}
	link := filepath.Join(dir, "pulumi-resource-"+providerplugin.Name)
	if target, err := os.Readlink(link); err == nil && target == binary {
		return nil
	}
	os.Remove(link)
	return os.Symlink(binary, link)
}

// mode says what kind of operation a plan is collected from.
type mode struct{ refresh, apply bool }

var (
	previewing = mode{}
	applying   = mode{apply: true}
	refreshing = mode{refresh: true, apply: true}
	drifting   = mode{refresh: true}
)

// Events receives the engine's events as they happen (progress).
type Events func(events.EngineEvent)

// collect runs an operation with an event channel, feeding a plan and the
// caller's callback, and returns once every event has been read. When an
// operation fails, the Automation API may return without closing the
// channel: then the events already sent are all there will be.
func collect(mode mode, onEvent Events, run func(ch chan<- events.EngineEvent) error) (*Plan, error) {
	ch := make(chan events.EngineEvent)
	plan := newPlan()
	plan.refresh, plan.applying = mode.refresh, mode.apply
	done := make(chan struct{})
	go func() {
		for e := range ch {
			plan.mu.Lock()
			plan.add(e)
			plan.mu.Unlock()
			if onEvent != nil {
				onEvent(e)
			}
		}
		close(done)
	}()
	err := run(ch)
	select {
	case <-done:
	case <-time.After(eventGrace(err)):
	}
	plan.mu.Lock()
	defer plan.mu.Unlock()
	plan.finish()
	return plan, err
}

// eventGrace is how long to wait for the last events after the engine
// has returned.
func eventGrace(err error) time.Duration {
	if err != nil {
		return 2 * time.Second
	}
	return time.Minute
}

// Preview is `pulumi preview`: what up would do. A state that lost its
// resources is refused first (CheckNotLost).
func (s *Stack) Preview(ctx context.Context, onEvent Events) (*Plan, error) {
	if err := s.CheckNotLost(ctx); err != nil {
		return newPlan(), err
	}
	if n, err := s.Unsettled(ctx); err == nil && n > 0 {
		s.say(fmt.Sprintf("A run on this stack was stopped before it finished: %d operation(s) are unsettled. up settles them first (what they left at the providers is taken back, not made twice).", n))
	}
	plan, err := collect(previewing, onEvent, func(ch chan<- events.EngineEvent) error {
		_, err := s.auto.Preview(ctx, optpreview.EventStreams(ch))
		return err
	})
	return plan, s.failure("preview", plan, err)
}

// Up applies the program.
func (s *Stack) Up(ctx context.Context, onEvent Events) (*Plan, error) {
	if err := s.Settle(ctx, onEvent); err != nil {
		return newPlan(), err
	}
	plan, err := collect(applying, onEvent, func(ch chan<- events.EngineEvent) error {
		_, err := s.auto.Up(ctx, optup.EventStreams(ch))
		return err
	})
	return plan, s.failure("up", plan, err)
}

// AdoptSecrets records the source's secrets as the service's own, at a
// migration's cutover: an update of that service's secrets resource
// alone, with the secrets handed to the program in memory (never in a
// file or the stack's config), kept encrypted in the state.
func (s *Stack) AdoptSecrets(ctx context.Context, service string, secrets map[string]string, onEvent Events) error {
	if err := s.Settle(ctx, onEvent); err != nil {
		return err
	}
	opts := s.opts.Program
	opts.AdoptSecrets = map[string]map[string]string{service: secrets}
	ws := s.auto.Workspace()
	ws.SetProgram(Program(s.opts.Description, opts))
	defer ws.SetProgram(Program(s.opts.Description, s.opts.Program))
	urn := resource.NewURN(tokens.QName(s.label), tokens.PackageName(ProjectName(s.opts.Description)), "", tokens.Type(providerplugin.SecretsToken), service+".secrets")
	plan, err := collect(applying, onEvent, func(ch chan<- events.EngineEvent) error {
		_, err := s.auto.Up(ctx, optup.Target([]string{string(urn)}), optup.EventStreams(ch))
		return err
	})
	return s.failure("up", plan, err)
}

// Refresh reads every resource from its provider and records what it
// finds.
func (s *Stack) Refresh(ctx context.Context, onEvent Events) (*Plan, error) {
	if err := s.Settle(ctx, onEvent); err != nil {
		return newPlan(), err
	}
	plan, err := collect(refreshing, onEvent, func(ch chan<- events.EngineEvent) error {
		_, err := s.auto.Refresh(ctx, optrefresh.EventStreams(ch))
		return err
	})
	return plan, s.failure("refresh", plan, err)
}

// Drift reads every resource and reports what differs from the state,
// changing nothing.
func (s *Stack) Drift(ctx context.Context, onEvent Events) (*Plan, error) {
	plan, err := collect(drifting, onEvent, func(ch chan<- events.EngineEvent) error {
		_, err := s.auto.PreviewRefresh(ctx, optrefresh.EventStreams(ch))
		return err
	})
	return plan, s.failure("drift check", plan, err)
}

// Destroy deletes resources. Without includeData it applies the program
// with only the databases and buckets: servers and records go, the data
// stays (and loses the servers allowed to reach it). With includeData,
// after Unprotect, it deletes everything.
func (s *Stack) Destroy(ctx context.Context, includeData bool, onEvent Events) (*Plan, error) {
	if err := s.Settle(ctx, onEvent); err != nil {
		return newPlan(), err
	}
	if !includeData {
		dataOnly := s.opts.Program
		dataOnly.DataOnly = true
		s.auto.Workspace().SetProgram(Program(s.opts.Description, dataOnly))
		defer s.auto.Workspace().SetProgram(Program(s.opts.Description, s.opts.Program))
		plan, err := collect(applying, onEvent, func(ch chan<- events.EngineEvent) error {
			_, err := s.auto.Up(ctx, optup.EventStreams(ch))
			return err
		})
		return plan, s.failure("destroy", plan, err)
	}
	plan, err := collect(applying, onEvent, func(ch chan<- events.EngineEvent) error {
		_, err := s.auto.Destroy(ctx, optdestroy.EventStreams(ch))
		return err
	})
	return plan, s.failure("destroy", plan, err)
}

// Resources lists the stack's resources from its state.
func (s *Stack) Resources(ctx context.Context) ([]StateResource, error) {
	snap, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]StateResource, 0, len(snap.Resources))
	for _, r := range snap.Resources {
		out = append(out, r.StateResource)
	}
	return out, nil
}

// Unprotect lifts the protection of every resource, the step before
// `destroy --include-data` removes the data-bearing ones.
func (s *Stack) Unprotect(ctx context.Context) error {
	var env []string
	for k, v := range s.env {
		env = append(env, k+"="+v)
	}
	env = append(env, "PULUMI_HOME="+filepath.Join(s.opts.Dir, "engine"))
	_, stderr, code, err := s.opts.Engine.Run(ctx, s.work, nil, nil, nil, env, "state", "unprotect", "--all", "--yes", "--stack", s.opts.Stack, "--non-interactive")
	if err != nil || code != 0 {
		return fmt.Errorf("lifting protection: %s", strings.TrimSpace(stderr))
	}
	return nil
}

// Outputs are the stack's outputs; secret ones are decrypted here, in
// this process, and must never be printed.
func (s *Stack) Outputs(ctx context.Context) (auto.OutputMap, error) {
	out, err := s.auto.Outputs(ctx)
	if err != nil {
		return nil, engineError("reading outputs", err)
	}
	return out, nil
}

// failure words an engine error: the provider's own messages, which the
// engine reports as diagnostics, say more than the CLI's exit status.
func (s *Stack) failure(op string, plan *Plan, err error) error {
	if err == nil {
		return nil
	}
	if len(plan.Errors) > 0 {
		return &OperationError{Op: op, Messages: plan.Errors, Failures: plan.Failures}
	}
	return engineError(op, err)
}

// CheckNotLost refuses to go on with a state that has lost what it
// recorded: one that records nothing at all although the stack's last
// update left resources behind (the file was emptied or replaced). Planning
// against it would make every server, database and bucket a second time
// while the first ones still run. A new stack, or one whose last operation
// was a destroy, passes.
func (s *Stack) CheckNotLost(ctx context.Context) error {
	hist, err := s.auto.History(ctx, 1, 1, opthistory.ShowSecrets(false))
	if err != nil || len(hist) == 0 || hist[0].Kind == "destroy" || hist[0].ResourceChanges == nil {
		return nil
	}
	left := 0
	for kind, n := range *hist[0].ResourceChanges {
		if kind != "delete" && kind != "discard" {
			left += n
		}
	}
	if left == 0 {
		return nil
	}
	res, err := s.Resources(ctx)
	if err != nil || len(res) > 0 {
		return err
	}
	return &EngineFailure{Op: "reading the state", Summary: "The state lost its resources", Detail: fmt.Sprintf(
		"the stack's last %s (%s) left %d resources, and its state now records none: the state was emptied or replaced. "+
			"Nothing was changed; planning now would make everything a second time while the first ones still run at the providers. "+
			"Put back the last good copy of the state (the engine keeps earlier ones under .pulumi/backups in the state's folder or bucket), then run the command again.",
		hist[0].Kind, hist[0].StartTime, left)}
}
