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
	"github.com/cosocial/cosocial/pkg/pgserver"
)

var mastodonSchema = rehearse.MastodonSchema

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
		fmt.Sprintf(`INSERT INTO accounts (username, domain, note)
		  SELECT 'user%[1]d_' || i, CASE WHEN i %% 4 = 0 THEN NULL ELSE 'remote' || (i %% 50) || '.example' END, repeat(md5(i::text), 8)
		  FROM generate_series(1, %[2]d) i`, step, n/10),
		fmt.Sprintf(`INSERT INTO statuses (uri, text, account_id, local, created_at)
		  SELECT 'https://x/' || i, CASE WHEN i %% 20 = 0 THEN (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 80)) ELSE repeat('toot ', 30) END,
		         a.id, a.domain IS NULL, now() - (i %% 200) * interval '1 day'
		  FROM generate_series(1, %[1]d) i
		  JOIN LATERAL (SELECT id, domain FROM accounts ORDER BY id DESC OFFSET (i %% %[2]d) LIMIT 1) a ON true`, n, n/10),
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
	for step := 1; step <= 4; step++ {
		grow(t, conn, step, 6000)
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
		if st.Rows != int64(6000*step) || st.TableBytes == 0 || st.IndexBytes == 0 || st.ToastBytes == 0 {
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

func TestMastodonSavingsCountWhatTootctlRemoves(t *testing.T) {
	_, conn := mastodon(t)
	ctx := context.Background()
	grow(t, conn, 1, 4000)
	ok, err := IsMastodon(ctx, conn)
	if err != nil || !ok {
		t.Fatalf("IsMastodon = %v, %v", ok, err)
	}
	// The truths, counted independently of the clean-up queries.
	var oldRemote, lonely, media, mediaBytes, cards int64
	q := func(sql string, dst ...any) {
		if err := conn.QueryRow(ctx, sql).Scan(dst...); err != nil {
			t.Fatal(err)
		}
	}
	q(`SELECT count(*) FROM statuses WHERE NOT local AND created_at < now() - interval '90 days'`, &oldRemote)
	q(`SELECT count(*) FROM accounts WHERE domain IS NOT NULL AND id NOT IN (SELECT account_id FROM follows UNION SELECT target_account_id FROM follows)`, &lonely)
	q(`SELECT count(*), sum(file_file_size) FROM media_attachments m JOIN statuses s ON s.id = m.status_id WHERE NOT s.local AND s.created_at < now() - interval '7 days'`, &media, &mediaBytes)
	q(`SELECT count(*) FROM preview_cards WHERE updated_at < now() - interval '180 days'`, &cards)
	if oldRemote == 0 || lonely == 0 || media == 0 || cards == 0 {
		t.Fatalf("the data set has nothing to clean: %d %d %d %d", oldRemote, lonely, media, cards)
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
		"tootctl statuses remove --days 90":       {oldRemote, -1},
		"tootctl accounts prune":                  {lonely, -1},
		"tootctl media remove --days 7":           {media, mediaBytes},
		"tootctl preview_cards remove --days 180": {cards, cards * 20000},
		"tootctl media remove-orphans":            {0, 0},
	}
	for _, s := range savings {
		w, ok := want[s.Command]
		if !ok {
			if strings.HasPrefix(s.Command, "pg_repack") && s.Bytes == m.BloatBytes {
				continue
			}
			t.Errorf("unexpected saving %+v", s)
			continue
		}
		delete(want, s.Command)
		if s.Rows != w.rows || (w.bytes >= 0 && s.Bytes != w.bytes) || (w.rows > 0 && s.Bytes <= 0) {
			t.Errorf("%s: %d rows %d bytes, want %d rows %d bytes", s.Command, s.Rows, s.Bytes, w.rows, w.bytes)
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
