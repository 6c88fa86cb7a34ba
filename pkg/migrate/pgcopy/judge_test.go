package pgcopy

import (
	"slices"
	"strings"
	"testing"
)

// healthy is a pair that can migrate either way: DigitalOcean's 15 to
// OVHcloud's 16, pg_dump 16, room for replication.
func healthy() Facts {
	srv := func(major int, user string) Server {
		return Server{Version: Version{Major: major}, User: user, Database: "mastodon_production",
			Replication: true, Encoding: "UTF8", Collate: "en_US.UTF-8", Ctype: "en_US.UTF-8", WalLevel: "logical",
			MaxReplicationSlots: 10, ReplicationSlots: 1, MaxWalSenders: 10, WalSenders: 1, MaxLogicalWorkers: 4,
			DatabaseBytes: 60 << 30}
	}
	f := Facts{Source: srv(15, "doadmin"), Target: srv(16, "avnadmin"), PgDump: Version{Major: 16}}
	f.Target.CanSubscribe = true
	f.Extensions = []Extension{{Name: "plpgsql", Version: "1.0", Available: true, TargetVersion: "1.0"}}
	f.Roles = []Role{{Name: "doadmin", OwnsObjects: true, AtTarget: false}}
	f.LargestTables = []TableSize{{Table: "public.statuses", Bytes: 30 << 30}}
	return f
}

func checks(fs []Finding, sev Severity) []string {
	var out []string
	for _, f := range fs {
		if f.Severity == sev {
			out = append(out, f.Check)
		}
	}
	slices.Sort(out)
	return out
}

func TestJudgeHealthyPair(t *testing.T) {
	for _, mode := range []Mode{DumpRestore, LowDowntime} {
		fs := Judge(healthy(), mode)
		if b, w := checks(fs, Blocking), checks(fs, Warning); len(b)+len(w) != 0 {
			t.Errorf("%v: a healthy pair gets blockers %v and warnings %v", mode, b, w)
		}
		if i := checks(fs, Info); !slices.Equal(i, []string{"role", "size"}) {
			t.Errorf("%v: info = %v, want the owner role and the size", mode, i)
		}
	}
}

func TestJudgeRules(t *testing.T) {
	tests := []struct {
		name     string
		mode     Mode
		change   func(*Facts)
		blocking []string
		warning  []string
	}{
		{"older target", DumpRestore, func(f *Facts) { f.Target.Version.Major = 14 }, []string{"version"}, nil},
		{"old pg_dump", DumpRestore, func(f *Facts) { f.PgDump.Major = 14 }, []string{"pg_dump"}, nil},
		{"pg_dump older than target", DumpRestore, func(f *Facts) { f.PgDump.Major = 15 }, nil, []string{"pg_dump"}},
		{"extension missing at target", DumpRestore, func(f *Facts) {
			f.Extensions = append(f.Extensions, Extension{Name: "pg_hint_plan", Version: "1.5"})
		}, []string{"extension"}, nil},
		{"encoding", DumpRestore, func(f *Facts) { f.Target.Encoding = "SQL_ASCII" }, []string{"encoding"}, nil},
		{"collation", DumpRestore, func(f *Facts) { f.Target.Collate = "C.UTF-8" }, nil, []string{"collation"}},
		{"grantee missing", DumpRestore, func(f *Facts) {
			f.Roles = append(f.Roles, Role{Name: "metabase", HoldsGrants: true})
		}, nil, []string{"role"}},
		{"grantee missing, privileges kept", DumpRestore, func(f *Facts) {
			f.KeepPrivileges = true
			f.Roles = append(f.Roles, Role{Name: "metabase", HoldsGrants: true})
		}, []string{"role"}, nil},
		{"target not empty", DumpRestore, func(f *Facts) { f.Target.Tables = 3 }, []string{"target_not_empty"}, nil},
		{"target not empty, resuming replication", LowDowntime, func(f *Facts) { f.Target.Tables = 3 }, nil, []string{"target_not_empty"}},
		{"replication facts ignored for dump-restore", DumpRestore, func(f *Facts) {
			f.Source.WalLevel = "replica"
			f.Source.Replication = false
			f.TablesWithoutKey = []string{"public.x"}
		}, nil, nil},
		{"wal_level", LowDowntime, func(f *Facts) { f.Source.WalLevel = "replica" }, []string{"wal_level"}, nil},
		{"no replication privilege", LowDowntime, func(f *Facts) { f.Source.Replication = false }, []string{"replication_privilege"}, nil},
		{"superuser may replicate", LowDowntime, func(f *Facts) { f.Source.Replication, f.Source.Superuser = false, true }, nil, nil},
		{"tables without key", LowDowntime, func(f *Facts) { f.TablesWithoutKey = []string{"public.a", "public.b"} },
			[]string{"replica_identity", "replica_identity"}, nil},
		{"table owned by someone else", LowDowntime, func(f *Facts) { f.TablesNotOwned = []string{"public.x"} }, []string{"publication_privilege"}, nil},
		{"cannot subscribe", LowDowntime, func(f *Facts) { f.Target.CanSubscribe = false }, []string{"subscription_privilege"}, nil},
		{"slots full", LowDowntime, func(f *Facts) { f.Source.ReplicationSlots = 10 }, []string{"replication_slots"}, nil},
		{"slots tight", LowDowntime, func(f *Facts) { f.Source.ReplicationSlots = 8 }, nil, []string{"replication_slots"}},
		{"wal senders full", LowDowntime, func(f *Facts) { f.Source.MaxWalSenders = 1 }, []string{"wal_senders"}, nil},
		{"unlogged", LowDowntime, func(f *Facts) { f.UnloggedTables = []string{"public.cache"} }, nil, []string{"unlogged"}},
		{"large objects", LowDowntime, func(f *Facts) { f.LargeObjects = 2 }, []string{"large_objects"}, nil},
		{"no apply workers", LowDowntime, func(f *Facts) { f.Target.MaxLogicalWorkers = 0 }, []string{"replication_workers"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := healthy()
			tt.change(&f)
			fs := Judge(f, tt.mode)
			if got := checks(fs, Blocking); !slices.Equal(got, tt.blocking) {
				t.Errorf("blocking = %v, want %v", got, tt.blocking)
			}
			if got := checks(fs, Warning); !slices.Equal(got, tt.warning) {
				t.Errorf("warnings = %v, want %v", got, tt.warning)
			}
			for _, fd := range fs {
				if fd.Message == "" || strings.Contains(fd.Message, "%!") {
					t.Errorf("badly formatted finding: %+v", fd)
				}
			}
			r := Report{Mode: tt.mode, Facts: f, Findings: fs}
			if r.OK() != (len(tt.blocking) == 0) {
				t.Errorf("OK() = %v with blockers %v", r.OK(), tt.blocking)
			}
		})
	}
}

func TestJudgeSaysWhichVersions(t *testing.T) {
	f := healthy()
	f.Target.Version.Major = 13
	fs := Judge(f, DumpRestore)
	if !strings.Contains(fs[0].Message, "PostgreSQL 13") || !strings.Contains(fs[0].Message, "15") {
		t.Errorf("version finding does not name both versions: %q", fs[0].Message)
	}
}
