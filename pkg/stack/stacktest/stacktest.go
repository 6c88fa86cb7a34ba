// Package stacktest gives tests the Pulumi engine: the one `make test`
// names, or the pinned one `make` built into the repository's bin folder.
// A test that needs the engine fails without it, saying how to get it; it
// never skips, since the stand-up is the tool's main job.
package stacktest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/cosocial/cosocial/pkg/stack"
)

// Engine finds the engine as the tool does, else the repository's
// bin/pulumi, which $COSOCIAL_PULUMI then names for the rest of the test
// so that the programs the test starts find the same one.
func Engine(t testing.TB) auto.PulumiCommand {
	t.Helper()
	engine, err := stack.FindEngine()
	if errors.Is(err, stack.ErrNoEngine) {
		if bin := repositoryEngine(); bin != "" {
			t.Setenv(stack.EngineEnv, bin)
			engine, err = stack.FindEngine()
		}
	}
	if err != nil {
		t.Fatalf("the engine tests need the Pulumi engine: run `make engine` once (it builds the pinned engine into bin/pulumi), or `make test`.\n%v", err)
	}
	return engine
}

// repositoryEngine is bin/pulumi at the top of the repository holding the
// working folder, where `make engine` puts it, or "".
func repositoryEngine() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "engine", "go.mod")); err == nil {
			bin := filepath.Join(dir, "bin", "pulumi")
			if _, err := os.Stat(bin); err == nil {
				return bin
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
