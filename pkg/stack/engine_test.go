package stack_test

import (
	"os"
	"slices"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/cosocial/cosocial/pkg/stack"
)

// TestEngineAndSDKInStep keeps the engine `make` builds (engine/go.mod),
// the SDK the tool is built on (go.mod) and the version the tool asks for
// at one release: a mismatch between the Automation API and the engine is
// the kind of fault no other test names.
func TestEngineAndSDKInStep(t *testing.T) {
	want := "v" + stack.EngineVersion.String()
	if stack.MinEngine.String() != stack.EngineVersion.String() || stack.InstallEngine.String() != stack.EngineVersion.String() {
		t.Errorf("MinEngine %s and InstallEngine %s differ from EngineVersion %s", stack.MinEngine, stack.InstallEngine, stack.EngineVersion)
	}
	tool := requirements(t, "../../go.mod")
	if got := tool.versions["github.com/pulumi/pulumi/sdk/v3"]; got != want {
		t.Errorf("go.mod builds the tool on sdk/v3 %s, the engine is pinned at %s", got, want)
	}
	engine := requirements(t, "../../engine/go.mod")
	for _, path := range []string{"github.com/pulumi/pulumi/pkg/v3", "github.com/pulumi/pulumi/sdk/v3"} {
		if got := engine.versions[path]; got != want {
			t.Errorf("engine/go.mod pins %s at %q, want %s", path, got, want)
		}
	}
	if !slices.Contains(engine.tools, "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi") {
		t.Error("engine/go.mod has no tool line for github.com/pulumi/pulumi/pkg/v3/cmd/pulumi")
	}
}

type module struct {
	versions map[string]string
	tools    []string
}

func requirements(t *testing.T, path string) module {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := module{versions: map[string]string{}}
	for _, r := range f.Require {
		m.versions[r.Mod.Path] = r.Mod.Version
	}
	for _, tl := range f.Tool {
		m.tools = append(m.tools, tl.Path)
	}
	return m
}
