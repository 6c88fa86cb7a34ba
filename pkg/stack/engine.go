package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// EngineVersion is the engine release the tool is built and tested with:
// the pulumi CLI that `make` builds from engine/go.mod, the SDK release in
// go.mod, and the version offered for installation. A test keeps the three
// in step.
var EngineVersion = semver.MustParse("3.276.0")

// MinEngine is the oldest pulumi CLI the tool accepts. It is the release
// of the SDK the tool is built on: an older engine may not speak the
// Automation API's newer options, and nothing older is tested.
var MinEngine = EngineVersion

// InstallEngine is the version offered for installation on a machine with
// internet: the one matching the SDK the tool is built on.
var InstallEngine = EngineVersion

// EngineEnv names the pulumi binary to use, ahead of any other: `make test`
// sets it to the engine it built, so that the tests use the pinned one.
const EngineEnv = "COSOCIAL_PULUMI"

// ErrNoEngine says the Pulumi CLI is missing, and what to do.
var ErrNoEngine = errors.New(`the Pulumi engine (the pulumi command, version ` + MinEngine.String() + ` or newer) was not found.
cosocial drives it to plan and apply changes. Either:
  - from a checkout of cosocial, run "make": it builds the pinned engine once
    into bin/pulumi, beside bin/cosocial, where cosocial finds it; or
  - build it with Go anywhere, inside a module that requires
    github.com/pulumi/pulumi/pkg/v3 v` + InstallEngine.String() + `
    ("go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"), and put it on
    PATH or beside cosocial; or
  - install Pulumi ` + InstallEngine.String() + ` from https://www.pulumi.com/docs/iac/download-install/
    ("curl -fsSL https://get.pulumi.com | sh -s -- --version ` + InstallEngine.String() + `").
Then run the command again. Nothing was changed`)

// EngineRoot is where cosocial installs the engine when asked: its own
// folder, so it never touches another installation.
func EngineRoot() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "cosocial-pulumi")
	}
	return filepath.Join(home, ".cosocial", "pulumi", InstallEngine.String())
}

// FindEngine finds the pulumi CLI, in this order: the one $COSOCIAL_PULUMI
// names; the pinned one `make` built beside this program (bin/pulumi next
// to bin/cosocial); one on PATH; the one InstallEngineCommand put in
// EngineRoot. A candidate older than MinEngine is passed over, and named
// in the error when nothing else is found.
func FindEngine() (auto.PulumiCommand, error) {
	roots, err := engineRoots()
	if err != nil {
		return nil, err
	}
	var tooOld []string
	for _, root := range roots {
		cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Version: MinEngine, Root: root})
		if err == nil {
			return &engineCommand{path: filepath.Join(root, "bin", "pulumi"), version: cmd.Version()}, nil
		}
		tooOld = append(tooOld, fmt.Sprintf("%s: %v", filepath.Join(root, "bin", "pulumi"), err))
	}
	if len(tooOld) > 0 {
		return nil, fmt.Errorf("%w\nPassed over:\n  %s", ErrNoEngine, strings.Join(tooOld, "\n  "))
	}
	return nil, ErrNoEngine
}

// engineRoots lists the folders whose bin/pulumi exists, best first. The
// Automation API takes a root folder, not a binary, so a binary named by
// $COSOCIAL_PULUMI must sit in a folder named bin, as every installation
// of Pulumi does; one that does not is refused by name.
func engineRoots() (roots []string, err error) {
	add := func(bin string) {
		if abs, err := filepath.Abs(bin); err == nil {
			bin = abs
		}
		if info, err := os.Stat(bin); err != nil || info.IsDir() {
			return
		}
		root := filepath.Dir(filepath.Dir(bin))
		if !slices.Contains(roots, root) {
			roots = append(roots, root)
		}
	}
	if bin := os.Getenv(EngineEnv); bin != "" {
		if filepath.Base(filepath.Dir(bin)) != "bin" || filepath.Base(bin) != "pulumi" {
			return nil, fmt.Errorf("$%s=%s: the engine must be a file named pulumi in a folder named bin", EngineEnv, bin)
		}
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("$%s: %w", EngineEnv, err)
		}
		add(bin)
	}
	if exe, err := os.Executable(); err == nil && filepath.Base(filepath.Dir(exe)) == "bin" {
		add(filepath.Join(filepath.Dir(exe), "pulumi"))
	}
	if p, err := exec.LookPath("pulumi"); err == nil && filepath.Base(filepath.Dir(p)) == "bin" {
		add(p)
	}
	add(filepath.Join(EngineRoot(), "bin", "pulumi"))
	return roots, nil
}

// InstallEngineCommand downloads the pinned engine into EngineRoot. It
// needs internet access.
func InstallEngineCommand(ctx context.Context) (auto.PulumiCommand, error) {
	cmd, err := auto.InstallPulumiCommand(ctx, &auto.PulumiCommandOptions{Version: InstallEngine, Root: EngineRoot()})
	if err != nil {
		return nil, fmt.Errorf("installing the Pulumi engine %s: %w", InstallEngine, err)
	}
	return cmd, nil
}

// CancelGrace is how long a cancelled engine operation may take to stop
// cleanly before the engine is killed. The Automation API's own runner
// allows 10 s, and kills the engine while a provider is still taking back
// a half-made resource: the state then holds a pending operation and the
// provider an orphan. A second Ctrl-C, handled in main, is the way out for
// someone who cannot wait.
const CancelGrace = 5 * time.Minute

// engineCommand runs the pulumi CLI as the Automation API's runner does
// (its own process group, so that a terminal's Ctrl-C reaches it once,
// through the cancellation; non-interactive; its folder first on PATH),
// but gives a cancelled operation CancelGrace to finish.
type engineCommand struct {
	path    string
	version semver.Version
}

func (e *engineCommand) Version() semver.Version { return e.version }

func (e *engineCommand) Run(ctx context.Context, workdir string, stdin io.Reader, additionalOutput, additionalErrorOutput []io.Writer, additionalEnv []string, args ...string) (string, string, int, error) {
	if !slices.Contains(args, "--non-interactive") {
		args = append([]string{"--non-interactive"}, args...)
	}
	cmd := exec.CommandContext(ctx, e.path, args...)
	cmd.Dir = workdir
	env := append(os.Environ(), additionalEnv...)
	env = append(env, "PULUMI_AUTOMATION_API=true")
	for i, kv := range env {
		if path, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + filepath.Dir(e.path) + string(os.PathListSeparator) + path
		}
	}
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = io.MultiWriter(append(additionalOutput, &stdout)...)
	cmd.Stderr = io.MultiWriter(append(additionalErrorOutput, &stderr)...)
	cmd.Stdin = stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = CancelGrace
	err := cmd.Run()
	code := -2 // the Automation API's "unknown"
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	}
	return stdout.String(), stderr.String(), code, err
}
