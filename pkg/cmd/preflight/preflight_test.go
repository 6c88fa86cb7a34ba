package preflight

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
)

const relay = `  smtp {
    host         = "smtp.test.example.ca"
    user         = "postmaster"
    password_env = "COSOCIAL_TEST_SMTP_PASSWORD"
    from         = "notifications@test.example.ca"
  }
`

// TestAnUnsetRelayPasswordStopsAtItsLine: the deployment would write an
// empty password; the person is told which variable, at which line, and
// nothing reaches a provider.
func TestAnUnsetRelayPasswordStopsAtItsLine(t *testing.T) {
	starter, err := os.ReadFile("../../../stacks/starter/cosocial.hcl")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(starter), "  media    = bucket.media\n}", "  media    = bucket.media\n"+relay+"}", 1)
	line := strings.Count(src[:strings.Index(src, "password_env")], "\n") + 1
	load := func() *config.Result { return config.LoadBytes("cosocial.hcl", []byte(src)) }
	ios, _, _, stderr := iostreams.Test()
	_, err = Run(ios, load, catalog.Default(), time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))
	if !errors.Is(err, exit.ErrSilent) {
		t.Fatalf("Run with the variable unset: %v", err)
	}
	out := stderr.String()
	for _, want := range []string{fmt.Sprintf("on cosocial.hcl line %d", line), "COSOCIAL_TEST_SMTP_PASSWORD", "not set", "Stopped before contacting any provider"} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}

	t.Setenv("COSOCIAL_TEST_SMTP_PASSWORD", "relay pass'word")
	ios, _, _, stderr = iostreams.Test()
	checked, err := Run(ios, load, catalog.Default(), time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))
	if err != nil || checked == nil {
		t.Fatalf("Run with the variable set: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr.String(), "relay pass'word") {
		t.Error("the password is printed")
	}
}
