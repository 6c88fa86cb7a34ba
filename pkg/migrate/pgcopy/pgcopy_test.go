package pgcopy

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cosocial/cosocial/pkg/sandbox"
)

func findingChecks(fs []Finding, sev Severity) []string {
	var out []string
	for _, f := range fs {
		if f.Severity == sev {
			out = append(out, f.Check+":"+f.Subject)
		}
	}
	return out
}

func TestCopyThenVerify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, dstCluster := clusters(t)
	// activity_log has no primary key: Verify can only count it.
	_, src := sourceDB(t, 6000, `CREATE TABLE activity_log (at timestamptz NOT NULL, what text)`,
		`INSERT INTO activity_log SELECT timestamptz '2024-01-01 00:00Z' + g * interval '1 minute', 'event ' || g FROM generate_series(1, 700) g`)
	dstDB := newDB(t, dstCluster, "ovh", "avnadmin")
	dst := dstCluster.DSN("avnadmin", avnPassword, dstDB)
	opts := Options{Jobs: 2, ChunkRows: 500}

	rep, err := Preflight(ctx, src, dst, DumpRestore, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("preflight blocks an ordinary dump and restore: %+v", rep.Blocking())
	}
	f := rep.Facts
	if f.Source.User != "doadmin" || f.Target.User != "avnadmin" || f.Source.Encoding != "UTF8" || f.Source.Version.Major < 10 {
		t.Errorf("servers read wrong: %+v / %+v", f.Source, f.Target)
	}
	if f.Source.Tables != 6 || f.Target.Tables != 0 {
		t.Errorf("tables: source %d (want 6), target %d (want 0)", f.Source.Tables, f.Target.Tables)
	}
	for name := range extensionsHere(t, srcCluster) {
		i := slices.IndexFunc(f.Extensions, func(e Extension) bool { return e.Name == name })
		if i < 0 || !f.Extensions[i].Available {
			t.Errorf("extension %s: not reported as installed and available: %+v", name, f.Extensions)
		}
	}
	roles := map[string]Role{}
	for _, r := range f.Roles {
		roles[r.Name] = r
	}
	if r := roles["doadmin"]; !r.OwnsObjects || r.AtTarget {
		t.Errorf("doadmin should own objects and be missing at the target: %+v", r)
	}
	if r := roles["mastodon_ro"]; !r.HoldsGrants || r.OwnsObjects || r.AtTarget {
		t.Errorf("mastodon_ro should hold grants only and be missing at the target: %+v", r)
	}
	if len(f.LargestTables) == 0 || f.LargestTables[0].Table != "public.statuses" {
		t.Errorf("largest table should be statuses: %+v", f.LargestTables)
	}
	if warn := findingChecks(rep.Findings, Warning); !slices.Contains(warn, "role:mastodon_ro") {
		t.Errorf("warnings %v lack the missing grantee mastodon_ro", warn)
	}

	// The same pair is not ready for low-downtime mode: avnadmin cannot
	// subscribe on PostgreSQL 15 and activity_log has no key.
	low, err := Preflight(ctx, src, dst, LowDowntime, opts)
	if err != nil {
		t.Fatal(err)
	}
	blocking := findingChecks(low.Findings, Blocking)
	slices.Sort(blocking)
	want := []string{"replica_identity:public.activity_log", "subscription_privilege:avnadmin"}
	if !slices.Equal(blocking, want) {
		t.Errorf("low-downtime blockers = %v, want %v", blocking, want)
	}

	var toolOut bytes.Buffer
	opts.ToolOutput = &toolOut
	res, err := Copy(ctx, src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Freeze <= 0 || res.Freeze < res.Dump+res.Restore || res.DumpBytes == 0 {
		t.Errorf("copy result: %+v", res)
	}

	v, err := Verify(ctx, src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Equal() {
		t.Fatalf("after a copy these differ: %v\n%+v", v.Different(), v)
	}
	byName := map[string]TableCheck{}
	for _, tc := range v.Tables {
		byName[tc.Table] = tc
	}
	if st := byName["public.statuses"]; st.Checksum != ChecksumEqual || st.SourceRows != 6000 || st.Chunks < 12 {
		t.Errorf("statuses: %+v (want equal, 6000 rows, chunks of 500)", st)
	}
	if sm := byName["public.schema_migrations"]; sm.Checksum != ChecksumEqual || sm.Chunks != 3 {
		t.Errorf("schema_migrations (text key): %+v", sm)
	}
	if al := byName["public.activity_log"]; al.Checksum != SkippedNoKey || al.TargetRows != 700 {
		t.Errorf("activity_log: %+v", al)
	}
	if len(v.Sequences) != 4 {
		t.Errorf("sequences: %+v (want 4: accounts and follows identities, statuses and media serials)", v.Sequences)
	}

	// One changed row at the target: exactly that table differs, in one
	// chunk.
	if err := dstCluster.Exec(ctx, dstDB, `UPDATE follows SET show_reblogs = NOT show_reblogs WHERE id = (SELECT max(id) FROM follows)`); err != nil {
		t.Fatal(err)
	}
	v, err = Verify(ctx, src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := v.Different(); !slices.Equal(d, []string{"public.follows"}) {
		t.Fatalf("after changing one follow, differences = %v", d)
	}
	for _, tc := range v.Tables {
		if tc.Table == "public.follows" && (tc.Checksum != ChecksumDifferent || tc.DifferentChunks != 1 || tc.SourceRows != tc.TargetRows) {
			t.Errorf("follows: %+v", tc)
		}
	}

	// Too large to hash: counted only.
	v, err = Verify(ctx, src, dst, Options{ChecksumMaxBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range v.Tables {
		if tc.Table == "public.statuses" && (tc.Checksum != SkippedTooLarge || tc.TargetRows != 6000) {
			t.Errorf("statuses over the size limit: %+v", tc)
		}
	}

	// Too large to count, as at the window's switch: the last key
	// decides, and a missing last row shows.
	v, err = Verify(ctx, src, dst, Options{ChecksumMaxBytes: 1, CountMaxBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	byName = map[string]TableCheck{}
	for _, tc := range v.Tables {
		byName[tc.Table] = tc
	}
	if st := byName["public.statuses"]; st.Checksum != LastKeyEqual || st.SourceRows != -1 || st.SourceLastKey != "(6000)" {
		t.Errorf("statuses over the count limit: %+v", st)
	}
	if al := byName["public.activity_log"]; al.Checksum != SkippedNoKey || al.TargetRows != 700 {
		t.Errorf("activity_log, no key, is counted whatever its size: %+v", al)
	}
	if err := dstCluster.Exec(ctx, dstDB, `DELETE FROM statuses WHERE id = 6000`); err != nil {
		t.Fatal(err)
	}
	if v, err = Verify(ctx, src, dst, Options{ChecksumMaxBytes: 1, CountMaxBytes: 64 << 10}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range v.Tables {
		if tc.Table == "public.statuses" && (tc.Checksum != ChecksumDifferent || tc.TargetLastKey != "(5999)") {
			t.Errorf("statuses without its last row: %+v", tc)
		}
	}

	// The target is no longer empty: preflight blocks, and a restore
	// fails with pg_restore's words but none of the passwords.
	rep, err = Preflight(ctx, src, dst, DumpRestore, opts)
	if err != nil {
		t.Fatal(err)
	}
	if b := findingChecks(rep.Findings, Blocking); !slices.Equal(b, []string{"target_not_empty:"}) {
		t.Errorf("blockers on a full target = %v", b)
	}
	toolOut.Reset()
	_, err = Copy(ctx, src, dst, opts)
	var te *ToolError
	if !errors.As(err, &te) || te.Tool != "pg_restore" || !strings.Contains(te.Stderr, "already exists") {
		t.Fatalf("restoring over existing tables: %v", err)
	}
	for _, secret := range []string{srcPassword, avnPassword} {
		if strings.Contains(err.Error(), secret) || strings.Contains(toolOut.String(), secret) {
			t.Errorf("a password leaked into the error or the tool output: %v", err)
		}
	}
}

// TestLowDowntime moves a database while a writer runs, for both kinds
// of target login: a superuser, as on a database server the tool runs,
// and a managed service's admin, who may not subscribe on PostgreSQL 15
// and does it through aiven_extras, as on OVHcloud.
func TestLowDowntime(t *testing.T) {
	t.Run("superuser", func(t *testing.T) {
		_, dstCluster := clusters(t)
		dstDB := newDB(t, dstCluster, "ovh", "pgsuper")
		lowDowntime(t, keywordDSN(dstCluster, "pgsuper", superPassword, dstDB), false)
	})
	t.Run("managed admin through aiven_extras", func(t *testing.T) {
		_, dstCluster := clusters(t)
		dstDB := newDB(t, dstCluster, "ovh", "avnadmin")
		if err := sandbox.InstallAivenExtras(context.Background(), dstCluster, dstDB); err != nil {
			t.Fatal(err)
		}
		lowDowntime(t, keywordDSN(dstCluster, "avnadmin", avnPassword, dstDB), true)
	})
}

func lowDowntime(t *testing.T, dst string, throughExtras bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, src := sourceDB(t, 8000)
	opts := Options{ChunkRows: 1000, Poll: 20 * time.Millisecond}

	rep, err := Preflight(ctx, src, dst, LowDowntime, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("preflight blocks: %+v", rep.Blocking())
	}
	if got := rep.Facts.Target.SubscribesThroughExtras; got != throughExtras {
		t.Fatalf("the target subscribes through aiven_extras: %v, want %v", got, throughExtras)
	}
	if done, err := CopySchema(ctx, src, dst, opts); err != nil || !done {
		t.Fatalf("CopySchema = %v, %v", done, err)
	}
	if done, err := CopySchema(ctx, src, dst, opts); err != nil || done {
		t.Fatalf("CopySchema again should skip: %v, %v", done, err)
	}

	// Writers run through the initial copy and after.
	w, err := startWriter(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			w.halt()
		}
	}()
	if err := w.waitWrites(ctx, 0, 20); err != nil {
		t.Fatal(err)
	}
	if err := StartReplication(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	writesAtStart := w.writes.Load()
	if err := StartReplication(ctx, src, dst, opts); err != nil {
		t.Fatalf("StartReplication again: %v", err)
	}
	st, err := WaitCaughtUp(ctx, src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Tables != 5 || st.Ready != 5 {
		t.Errorf("caught up with %d of %d tables ready, want 5", st.Ready, st.Tables)
	}
	if err := w.waitWrites(ctx, writesAtStart, 20); err != nil {
		t.Fatal(err)
	}
	err = w.halt()
	stopped = true
	if err != nil {
		t.Fatal(err)
	}
	writesAfter := w.writes.Load() - writesAtStart
	if writesAtStart == 0 || writesAfter == 0 {
		t.Fatalf("the writer did not overlap the copy: %d writes before, %d after", writesAtStart, writesAfter)
	}

	res, err := Detach(ctx, src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Detached, the subscription applies nothing more: the target may
	// take writes while Release waits for the source to let go.
	dstConn, err := pgx.Connect(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer dstConn.Close(ctx)
	var enabled bool
	if err := dstConn.QueryRow(ctx, `SELECT subenabled FROM pg_subscription WHERE subname = 'cosocial_migration'`).Scan(&enabled); err != nil || enabled {
		t.Fatalf("after Detach the subscription is enabled: %v, %v", enabled, err)
	}
	released := time.Now()
	if err := Release(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d writes during replication; cutover froze writes for %v (catch-up %v, sequences %v, detach %v), release %v",
		w.writes.Load(), res.Freeze, res.CatchUp, res.SequenceCopy, res.Detach, time.Since(released))
	if res.Freeze <= 0 || res.Resumed || len(res.Sequences) != 4 {
		t.Errorf("cutover result: %+v", res)
	}
	if _, err := Cutover(ctx, src, dst, opts); !errors.Is(err, ErrNotReplicating) {
		t.Errorf("a second cutover = %v, want ErrNotReplicating", err)
	}

	// Nothing of the replication is left on either side.
	var leftovers int
	srcConn, err := pgx.Connect(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer srcConn.Close(ctx)
	if err := srcConn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_replication_slots) + (SELECT count(*) FROM pg_publication)`).Scan(&leftovers); err != nil || leftovers != 0 {
		t.Errorf("slots and publications left at the source: %d, %v", leftovers, err)
	}
	if err := dstConn.QueryRow(ctx, `SELECT count(*) FROM pg_subscription`).Scan(&leftovers); err != nil || leftovers != 0 {
		t.Errorf("subscriptions left at the target: %d, %v", leftovers, err)
	}

	// Every post written while the data moved is at the target.
	var found int
	if err := dstConn.QueryRow(ctx, `SELECT count(*) FROM statuses WHERE id = ANY($1)`, w.posted).Scan(&found); err != nil || found != len(w.posted) {
		t.Errorf("%d of the %d posts written during replication are at the target (%v)", found, len(w.posted), err)
	}

	v, err := Verify(ctx, src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Equal() {
		t.Fatalf("after cutover these differ: %v\n%+v", v.Different(), v)
	}
	for _, sc := range v.Sequences {
		if sc.Target < sc.Source || sc.Source <= 1 {
			t.Errorf("sequence %s: source next %d, target next %d", sc.Sequence, sc.Source, sc.Target)
		}
	}

	// The application moves to the target: its next post and follow get
	// fresh ids, past everything the source handed out.
	var maxSrc, newID int64
	if err := srcConn.QueryRow(ctx, `SELECT max(id) FROM statuses`).Scan(&maxSrc); err != nil {
		t.Fatal(err)
	}
	if err := dstConn.QueryRow(ctx, `INSERT INTO statuses (account_id, text, created_at, updated_at) VALUES (1, 'first toot on OVHcloud', now(), now()) RETURNING id`).Scan(&newID); err != nil {
		t.Fatalf("inserting at the target after cutover: %v", err)
	}
	if newID <= maxSrc {
		t.Errorf("new status id %d is not past the source's %d", newID, maxSrc)
	}
	if _, err := dstConn.Exec(ctx, `INSERT INTO follows (account_id, target_account_id) VALUES (1, 2), (2, 1), (3, 1) ON CONFLICT (account_id, target_account_id) DO NOTHING`); err != nil {
		t.Errorf("following at the target after cutover: %v", err)
	}
}

func TestStopReplicationIsIdempotent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, dstCluster := clusters(t)
	_, src := sourceDB(t, 300)
	dstDB := newDB(t, dstCluster, "ovh", "pgsuper")
	dst := keywordDSN(dstCluster, "pgsuper", superPassword, dstDB)
	opts := Options{Name: "abandoned"}
	if _, err := CopySchema(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	if err := StartReplication(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := StopReplication(ctx, src, dst, opts); err != nil {
			t.Fatalf("StopReplication #%d: %v", i+1, err)
		}
	}
	st, err := Status(ctx, src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Subscribed || st.ConfirmedLSN != 0 {
		t.Errorf("after stopping: %+v", st)
	}
	if _, err := Cutover(ctx, src, dst, opts); !errors.Is(err, ErrNotReplicating) {
		t.Errorf("cutover without replication = %v, want ErrNotReplicating", err)
	}
}

func TestConnectionErrorsHideThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srcCluster, _ := clusters(t)
	bad := keywordDSN(srcCluster, "doadmin", "wrong secret", "postgres")
	_, err := Preflight(ctx, bad, bad, DumpRestore, Options{})
	var ce *ConnError
	if !errors.As(err, &ce) || ce.Side != "source" {
		t.Fatalf("err = %v, want a ConnError for the source", err)
	}
	if strings.Contains(err.Error(), "wrong secret") {
		t.Errorf("the password is in the error: %v", err)
	}
}

// A cutover that died after copying the sequences and detaching the
// subscription is finished by the next call, not refused.
func TestCutoverResumes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src, dst, opts := replicating(ctx, t, "resumed", 500)

	// The first cutover's steps, up to the crash.
	p, err := newPair(src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	sconn, dconn, closeFn, err := p.both(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if _, err := copySequences(ctx, sconn, dconn); err != nil {
		t.Fatal(err)
	}
	if _, err := sconn.Exec(ctx, `COMMENT ON PUBLICATION resumed IS `+literal(cutoverMark)); err != nil {
		t.Fatal(err)
	}
	if err := dropSubscription(ctx, sconn, dconn, "resumed"); err != nil {
		t.Fatal(err)
	}

	res, err := Cutover(ctx, src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed {
		t.Error("the second cutover did not notice it was resuming")
	}
	var left int
	if err := sconn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'resumed') + (SELECT count(*) FROM pg_publication WHERE pubname = 'resumed')`).Scan(&left); err != nil || left != 0 {
		t.Errorf("slot and publication left: %d, %v", left, err)
	}
	v, err := Verify(ctx, src, dst, opts)
	if err != nil || !v.Equal() {
		t.Errorf("after the resumed cutover: %v differ, %v", v.Different(), err)
	}
}

// TestAnUndoneCutoverCanBeRestarted: a cutover detached the target, then
// the window was undone: the source takes writes again and the target
// holds a row a briefly started target app wrote. Restart sets
// replication up afresh, and the next cutover leaves the target equal to
// the source, that row gone.
func TestAnUndoneCutoverCanBeRestarted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, dst, opts := replicating(ctx, t, "restarted", 500)
	if _, err := Cutover(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	// The undone window: the target app wrote, then the source app again.
	exec := func(dsn, sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(dst, `INSERT INTO statuses (account_id, created_at, updated_at) VALUES (1, now(), now())`)
	exec(src, `INSERT INTO statuses (account_id, created_at, updated_at) SELECT 1, now(), now() FROM generate_series(1, 20)`)
	if _, err := Cutover(ctx, src, dst, opts); !errors.Is(err, ErrNotReplicating) {
		t.Fatalf("a cutover with nothing replicating: %v", err)
	}

	if err := Restart(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := WaitCaughtUp(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := Cutover(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	v, err := Verify(ctx, src, dst, opts)
	if err != nil || !v.Equal() {
		t.Errorf("after the restarted cutover: %v differ, %v", v.Different(), err)
	}
}

// TestRestartBeforeTheDetachKeepsReplicating: a window undone after the
// cutover marked the publication but before it detached: replication
// still runs, Restart leaves it and clears the mark, so that the next
// cutover waits for the writes made since instead of detaching at once.
func TestRestartBeforeTheDetachKeepsReplicating(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, dst, opts := replicating(ctx, t, "marked", 100)
	sconn, err := pgx.Connect(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer sconn.Close(ctx)
	if _, err := sconn.Exec(ctx, `COMMENT ON PUBLICATION marked IS `+literal(cutoverMark)); err != nil {
		t.Fatal(err)
	}
	if err := Restart(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	var comment *string
	if err := sconn.QueryRow(ctx, `SELECT obj_description(oid, 'pg_publication') FROM pg_publication WHERE pubname = 'marked'`).Scan(&comment); err != nil || comment != nil {
		t.Fatalf("the cutover's mark after Restart: %v, %v", comment, err)
	}
	if _, err := sconn.Exec(ctx, `INSERT INTO statuses (account_id, created_at, updated_at) SELECT 1, now(), now() FROM generate_series(1, 50)`); err != nil {
		t.Fatal(err)
	}
	if res, err := Cutover(ctx, src, dst, opts); err != nil || res.Resumed {
		t.Fatalf("cutover after Restart: resumed %v, %v", res.Resumed, err)
	}
	v, err := Verify(ctx, src, dst, opts)
	if err != nil || !v.Equal() {
		t.Errorf("after the cutover: %v differ, %v", v.Different(), err)
	}
}

// replicating is a source of statuses posts replicated, caught up, to a
// target database whose owner is a superuser.
func replicating(ctx context.Context, t *testing.T, name string, statuses int) (src, dst string, opts Options) {
	t.Helper()
	_, dstCluster := clusters(t)
	_, src = sourceDB(t, statuses)
	dst = keywordDSN(dstCluster, "pgsuper", superPassword, newDB(t, dstCluster, "ovh", "pgsuper"))
	opts = Options{Name: name, Poll: 10 * time.Millisecond}
	if _, err := CopySchema(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	if err := StartReplication(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := WaitCaughtUp(ctx, src, dst, opts); err != nil {
		t.Fatal(err)
	}
	return src, dst, opts
}
