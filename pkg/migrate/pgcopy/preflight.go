package pgcopy

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Mode is how the data will move.
type Mode int

const (
	// DumpRestore stops writers for a whole pg_dump and pg_restore.
	DumpRestore Mode = iota
	// LowDowntime copies with logical replication while writers run, and
	// stops them only for the cutover.
	LowDowntime
)

func (m Mode) String() string {
	if m == LowDowntime {
		return "low-downtime"
	}
	return "dump-restore"
}

// Severity ranks a finding.
type Severity int

const (
	Info Severity = iota
	Warning
	// Blocking: the migration would fail or lose data; fix it first.
	Blocking
)

func (s Severity) String() string {
	switch s {
	case Blocking:
		return "blocking"
	case Warning:
		return "warning"
	}
	return "info"
}

// MarshalText keeps the JSON form readable and stable.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one thing Preflight has to say.
type Finding struct {
	Severity Severity `json:"severity"`
	// Check names the rule, stable for scripts: "version", "pg_dump",
	// "extension", "encoding", "collation", "role", "size",
	// "target_not_empty", "wal_level", "replication_privilege",
	// "publication_privilege", "subscription_privilege",
	// "replica_identity", "replication_slots", "wal_senders",
	// "unlogged", "large_objects", "replication_workers".
	Check   string `json:"check"`
	Subject string `json:"subject,omitempty"` // the extension, role or table concerned
	Message string `json:"message"`
}

// Server is what Preflight learns about one side.
type Server struct {
	Version     Version `json:"version"`
	User        string  `json:"user"`
	Database    string  `json:"database"`
	Superuser   bool    `json:"superuser"`
	Replication bool    `json:"replication"` // may open replication connections
	// CanSubscribe: may create a subscription (superuser, or a member of
	// pg_create_subscription from PostgreSQL 16).
	CanSubscribe bool `json:"can_subscribe"`
	// SubscribesThroughExtras: the database has aiven_extras, whose
	// functions subscribe for a login that may not itself.
	SubscribesThroughExtras bool   `json:"subscribes_through_extras,omitempty"`
	Encoding                string `json:"encoding"`
	Collate                 string `json:"collate"`
	Ctype                   string `json:"ctype"`
	WalLevel                string `json:"wal_level"`
	// Replication capacity: configured and in use.
	MaxReplicationSlots int   `json:"max_replication_slots"`
	ReplicationSlots    int   `json:"replication_slots"`
	MaxWalSenders       int   `json:"max_wal_senders"`
	WalSenders          int   `json:"wal_senders"`
	MaxLogicalWorkers   int   `json:"max_logical_replication_workers"`
	DatabaseBytes       int64 `json:"database_bytes"`
	Tables              int   `json:"tables"` // user tables in the database
}

// Extension is one extension installed at the source.
type Extension struct {
	Name          string `json:"name"`
	Version       string `json:"version"`        // at the source
	Available     bool   `json:"available"`      // the target can install it
	TargetVersion string `json:"target_version"` // the target's default version
}

// Role is a role that owns objects or holds grants at the source.
type Role struct {
	Name        string `json:"name"`
	OwnsObjects bool   `json:"owns_objects"`
	HoldsGrants bool   `json:"holds_grants"`
	AtTarget    bool   `json:"at_target"`
}

// TableSize is one of the largest tables.
type TableSize struct {
	Table string `json:"table"`
	Bytes int64  `json:"bytes"` // with indexes and TOAST
	Rows  int64  `json:"rows"`  // the planner's estimate
}

// Facts are what Preflight gathers; Judge turns them into findings.
type Facts struct {
	Source Server  `json:"source"`
	Target Server  `json:"target"`
	PgDump Version `json:"pg_dump"`
	// Options the run will use that change the verdict.
	KeepPrivileges bool `json:"keep_privileges"`

	Extensions    []Extension `json:"extensions"`
	Roles         []Role      `json:"roles"`
	LargestTables []TableSize `json:"largest_tables"`
	// Low-downtime mode: tables whose UPDATE and DELETE cannot be
	// replicated, tables the source login does not own (it cannot
	// publish them unless superuser), unlogged tables (never
	// replicated) and large objects (never replicated).
	TablesWithoutKey []string `json:"tables_without_key"`
	TablesNotOwned   []string `json:"tables_not_owned"`
	UnloggedTables   []string `json:"unlogged_tables"`
	LargeObjects     int64    `json:"large_objects"`
}

// Report is Preflight's result.
type Report struct {
	Mode     Mode      `json:"mode"`
	Facts    Facts     `json:"facts"`
	Findings []Finding `json:"findings"`
}

// Blocking lists the findings that must be fixed before migrating.
func (r Report) Blocking() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == Blocking {
			out = append(out, f)
		}
	}
	return out
}

