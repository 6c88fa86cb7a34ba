package dbplan

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cosocial/cosocial/pkg/migrate/rehearse"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/pgserver"
)

// mastodonSchema is the rehearsal's Mastodon with the tables and columns
// tootctl's clean-ups read besides (db/schema.rb of 4.3).
var mastodonSchema = rehearse.MastodonSchema + `
ALTER TABLE statuses ADD COLUMN deleted_at timestamp;
ALTER TABLE accounts ADD COLUMN actor_type varchar, ADD COLUMN suspended_at timestamp, ADD COLUMN silenced_at timestamp;
ALTER TABLE media_attachments ADD COLUMN scheduled_status_id bigint;
CREATE TABLE status_pins (id bigserial PRIMARY KEY, account_id bigint NOT NULL, status_id bigint NOT NULL);
CREATE TABLE mentions (id bigserial PRIMARY KEY, account_id bigint, status_id bigint);
CREATE TABLE favourites (id bigserial PRIMARY KEY, account_id bigint NOT NULL, status_id bigint NOT NULL);
CREATE TABLE bookmarks (id bigserial PRIMARY KEY, account_id bigint NOT NULL, status_id bigint NOT NULL);
CREATE TABLE follow_requests (id bigserial PRIMARY KEY, account_id bigint NOT NULL, target_account_id bigint NOT NULL);
CREATE TABLE blocks (id bigserial PRIMARY KEY, account_id bigint NOT NULL, target_account_id bigint NOT NULL);
CREATE TABLE mutes (id bigserial PRIMARY KEY, account_id bigint NOT NULL, target_account_id bigint NOT NULL);
CREATE TABLE reports (id bigserial PRIMARY KEY, account_id bigint NOT NULL, target_account_id bigint NOT NULL);
`

// mastodon starts a cluster with an empty Mastodon-shaped database and
// returns a superuser connection to it.
func mastodon(t *testing.T) (*pgserver.Cluster, *pgx.Conn) {
	t.Helper()
	if _, err := pgserver.BinDir(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	ctx := context.Background()
	c, err := pgserver.Create(ctx, filepath.Join(pgserver.TempDir(t), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Destroy(context.Background()) })
	if err := c.Exec(ctx, "postgres", "CREATE DATABASE mastodon"); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, "mastodon", mastodonSchema); err != nil {
		t.Fatal(err)
	}
	conn, err := c.AdminConn(ctx, "mastodon")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return c, conn
}

