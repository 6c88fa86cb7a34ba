package sandbox_test

import (
	"testing"

	"github.com/cosocial/cosocial/pkg/provider/providers"
	"github.com/cosocial/cosocial/pkg/sandbox"

	_ "github.com/cosocial/cosocial/pkg/provider/all"
)

// TestEveryKindIsSimulated: each provider kind the tool knows has its
// simulator registered here, so `--sandbox` can rehearse any description;
// a new kind registered without one fails here, naming it.
func TestEveryKindIsSimulated(t *testing.T) {
	kinds := providers.All()
	if len(kinds) == 0 {
		t.Fatal("no provider kind is registered")
	}
	for _, k := range kinds {
		if !sandbox.Simulates(k.Name) {
			t.Errorf("the provider kind %q has no simulator: add pkg/sandbox/sim_%s.go registering one", k.Name, k.Name)
		}
	}
	if sandbox.Simulates("maple") {
		t.Error("a kind nobody registered is simulated")
	}
}