// OK says whether nothing blocks the migration.
func (r Report) OK() bool { return len(r.Blocking()) == 0 }

// Preflight checks, before anything changes, that the source database
// can move to the target in the given mode. It only reads.
func Preflight(ctx context.Context, src, dst string, mode Mode, opts Options) (Report, error) {
	facts, err := Gather(ctx, src, dst, opts)
	if err != nil {
		return Report{Mode: mode}, err
	}
	return Report{Mode: mode, Facts: facts, Findings: Judge(facts, mode)}, nil
}

// Gather reads the facts Judge decides on from both servers and from
// pg_dump.
func Gather(ctx context.Context, src, dst string, opts Options) (Facts, error) {
	f := Facts{KeepPrivileges: opts.KeepPrivileges}
	p, err := newPair(src, dst, opts)
	if err != nil {
		return f, err
	}
	if f.PgDump, err = p.toolVersion(ctx, "pg_dump"); err != nil {
		return f, err
	}
	sconn, dconn, closeFn, err := p.both(ctx)
	if err != nil {
		return f, err
	}
	defer closeFn()
	if f.Source, err = readServer(ctx, sconn); err != nil {
		return f, p.wrap("reading the source server", err)
	}
	if f.Target, err = readServer(ctx, dconn); err != nil {
		return f, p.wrap("reading the target server", err)
	}
	if f.Extensions, err = readExtensions(ctx, sconn, dconn); err != nil {
		return f, p.wrap("reading extensions", err)
	}
	if f.Roles, err = readRoles(ctx, sconn, dconn); err != nil {
		return f, p.wrap("reading roles", err)
	}
	if f.LargestTables, err = readLargest(ctx, sconn, opts.largest()); err != nil {
		return f, p.wrap("reading table sizes", err)
	}
	if err := readReplicationFacts(ctx, sconn, &f); err != nil {
		return f, p.wrap("reading tables for replication", err)
	}
	return f, nil
}

func readServer(ctx context.Context, conn *pgx.Conn) (Server, error) {
	var s Server
	var num int
	var version string
	err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, current_setting('server_version'),
			current_user, current_database(), r.rolsuper, r.rolreplication,
			`+mayCreateSubscription+`, to_regprocedure('`+extrasCreate+`') IS NOT NULL,
			pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, current_setting('wal_level'),
			current_setting('max_replication_slots')::int, (SELECT count(*) FROM pg_replication_slots)::int,
			current_setting('max_wal_senders')::int, (SELECT count(*) FROM pg_stat_replication)::int,
			current_setting('max_logical_replication_workers')::int,
			pg_database_size(d.oid),
			(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			  WHERE c.relkind IN ('r', 'p') AND `+userSchemas+` AND `+notExtensionMember+`)::int
		FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()`).
		Scan(&num, &version, &s.User, &s.Database, &s.Superuser, &s.Replication, &s.CanSubscribe, &s.SubscribesThroughExtras,
			&s.Encoding, &s.Collate, &s.Ctype, &s.WalLevel,
			&s.MaxReplicationSlots, &s.ReplicationSlots, &s.MaxWalSenders, &s.WalSenders, &s.MaxLogicalWorkers,
			&s.DatabaseBytes, &s.Tables)
	s.Version = serverVersion(num, version)
	return s, err
}

func readExtensions(ctx context.Context, sconn, dconn *pgx.Conn) ([]Extension, error) {
	rows, err := sconn.Query(ctx, `SELECT extname, extversion FROM pg_extension ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	exts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Extension, error) {
		var e Extension
		return e, r.Scan(&e.Name, &e.Version)
	})
	if err != nil {
		return nil, err
	}
	for i := range exts {
		var def *string
		err := dconn.QueryRow(ctx, `SELECT default_version FROM pg_available_extensions WHERE name = $1`, exts[i].Name).Scan(&def)
		if err == pgx.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, err
		}
		exts[i].Available = true
		if def != nil {
			exts[i].TargetVersion = *def
		}
	}
	return exts, nil
}

// rolesQuery lists the roles (built-in ones left out) that own something
// a dump carries, or were granted something on it.
const rolesQuery = `WITH objs AS (
	SELECT c.relowner AS owner, c.relacl AS acl FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE ` + userSchemas + ` AND ` + notExtensionMember + `
	UNION ALL SELECT n.nspowner, n.nspacl FROM pg_namespace n WHERE ` + userSchemas + `
	UNION ALL SELECT p.proowner, p.proacl FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE ` + userSchemas + ` AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_proc'::regclass AND dep.objid = p.oid AND dep.deptype = 'e')
	UNION ALL SELECT t.typowner, t.typacl FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
		WHERE ` + userSchemas + ` AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_type'::regclass AND dep.objid = t.oid AND dep.deptype = 'e')
	UNION ALL SELECT d.datdba, d.datacl FROM pg_database d WHERE d.datname = current_database()
), who AS (
	SELECT owner AS role, true AS owns, false AS grants FROM objs
	UNION ALL SELECT (aclexplode(acl)).grantee, false, true FROM objs WHERE acl IS NOT NULL
)
SELECT r.rolname, bool_or(owns), bool_or(grants) FROM who JOIN pg_roles r ON r.oid = who.role
WHERE r.oid >= 16384 GROUP BY r.rolname ORDER BY 1`

