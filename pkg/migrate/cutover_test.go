package migrate

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/migrate/journal"
)

// TestAMovedServiceWaitsForTheCutover: CoSocial's Mastodon, whose server
// the migration moves, is staged until the journal says the DNS was
// switched; Castopod, on a new server, never is.
func TestAMovedServiceWaitsForTheCutover(t *testing.T) {
	res := config.Load("../../stacks/cosocial/cosocial-target.hcl")
	if res.Diagnostics.HasErrors() {
		t.Fatal(res.Diagnostics)
	}
	desc := res.Description
	stackDir := t.TempDir()
	got := AwaitingCutover(desc, stackDir)
	if len(got) != 1 || !got["service.mastodon.cosocial"] {
		t.Fatalf("before the cutover: %v", got)
	}
	dir := JournalDir(stackDir, desc.Migration)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(filepath.Join(dir, "journal.json"))
	if err != nil {
		t.Fatal(err)
	}
	step := func(name string) journal.Step {
		return journal.Step{Name: name, Do: func(ctx context.Context) (string, error) { return "", nil }}
	}
	if err := j.RunAll(t.Context(), []journal.Step{step("rewrite-env"), step("start-target")}); err != nil {
		t.Fatal(err)
	}
	if got := AwaitingCutover(desc, stackDir); len(got) != 1 {
		t.Errorf("the window half done: %v", got)
	}
	if err := j.RunAll(t.Context(), []journal.Step{step("switch-dns")}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if got := AwaitingCutover(desc, stackDir); got != nil {
		t.Errorf("after the DNS switch: %v", got)
	}
	desc.Migration = nil
	if got := AwaitingCutover(desc, stackDir); got != nil {
		t.Errorf("without a migration: %v", got)
	}
}