// grow adds one step of a Mastodon's life: local and remote accounts,
// statuses (remote ones old enough for the clean-up), media, follows,
// and preview cards.
func grow(t *testing.T, conn *pgx.Conn, step, n int) {
	t.Helper()
	ctx := context.Background()
	stmts := []string{
		fmt.Sprintf(`INSERT INTO accounts (username, domain, note, actor_type, silenced_at)
		  SELECT 'user%[1]d_' || i, CASE WHEN i %% 4 = 0 THEN NULL ELSE 'remote' || (i %% 50) || '.example' END, repeat(md5(i::text), 8),
		         CASE WHEN i %% 13 = 0 THEN 'Service' ELSE 'Person' END, CASE WHEN i %% 17 = 0 THEN now() END
		  FROM generate_series(1, %[2]d) i`, step, n/10),
		// Mastodon's ids encode the time they were made (Snowflake):
		// the milliseconds, shifted 16 bits.
		fmt.Sprintf(`INSERT INTO statuses (id, uri, text, account_id, local, created_at)
		  SELECT ((floor(extract(epoch FROM c) * 1000))::bigint << 16) + (%[3]d * 7919 + i) %% 65536, 'https://x/%[3]d/' || i,
		         CASE WHEN i %% 20 = 0 THEN (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 80)) ELSE repeat('toot ', 30) END,
		         a.id, a.domain IS NULL, c
		  FROM generate_series(1, %[1]d) i
		  CROSS JOIN LATERAL (SELECT now() - (i %% 200) * interval '1 day' - interval '1 hour' AS c) t
		  JOIN LATERAL (SELECT id, domain FROM accounts ORDER BY id DESC OFFSET (i %% %[2]d) LIMIT 1) a ON true`, n, n/10, step),
		// What local accounts do with remote statuses: reply, pin,
		// favourite, bookmark, mention.
		`INSERT INTO statuses (id, uri, text, account_id, local, in_reply_to_id, created_at)
		  SELECT s.id + 1, 'https://local/reply/' || s.id, 'a reply', (SELECT min(id) FROM accounts WHERE domain IS NULL), true, s.id, s.created_at
		  FROM statuses s WHERE NOT s.local AND s.id % 97 = 0 AND NOT EXISTS (SELECT 1 FROM statuses x WHERE x.id = s.id + 1)`,
		`INSERT INTO favourites (account_id, status_id) SELECT (SELECT min(id) FROM accounts WHERE domain IS NULL), id FROM statuses WHERE NOT local AND id % 89 = 0`,
		`INSERT INTO favourites (account_id, status_id) SELECT (SELECT min(id) FROM accounts WHERE domain IS NOT NULL), id FROM statuses WHERE NOT local AND id % 83 = 0`,
		`INSERT INTO bookmarks (account_id, status_id) SELECT (SELECT min(id) FROM accounts WHERE domain IS NULL), id FROM statuses WHERE NOT local AND id % 79 = 0`,
		`INSERT INTO status_pins (account_id, status_id) SELECT account_id, id FROM statuses WHERE NOT local AND id % 73 = 0`,
		`INSERT INTO mentions (account_id, status_id) SELECT (SELECT min(id) FROM accounts WHERE domain IS NULL), id FROM statuses WHERE NOT local AND id % 71 = 0`,
		`INSERT INTO media_attachments (account_id, file_file_name, file_file_size, created_at)
		  SELECT (SELECT min(id) FROM accounts WHERE domain IS NULL), 'never-posted.jpg', 5000, now() - interval '3 days' FROM generate_series(1, 7)`,
		// Remote accounts that never posted here; local ones block, mute,
		// report or ask to follow some of them.
		fmt.Sprintf(`INSERT INTO accounts (username, domain, actor_type)
		  SELECT 'lurker%[1]d_' || i, 'far' || i || '.example', CASE WHEN i %% 5 = 0 THEN 'Service' ELSE 'Person' END
		  FROM generate_series(1, %[2]d) i`, step, n/100),
		`INSERT INTO blocks (account_id, target_account_id) SELECT (SELECT min(id) FROM accounts WHERE domain IS NULL), id FROM accounts WHERE username LIKE 'lurker%' AND id % 7 = 0`,
		`INSERT INTO mutes (account_id, target_account_id) SELECT (SELECT min(id) FROM accounts WHERE domain IS NULL), id FROM accounts WHERE username LIKE 'lurker%' AND id % 7 = 1`,
		`INSERT INTO reports (account_id, target_account_id) SELECT (SELECT min(id) FROM accounts WHERE domain IS NULL), id FROM accounts WHERE username LIKE 'lurker%' AND id % 7 = 2`,
		`INSERT INTO follow_requests (account_id, target_account_id) SELECT id, (SELECT min(id) FROM accounts WHERE domain IS NULL) FROM accounts WHERE username LIKE 'lurker%' AND id % 7 = 3`,
		`INSERT INTO media_attachments (status_id, account_id, file_file_name, file_file_size, remote_url, created_at)
		  SELECT s.id, s.account_id, 'f.jpg', 100000, CASE WHEN s.local THEN '' ELSE 'https://remote/f.jpg' END, s.created_at
		  FROM statuses s WHERE s.id % 3 = 0 AND s.id > (SELECT COALESCE(max(status_id), 0) FROM media_attachments)`,
		`INSERT INTO follows (account_id, target_account_id)
		  SELECT a.id, b.id FROM accounts a JOIN accounts b ON b.id = a.id + 1
		  WHERE a.domain IS NULL AND a.id > (SELECT COALESCE(max(account_id), 0) FROM follows)`,
		fmt.Sprintf(`INSERT INTO preview_cards (url, image_file_name, image_file_size, updated_at)
		  SELECT 'https://card/' || i, 'c.png', 20000, now() - (i %% 365) * interval '1 day' FROM generate_series(1, %d) i`, n/20),
		"ANALYZE",
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("step %d: %v\n%s", step, err, s)
		}
	}
}

