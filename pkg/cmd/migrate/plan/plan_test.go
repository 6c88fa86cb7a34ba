package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/sourcetarget"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/pricing"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
	"github.com/cosocial/cosocial/pkg/stack"
)

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"--sandbox", "--markdown", "--width", "8", "--source-name", "bucket.media=cosocial-files"}, true},
		{[]string{"--json", "--markdown"}, false},
		{[]string{"--width", "0"}, false},
		{[]string{"--source-name", "bucket.media"}, false},
	} {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		cmd := NewCmdPlan(&factory.Factory{IOStreams: ios}, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetErr(ios.ErrOut)
		_, err := cmd.ExecuteC()
		var fe *exit.FlagError
		if tc.ok && (err != nil || got.Width != 8 || !got.Sandbox || !got.Markdown || got.SourceNames[0] != "bucket.media=cosocial-files") {
			t.Errorf("%v: %+v %v", tc.args, got, err)
		}
		if !tc.ok && !errors.As(err, &fe) {
			t.Errorf("%v: want a flag error, got %v", tc.args, err)
		}
	}
}

// TestPlanRehearsal plans CoSocial's move on the sandbox, with no engine:
// the source is seeded, inventoried, probed and judged.
func TestPlanRehearsal(t *testing.T) {
	var sb *sandbox.Sandbox
	ios, _, out, errOut := iostreams.Test()
	opts := &Options{Deps: sourcetarget.Deps{
		Deps: preflight.Deps{
			IO: ios, Load: func() *config.Result { return config.Load("../../../../stacks/cosocial") }, Catalog: catalog.Default,
			Now: func() time.Time { return time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC) },
			OpenStack: func(context.Context, *model.Description, bool) (*factory.OpenedStack, error) {
				return nil, stack.ErrNoEngine
			},
		},
		StartSandbox: func(context.Context, *model.Description) (*sandbox.Sandbox, error) {
			sb = sandboxtest.Start(t, sandbox.Options{})
			return sb, nil
		},
		Getenv:   func(string) string { return "" },
		StackDir: func(bool) string { return t.TempDir() },
	}, Flags: sourcetarget.Flags{Sandbox: true}, JSON: true, Width: 8}
	err := planRun(opts)
	if !errors.Is(err, exit.ErrSilent) {
		t.Fatalf("an hour's TTL should block: %v\n%s", err, errOut)
	}
	var got struct {
		Plan struct {
			Pairs    []string
			Blockers []string
			Warnings []string
			Steps    []struct {
				Name    string
				Objects int64
			}
		}
		Source struct {
			Buckets map[string]struct{ Objects int64 }
		}
		Money pricing.Migration
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Join(got.Plan.Pairs, " ") != "server.web database.main bucket.media" || got.Source.Buckets["media"].Objects != 300 {
		t.Errorf("plan %+v", got)
	}
	if len(got.Plan.Blockers) != 3 || !strings.Contains(strings.Join(got.Plan.Warnings, " "), "the Pulumi engine") {
		t.Errorf("blockers %q warnings %q", got.Plan.Blockers, got.Plan.Warnings)
	}
	// The money, from the simulators: DigitalOcean's sizes (the catalog's
	// US$96 droplet, US$120 database node) at Valet's 1.4000, and the
	// OVHcloud catalog's invented prices for the target's databases
	// (db1-15: 1.5 × (0.6¢ × 4 + 0.35¢ × 15) an hour, 90 % of 730 h, two
	// nodes: 150.78; db1-4: 25.62); VEXXHOST's are unknown.
	rows := map[string]string{}
	for name, side := range map[string]*pricing.Estimate{"source": got.Money.Source, "target": got.Money.Target} {
		if side == nil {
			t.Fatalf("no money in the plan: %s", out)
		}
		for _, r := range side.Rows {
			if r.Monthly != nil {
				rows[name+" "+r.Address] = r.Monthly.CAD()
			}
		}
	}
	for row, want := range map[string]string{"source server.web": "CA$134.40", "source database.main": "CA$168.00", "target database.main": "CA$150.78", "target database.podcasts": "CA$25.62"} {
		if rows[row] != want {
			t.Errorf("%s: %s, want %s (rows %v)", row, rows[row], want, rows)
		}
	}
	if got.Money.Comparable || got.Money.Target.Total.CAD() != "CA$176.40" || got.Money.Source.Rate == nil || got.Money.Source.Rate.Value != 1.4 {
		t.Errorf("money: comparable %v, target %s, rate %+v", got.Money.Comparable, got.Money.Target.Total.CAD(), got.Money.Source.Rate)
	}
	// The rehearsal's secrets stay in the process.
	for _, secret := range []string{sb.DOToken} {
		if bytes.Contains(out.Bytes(), []byte(secret)) || strings.Contains(errOut.String(), secret) {
			t.Error("the sandbox's DigitalOcean token was printed")
		}
	}
	if strings.Contains(out.String()+errOut.String(), "password") || strings.Contains(out.String(), "postgres://") {
		t.Errorf("a connection string was printed:\n%s", out)
	}
}
