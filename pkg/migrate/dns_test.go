package migrate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/digitalocean"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
)

// TestTheSwitchMovesAAndAAAARecords: IPv6 clients follow the switch too.
// With an AAAA record and no IPv6 address at the target, the switch
// changes nothing and says what to do; with one, both move, and the undo
// puts both back.
func TestTheSwitchMovesAAndAAAARecords(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{NoBackends: true})
	cloud := sandboxDO(t, sb)
	ctx := context.Background()
	const zone = "dual.example.ca"
	if _, err := cloud.CreateDomain(ctx, zone); err != nil {
		t.Fatal(err)
	}
	for _, r := range []digitalocean.RecordSpec{{Type: "A", Name: "@", Data: "198.51.100.7", TTL: 300}, {Type: "AAAA", Name: "@", Data: "2001:db8::7", TTL: 300}} {
		if _, err := cloud.CreateRecord(ctx, zone, r); err != nil {
			t.Fatal(err)
		}
	}
	held := func() string {
		t.Helper()
		inv, err := cloud.Inventory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range hostRecords([]string{zone}, inv.Domains, "A", "AAAA") {
			out = append(out, f.record.Type+"="+f.record.Data)
		}
		return strings.Join(out, " ")
	}
	before := held()
	sw := &RecordSwitch{Cloud: cloud, Hosts: []string{zone}, SourceIPv4: "198.51.100.7", TargetIPv4: "203.0.113.9", SourceIPv6: "2001:db8::7"}
	if _, err := sw.Switch(ctx); err == nil || !strings.Contains(err.Error(), "AAAA record of dual.example.ca") {
		t.Fatalf("switch with no IPv6 at the target: %v", err)
	}
	if now := held(); now != before {
		t.Fatalf("a refused switch changed records: %s, was %s", now, before)
	}
	sw.TargetIPv6 = "2001:db8:ca::9"
	detail, err := sw.Switch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if now := held(); !strings.Contains(now, "A=203.0.113.9") || !strings.Contains(now, "AAAA=2001:db8:ca::9") || !strings.Contains(detail, "1 AAAA") {
		t.Fatalf("after the switch: %s (%s)", now, detail)
	}
	if err := sw.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if now := held(); now != before {
		t.Fatalf("after the undo: %s, was %s", now, before)
	}
}

// sandboxDO is a client of the sandbox's DigitalOcean, polling and
// retrying at a test's pace.
func sandboxDO(t testing.TB, sb *sandbox.Sandbox) *digitalocean.Cloud {
	t.Helper()
	cloud, err := digitalocean.New(digitalocean.Config{Token: sb.DOToken, Endpoint: sb.DOEndpoint(), Poll: 20 * time.Millisecond,
		Backoff: provider.Backoff{Attempts: 3, Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return cloud
}
