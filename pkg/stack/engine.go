package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// MinEngine is the oldest pulumi CLI the tool is tested with.
var MinEngine = semver.MustParse("3.259.0")

// InstallEngine is the version offered for installation on a machine with
// internet: the one matching the SDK the tool is built on.
var InstallEngine = semver.MustParse("3.263.0")

// ErrNoEngine says the Pulumi CLI is missing, and what to do.
var ErrNoEngine = errors.New(`the Pulumi engine (the pulumi command, version ` + MinEngine.String() + ` or newer) was not found.
cosocial drives it to plan and apply changes. Install it from
https://www.pulumi.com/docs/iac/download-install/ (for example
"curl -fsSL https://get.pulumi.com | sh -s -- --version ` + InstallEngine.String() + `"),
put it on PATH or beside cosocial, and run the command again. Nothing was changed`)

// EngineRoot is where cosocial installs the engine when asked: its own
// folder, so it never touches another installation.
func EngineRoot() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "cosocial-pulumi")
	}
	return filepath.Join(home, ".cosocial", "pulumi", InstallEngine.String())
}

// FindEngine finds the pulumi CLI: on PATH, beside this program, or where
// InstallEngineCommand put it. It checks the version.
func FindEngine() (auto.PulumiCommand, error) {
	opts := &auto.PulumiCommandOptions{Version: MinEngine}
	if _, err := exec.LookPath("pulumi"); err == nil {
		return auto.NewPulumiCommand(opts)
	}
	var roots []string
	if exe, err := os.Executable(); err == nil {
		if dir := filepath.Dir(exe); filepath.Base(dir) == "bin" {
			roots = append(roots, filepath.Dir(dir))
		}
	}
	roots = append(roots, EngineRoot())
	for _, root := range roots {
		if _, err := os.Stat(filepath.Join(root, "bin", "pulumi")); err == nil {
			return auto.NewPulumiCommand(&auto.PulumiCommandOptions{Version: MinEngine, Root: root})
		}
	}
	return nil, ErrNoEngine
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