func TestMeasureFollowsAGrowingMastodon(t *testing.T) {
	_, conn := mastodon(t)
	ctx := context.Background()
	var h History
	var last int64
	var statuses [5]int64 // pg_total_relation_size after each step
	for step := 1; step <= 4; step++ {
		grow(t, conn, step, 6000)
		if err := conn.QueryRow(ctx, "SELECT pg_total_relation_size('statuses')").Scan(&statuses[step]); err != nil {
			t.Fatal(err)
		}
		when := start.Add(time.Duration(step*7) * day)
		m, err := Measure(ctx, conn, MeasureOptions{DiskBytes: 100 * GB, Now: func() time.Time { return when }})
		if err != nil {
			t.Fatal(err)
		}
		if m.Sample.DatabaseBytes <= last {
			t.Fatalf("step %d: %d bytes, not more than %d", step, m.Sample.DatabaseBytes, last)
		}
		last = m.Sample.DatabaseBytes
		if m.Sample.WALBytes <= 0 {
			t.Errorf("step %d: WAL %d as a superuser (%v)", step, m.Sample.WALBytes, m.Notes)
		}
		if m.Database != "mastodon" || !m.Sample.Time.Equal(when) || m.Sample.DiskBytes != 100*GB {
			t.Errorf("sample %+v of %s", m.Sample, m.Database)
		}
		st := find(t, m, "statuses")
		var count int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM statuses").Scan(&count); err != nil {
			t.Fatal(err)
		}
		if st.Rows != count || st.Rows < int64(6000*step) || st.TableBytes == 0 || st.IndexBytes == 0 || st.ToastBytes == 0 {
			t.Errorf("step %d: statuses %+v", step, st)
		}
		if m.Tables[0].TotalBytes() < m.Tables[len(m.Tables)-1].TotalBytes() {
			t.Error("tables are not largest first")
		}
		h = append(h, m.Sample)
	}
	fc, err := Predict(h, 100*GB)
	if err != nil {
		t.Fatal(err)
	}
	if fc.Trend != Growing || fc.GrowthPerMonth <= 0 {
		t.Fatalf("a database grown every week: %s, %d bytes/month", fc.Trend, fc.GrowthPerMonth)
	}
	// What drives it: statuses, by what PostgreSQL says it grew.
	if len(fc.Drivers) == 0 || fc.Drivers[0].Table != "statuses" || fc.Drivers[0].Bytes != statuses[4]-statuses[1] ||
		!fc.Drivers[0].Since.Equal(h[0].Time) || fc.Drivers[0].Share <= 0.3 || fc.Drivers[0].Share > 1 {
		t.Fatalf("drivers %+v; statuses grew %d bytes", fc.Drivers, statuses[4]-statuses[1])
	}
}

