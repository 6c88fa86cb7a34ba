package pricing

import (
	"testing"
	"time"
)

// TestMakeDiff prices a plan's steps by hand: a create adds, a delete
// takes off, a resize the difference, a business cluster its two nodes, a
// bucket nothing, and a kind without a list is unknown.
func TestMakeDiff(t *testing.T) {
	l := &List{Kind: "ovh", Currency: "CAD", Fetched: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Monthly: map[string]Amount{
		ServerItem("b3-8"):  3_139_000_000, // 31.39
		ServerItem("b3-16"): 6_278_000_000, // 62.78
		DatabaseNodeItem("postgresql", "business", "db1-15"): 14_000_000_000, // 140.00 a node
	}}
	in := Inputs{Lists: map[string]*List{"ovh": l}, Missing: map[string]string{"openstack": "no price API"}, Now: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)}
	d := MakeDiff([]Step{
		{Address: "server.web", Kind: "ovh", Resource: "server", Action: "update", Before: map[string]string{"flavor": "b3-8"}, After: map[string]string{"flavor": "b3-16"}},
		{Address: "database.main", Kind: "ovh", Resource: "database", Action: "create", After: map[string]string{"engine": "postgresql", "plan": "business", "flavor": "db1-15", "nodes": "2"}},
		{Address: "server.old", Kind: "ovh", Resource: "server", Action: "delete", Before: map[string]string{"flavor": "b3-8"}},
		{Address: "bucket.media", Kind: "ovh", Resource: "bucket", Action: "create", After: map[string]string{}},
		{Address: "server.yul", Kind: "openstack", Resource: "server", Action: "create", After: map[string]string{"flavor": "v3-standard-4"}},
		{Address: "server.odd", Kind: "ovh", Resource: "server", Action: "create", After: map[string]string{"flavor": "z9-1"}},
	}, in, 200)
	want := map[string]string{"server.web": "+CA$31.39", "database.main": "+CA$280.00", "server.old": "-CA$31.39", "bucket.media": "CA$0.00"}
	for addr, w := range want {
		sc, ok := d.Of(addr)
		if !ok || sc.Monthly == nil || sc.Monthly.Signed() != w {
			t.Errorf("%s: %+v, want %s", addr, sc, w)
		}
	}
	if sc, _ := d.Of("server.yul"); sc.Monthly != nil || sc.Note != "no price API" {
		t.Errorf("a kind without a list: %+v", sc)
	}
	if sc, _ := d.Of("server.odd"); sc.Monthly != nil || sc.Note == "" {
		t.Errorf("a flavor the list lacks: %+v", sc)
	}
	// 31.39 + 280.00 - 31.39 = 280.00 a month; × 12 / 200 = 16.80.
	if d.Monthly.Signed() != "+CA$280.00" || d.PerMemberYearly.Signed() != "+CA$16.80" || len(d.Unknown) != 2 {
		t.Errorf("total %s, per member %s, unknown %v", d.Monthly.Signed(), d.PerMemberYearly.Signed(), d.Unknown)
	}
	if len(d.Lists) != 1 || d.Lists[0].AgeDays != 3 {
		t.Errorf("lists %+v", d.Lists)
	}
}