func readRoles(ctx context.Context, sconn, dconn *pgx.Conn) ([]Role, error) {
	rows, err := sconn.Query(ctx, rolesQuery)
	if err != nil {
		return nil, err
	}
	roles, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Role, error) {
		var role Role
		return role, r.Scan(&role.Name, &role.OwnsObjects, &role.HoldsGrants)
	})
	if err != nil {
		return nil, err
	}
	for i := range roles {
		if err := dconn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, roles[i].Name).Scan(&roles[i].AtTarget); err != nil {
			return nil, err
		}
	}
	return roles, nil
}

func readLargest(ctx context.Context, conn *pgx.Conn, n int) ([]TableSize, error) {
	rows, err := conn.Query(ctx, `SELECT n.nspname || '.' || c.relname, pg_total_relation_size(c.oid), greatest(c.reltuples, 0)::bigint
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm') AND `+userSchemas+` AND `+notExtensionMember+`
		ORDER BY 2 DESC, 1 LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TableSize, error) {
		var t TableSize
		return t, r.Scan(&t.Table, &t.Bytes, &t.Rows)
	})
}

func readReplicationFacts(ctx context.Context, conn *pgx.Conn, f *Facts) error {
	list := func(cond string) ([]string, error) {
		rows, err := conn.Query(ctx, `SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = 'r' AND `+userSchemas+` AND `+notExtensionMember+` AND (`+cond+`) ORDER BY 1`)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	var err error
	// Replica identity "default" means the primary key; "nothing" means
	// none at all. With either and no key, UPDATE and DELETE on a
	// published table fail at the source.
	if f.TablesWithoutKey, err = list(`c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))
		OR (c.relreplident = 'i' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident))`); err != nil {
		return err
	}
	if f.TablesNotOwned, err = list(`NOT pg_has_role(current_user, c.relowner, 'USAGE')`); err != nil {
		return err
	}
	if f.UnloggedTables, err = list(`c.relpersistence = 'u'`); err != nil {
		return err
	}
	return conn.QueryRow(ctx, `SELECT count(*) FROM pg_largeobject_metadata`).Scan(&f.LargeObjects)
}

// Judge decides what the facts mean for a migration in the given mode.
// It reads nothing, so every rule can be tested on made-up facts.
func Judge(f Facts, mode Mode) []Finding {
	var out []Finding
	add := func(sev Severity, check, subject, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Check: check, Subject: subject, Message: fmt.Sprintf(format, args...)})
	}
	s, t := f.Source, f.Target

	if t.Version.Major < s.Version.Major {
		add(Blocking, "version", "", "the target runs PostgreSQL %d, older than the source's %d: a dump cannot be restored into an older major version; create the target with %d or later",
			t.Version.Major, s.Version.Major, s.Version.Major)
	}
	if f.PgDump.Major < s.Version.Major {
		add(Blocking, "pg_dump", "", "pg_dump is version %d but the source server is %d: pg_dump refuses to dump a newer server; install PostgreSQL %d's client programs",
			f.PgDump.Major, s.Version.Major, s.Version.Major)
	} else if f.PgDump.Major < t.Version.Major {
		add(Warning, "pg_dump", "", "pg_dump is version %d, older than the target's %d: PostgreSQL advises dumping with the newer version's pg_dump when upgrading",
			f.PgDump.Major, t.Version.Major)
	}

	for _, e := range f.Extensions {
		switch {
		case !e.Available:
			add(Blocking, "extension", e.Name, "extension %s (%s) is installed at the source but the target does not offer it: ask the provider, or remove what uses it", e.Name, e.Version)
		case e.TargetVersion != "" && e.TargetVersion != e.Version:
			add(Info, "extension", e.Name, "extension %s is %s at the source and will be created as %s at the target", e.Name, e.Version, e.TargetVersion)
		}
	}

	if !strings.EqualFold(s.Encoding, t.Encoding) {
		add(Blocking, "encoding", "", "the source database is encoded %s but the target %s: text that the target's encoding cannot hold would fail to load; create the target database with ENCODING '%s'",
			s.Encoding, t.Encoding, s.Encoding)
	}
	if s.Collate != t.Collate || s.Ctype != t.Ctype {
		add(Warning, "collation", "", "the source sorts text by %s (ctype %s), the target by %s (ctype %s): ORDER BY on text and case-insensitive matching may change; unique indexes on text are rebuilt at the target and could reject rows the source accepted",
			s.Collate, s.Ctype, t.Collate, t.Ctype)
	}

	for _, r := range f.Roles {
		if r.AtTarget {
			continue
		}
		switch {
		case r.HoldsGrants && f.KeepPrivileges:
			add(Blocking, "role", r.Name, "role %s holds grants at the source but does not exist at the target: create it there, or restore without privileges", r.Name)
		case r.HoldsGrants:
			add(Warning, "role", r.Name, "role %s holds grants at the source but does not exist at the target: its grants are not restored", r.Name)
		default:
			add(Info, "role", r.Name, "role %s owns objects at the source but does not exist at the target: the target's login will own them", r.Name)
		}
	}

	size := fmt.Sprintf("the source database is %s", humanBytes(s.DatabaseBytes))
	if len(f.LargestTables) > 0 {
		var parts []string
		for _, lt := range f.LargestTables[:min(3, len(f.LargestTables))] {
			parts = append(parts, fmt.Sprintf("%s %s", lt.Table, humanBytes(lt.Bytes)))
		}
		size += "; largest tables: " + strings.Join(parts, ", ")
	}
	add(Info, "size", "", "%s", size)

	if t.Tables > 0 {
		if mode == DumpRestore {
			add(Blocking, "target_not_empty", "", "the target database already has %d tables: restore into an empty database", t.Tables)
		} else {
			add(Warning, "target_not_empty", "", "the target database already has %d tables: fine when resuming this migration, otherwise use an empty database", t.Tables)
		}
	}

	if mode != LowDowntime {
		return out
	}
	if s.WalLevel != "logical" {
		add(Blocking, "wal_level", "", "the source's wal_level is %q, logical replication needs \"logical\": ask the provider to enable logical replication (it needs a restart)", s.WalLevel)
	}
	if !s.Replication && !s.Superuser {
		add(Blocking, "replication_privilege", s.User, "the source login %s may not replicate: it needs the REPLICATION attribute", s.User)
	}
	if !s.Superuser {
		for _, tbl := range f.TablesNotOwned {
			add(Blocking, "publication_privilege", tbl, "the source login %s does not own %s and is not a superuser, so it cannot publish it", s.User, tbl)
		}
	}
	if !t.CanSubscribe && !t.SubscribesThroughExtras {
		add(Blocking, "subscription_privilege", t.User, "the target login %s may not create a subscription: PostgreSQL %d allows it to superusers only%s; "+
			"a managed PostgreSQL on Aiven's platform (OVHcloud's) subscribes through aiven_extras, once its admin runs CREATE EXTENSION aiven_extras in database %s",
			t.User, t.Version.Major, map[bool]string{true: " and members of pg_create_subscription", false: ""}[t.Version.Major >= 16], t.Database)
	}
	for _, tbl := range f.TablesWithoutKey {
		add(Blocking, "replica_identity", tbl, "%s has no primary key or replica identity: once published, UPDATE and DELETE on it fail at the source; add a primary key or ALTER TABLE %s REPLICA IDENTITY FULL", tbl, tbl)
	}
	for _, tbl := range f.UnloggedTables {
		add(Warning, "unlogged", tbl, "%s is unlogged: logical replication does not carry it, the target gets its schema but no rows", tbl)
	}
	if f.LargeObjects > 0 {
		add(Blocking, "large_objects", "", "the source holds %d large objects, which logical replication does not carry: use dump-restore mode", f.LargeObjects)
	}
	// One slot and one walsender for the subscription, and up to two more
	// of each while tables are copied in parallel.
	if free := s.MaxReplicationSlots - s.ReplicationSlots; free < 1 {
		add(Blocking, "replication_slots", "", "the source has no free replication slot (%d of %d in use)", s.ReplicationSlots, s.MaxReplicationSlots)
	} else if free < 3 {
		add(Warning, "replication_slots", "", "the source has %d free replication slots: the initial copy will copy fewer tables at once", free)
	}
	if free := s.MaxWalSenders - s.WalSenders; free < 1 {
		add(Blocking, "wal_senders", "", "the source has no free WAL sender (%d of %d in use)", s.WalSenders, s.MaxWalSenders)
	} else if free < 3 {
		add(Warning, "wal_senders", "", "the source has %d free WAL senders: the initial copy will copy fewer tables at once", free)
	}
	if t.MaxLogicalWorkers < 1 {
		add(Blocking, "replication_workers", "", "the target's max_logical_replication_workers is 0: it cannot apply a subscription")
	}
	return out
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