func TestBloatIsEstimatedAfterDeletes(t *testing.T) {
	_, conn := mastodon(t)
	ctx := context.Background()
	grow(t, conn, 1, 20000)
	before, err := Measure(ctx, conn, MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := find(t, before, "statuses")
	if fresh.BloatBytes > fresh.TableBytes/5 {
		t.Errorf("a freshly loaded table shows %d of %d bytes as bloat", fresh.BloatBytes, fresh.TableBytes)
	}
	// Deleting every other row and vacuuming leaves the pages in place,
	// half empty: what a repack gives back.
	for _, s := range []string{"DELETE FROM statuses WHERE id % 2 = 0", "VACUUM statuses", "ANALYZE statuses"} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	after, err := Measure(ctx, conn, MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := find(t, after, "statuses")
	if st.TableBytes != fresh.TableBytes {
		t.Logf("table went from %d to %d bytes", fresh.TableBytes, st.TableBytes)
	}
	t.Logf("bloat: %d of %d bytes (fresh %d)", st.BloatBytes, st.TableBytes, fresh.BloatBytes)
	if share := float64(st.BloatBytes) / float64(st.TableBytes); share < 0.35 || share > 0.65 {
		t.Errorf("half the rows deleted: bloat estimated at %.0f %% of the table (%d of %d bytes)", share*100, st.BloatBytes, st.TableBytes)
	}
	if after.BloatBytes < st.BloatBytes {
		t.Errorf("total bloat %d below one table's %d", after.BloatBytes, st.BloatBytes)
	}
}

// TestBloatEstimatesAgreeWithPgstattuple compares the estimates, table
// and B-tree index, with what pgstattuple measures by reading every page:
// fresh (nothing to give back but the pages' tails and the indexes' own
// slack) and with every other status deleted and vacuumed. The tables and
// the indexes a repack would rebuild are then listed with the free disk
// it needs.
func TestBloatEstimatesAgreeWithPgstattuple(t *testing.T) {
	_, conn := mastodon(t)
	ctx := context.Background()
	grow(t, conn, 1, 20000)
	if _, err := conn.Exec(ctx, "CREATE EXTENSION pgstattuple"); err != nil {
		t.Fatal(err)
	}
	check := func(when string, tolerance float64) *Measurement {
		t.Helper()
		m, err := Measure(ctx, conn, MeasureOptions{Largest: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"statuses", "accounts", "media_attachments"} {
			tb := find(t, m, name)
			var free, length float64
			if err := conn.QueryRow(ctx, "SELECT free_space, table_len FROM pgstattuple($1)", name).Scan(&free, &length); err != nil {
				t.Fatal(err)
			}
			got, want := float64(tb.BloatBytes)/length, free/length
			t.Logf("%s %s: heap bloat estimated %.1f %%, pgstattuple free %.1f %%", when, name, got*100, want*100)
			if got-want > tolerance || want-got > tolerance {
				t.Errorf("%s %s: heap bloat estimated at %.1f %% of the table, pgstattuple measures %.1f %% free", when, name, got*100, want*100)
			}
		}
		// B-tree leaves are built to 90 % full: what pgstatindex finds
		// emptier than that is what a rebuild gives back.
		var density, size float64
		if err := conn.QueryRow(ctx, "SELECT avg_leaf_density, index_size FROM pgstatindex('statuses_pkey')").Scan(&density, &size); err != nil {
			t.Fatal(err)
		}
		st := find(t, m, "statuses")
		var pkey int64
		if err := conn.QueryRow(ctx, "SELECT pg_relation_size('statuses_pkey')").Scan(&pkey); err != nil {
			t.Fatal(err)
		}
		want := max(0, 1-density/90)
		// The other index of statuses is estimated too: compare over both.
		var density2, size2 float64
		if err := conn.QueryRow(ctx, "SELECT avg_leaf_density, index_size FROM pgstatindex('index_statuses_on_account_id_id')").Scan(&density2, &size2); err != nil {
			t.Fatal(err)
		}
		want = (want*size + max(0, 1-density2/90)*size2) / (size + size2)
		got := float64(st.IndexBloatBytes) / float64(st.IndexBytes)
		t.Logf("%s statuses' indexes: bloat estimated %.1f %%, pgstatindex leaf density %.1f %% and %.1f %% (%.1f %% below 90)", when, got*100, density, density2, want*100)
		if got-want > tolerance+0.05 || want-got > tolerance+0.05 {
			t.Errorf("%s: statuses' index bloat estimated at %.1f %%, pgstatindex says %.1f %%", when, got*100, want*100)
		}
		return m
	}
	fresh := check("fresh", 0.05)
	if s := repacks(fresh); len(s) != 0 {
		t.Errorf("a fresh database is worth a repack: %+v", s)
	}
	for _, sql := range []string{"DELETE FROM statuses WHERE id % 2 = 0", "VACUUM statuses", "ANALYZE statuses"} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	after := check("half deleted", 0.10)
	var repack *Saving
	for _, s := range repacks(after) {
		if s.Command == "pg_repack --no-order --table statuses" {
			repack = &s
		}
	}
	st := find(t, after, "statuses")
	if repack == nil || repack.Bytes != st.BloatBytes+st.IndexBloatBytes || !strings.Contains(repack.Note, objectstore.HumanBytes(st.RepackNeeds())+" free") {
		t.Fatalf("no repack of statuses, or without the free disk it needs: %+v", repack)
	}
}

func TestMastodonSavingsCountWhatTootctlRemoves(t *testing.T) {
	_, conn := mastodon(t)
	ctx := context.Background()
	grow(t, conn, 1, 4000)
	ok, err := IsMastodon(ctx, conn)
	if err != nil || !ok {
		t.Fatalf("IsMastodon = %v, %v", ok, err)
	}
	q := func(sql string, dst ...any) {
		t.Helper()
		if err := conn.QueryRow(ctx, sql).Scan(dst...); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(sql string) map[int64]bool {
		t.Helper()
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]bool{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out[id] = true
		}
		return out
	}
	// tootctl statuses remove's selection, applied here in Go to the rows
	// themselves: remote, older than 90 days by the time in its id, and
	// nothing local holding on to it.
	// (Each status is made an hour past a whole day's age: none sits on
	// the cut-off, which tootctl takes to the second.)
	cutoff := time.Now().Add(-90*24*time.Hour).Unix() * 1000 << 16
	held := ids(`SELECT in_reply_to_id FROM statuses WHERE in_reply_to_id IS NOT NULL UNION SELECT status_id FROM status_pins
		UNION SELECT m.status_id FROM mentions m JOIN accounts a ON a.id = m.account_id WHERE a.domain IS NULL
		UNION SELECT f.status_id FROM favourites f JOIN accounts a ON a.id = f.account_id WHERE a.domain IS NULL
		UNION SELECT b.status_id FROM bookmarks b JOIN accounts a ON a.id = b.account_id WHERE a.domain IS NULL`)
	followed := ids(`SELECT target_account_id FROM follows`)
	rows, err := conn.Query(ctx, `SELECT id, account_id, local FROM statuses`)
	if err != nil {
		t.Fatal(err)
	}
	var removed, oldRemote int64
	for rows.Next() {
		var id, account int64
		var local bool
		if err := rows.Scan(&id, &account, &local); err != nil {
			t.Fatal(err)
		}
		if local || id >= cutoff {
			continue
		}
		oldRemote++
		if !held[id] && !followed[account] {
			removed++
		}
	}
	if removed == 0 || removed >= oldRemote {
		t.Fatalf("the data set does not test the exclusions: %d of %d old remote statuses removable", removed, oldRemote)
	}
	var prunable, unattached, media, mediaBytes, cards int64
	q(`SELECT count(*) FROM accounts WHERE domain IS NOT NULL AND actor_type = 'Person' AND silenced_at IS NULL AND suspended_at IS NULL
		AND id NOT IN (SELECT account_id FROM statuses UNION SELECT account_id FROM follows UNION SELECT target_account_id FROM follows
		  UNION SELECT account_id FROM favourites UNION SELECT account_id FROM mentions WHERE account_id IS NOT NULL
		  UNION SELECT target_account_id FROM blocks UNION SELECT account_id FROM blocks UNION SELECT target_account_id FROM mutes
		  UNION SELECT target_account_id FROM reports UNION SELECT account_id FROM follow_requests UNION SELECT target_account_id FROM follow_requests)`, &prunable)
	var lurkers int64
	q(`SELECT count(*) FROM accounts WHERE username LIKE 'lurker%'`, &lurkers)
	if prunable == 0 || prunable >= lurkers {
		t.Fatalf("the data set does not test prune's exclusions: %d of %d accounts that never posted prunable", prunable, lurkers)
	}
	q(`SELECT count(*) FROM media_attachments WHERE file_file_name = 'never-posted.jpg'`, &unattached)
	q(`SELECT count(*), sum(file_file_size) FROM media_attachments m JOIN statuses s ON s.id = m.status_id WHERE NOT s.local AND s.created_at < now() - interval '7 days'`, &media, &mediaBytes)
	q(`SELECT count(*) FROM preview_cards WHERE updated_at < now() - interval '180 days'`, &cards)
	if prunable == 0 || unattached == 0 || media == 0 || cards == 0 {
		t.Fatalf("the data set has nothing to clean: %d %d %d %d", prunable, unattached, media, cards)
	}
	m, err := Measure(ctx, conn, MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	savings, err := MastodonSavings(ctx, conn, m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ rows, bytes int64 }{
		"tootctl statuses remove --days 90":                                      {removed, -1},
		"tootctl accounts prune":                                                 {prunable, -1},
		"tootctl media remove --days 7":                                          {media, mediaBytes},
		"tootctl preview_cards remove --days 180":                                {cards, cards * 20000},
		"none: Sidekiq's daily vacuum (Scheduler::VacuumScheduler) deletes them": {unattached, -1},
	}
	for _, s := range savings {
		w, ok := want[s.Command]
		if !ok {
			if strings.HasPrefix(s.Command, "pg_repack") {
				continue
			}
			t.Errorf("unexpected saving %+v", s)
			continue
		}
		delete(want, s.Command)
		if s.Rows != w.rows || (w.bytes >= 0 && s.Bytes != w.bytes) || (w.rows > 0 && s.Bytes <= 0) {
			t.Errorf("%s: %d rows %d bytes, want %d rows %d bytes", s.Command, s.Rows, s.Bytes, w.rows, w.bytes)
		}
		if strings.Contains(s.Command, "remove-orphans") {
			t.Errorf("remove-orphans deletes no rows: %+v", s)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing savings: %v", want)
	}
	// On an older schema without preview cards the rest still counts.
	if _, err := conn.Exec(ctx, "DROP TABLE preview_cards"); err != nil {
		t.Fatal(err)
	}
	savings, err = MastodonSavings(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := savings[len(savings)-1]; !strings.Contains(s.Note, "not measured") || s.Rows != 0 {
		t.Errorf("missing table: %+v", s)
	}
}

func TestAnUnreachableDatabaseIsSaidPlainly(t *testing.T) {
	_, err := Connect(context.Background(), "postgres://app:hunter2@127.0.0.1:1/mastodon?connect_timeout=2")
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Target != "127.0.0.1:1/mastodon" {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the password is in the error: %v", err)
	}
	if _, err := Connect(context.Background(), "postgres://app:hunter2@[::1"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("a bad DSN: %v", err)
	}
}

func find(t *testing.T, m *Measurement, name string) Table {
	t.Helper()
	for _, tb := range m.Tables {
		if tb.Name == name {
			return tb
		}
	}
	t.Fatalf("no table %s in %+v", name, m.Tables)
	return Table{}
}

// TestAMonitoringRoleMeasuresWhatItMay: a role with pg_monitor and no
// right to read the tables still gets a sample (size, tables, WAL) and
// the clean-up estimates say why they are missing; the cluster's other
// databases are counted beside it.
func TestAMonitoringRoleMeasuresWhatItMay(t *testing.T) {
	c, admin := mastodon(t)
	grow(t, admin, 1, 2000)
	ctx := context.Background()
	if err := c.Exec(ctx, "postgres", "CREATE ROLE watcher LOGIN PASSWORD 'watch-pw' IN ROLE pg_monitor", "CREATE DATABASE sidekiq_stats",
		"GRANT CONNECT ON DATABASE mastodon TO watcher"); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, "sidekiq_stats", "CREATE TABLE s AS SELECT repeat('x', 200) AS v FROM generate_series(1, 20000)"); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, c.DSN("watcher", "watch-pw", "mastodon"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT count(*) FROM statuses"); err == nil {
		t.Fatal("the monitoring role may read statuses: the test proves nothing")
	}
	m, err := Measure(ctx, conn, MeasureOptions{})
	if err != nil {
		t.Fatalf("a pg_monitor role: %v", err)
	}
	if m.Sample.DatabaseBytes <= 0 || m.Sample.WALBytes <= 0 || len(m.Tables) == 0 || m.Tables[0].TotalBytes() <= 0 {
		t.Errorf("sample %+v, tables %+v", m.Sample, m.Tables)
	}
	if m.OtherDatabasesBytes < 4e6 || !strings.Contains(strings.Join(m.Notes, " "), "other database") || !strings.Contains(strings.Join(m.Notes, " "), "count mastodon alone") {
		t.Errorf("the other database sharing the disk: %d bytes, notes %q", m.OtherDatabasesBytes, m.Notes)
	}
	savings, err := MastodonSavings(ctx, conn, m)
	if err != nil {
		t.Fatalf("clean-up estimates with a monitoring role: %v", err)
	}
	denied := 0
	for _, s := range savings {
		if strings.Contains(s.Note, "may not read the table") {
			denied++
		}
	}
	if denied == 0 {
		t.Errorf("no estimate says the role could not read its table: %+v", savings)
	}
}
