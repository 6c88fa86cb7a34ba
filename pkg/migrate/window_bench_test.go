package migrate

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cosocial/cosocial/pkg/migrate/rehearse"
)

// BenchmarkWindowFreeze measures what members notice of the cutover: how
// long they cannot write, from stop-writers to start-target as the
// journal records it, across the whole window (the app stopped, the last
// objects synced, the database moved, the settings rewritten, the app
// started at the target and found healthy). The database moves by
// logical replication (its target login subscribing through aiven_extras,
// as on OVHcloud) and by dump and restore, each from a source grown to
// COSOCIAL_WINDOW_BENCH_MB of database (default 1024):
//
//	go test -run '^$' -bench WindowFreeze -benchtime 1x ./pkg/migrate/
func BenchmarkWindowFreeze(b *testing.B) {
	mb := 1024
	if s := os.Getenv("COSOCIAL_WINDOW_BENCH_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 {
			b.Fatalf("COSOCIAL_WINDOW_BENCH_MB=%q: want a size in MB of at least 10", s)
		}
		mb = n
	}
	frozen := map[bool]time.Duration{}
	var dbBytes int64
	for _, low := range []bool{true, false} {
		name := map[bool]string{true: "low-downtime", false: "dump-restore"}[low]
		b.Run(name, func(b *testing.B) {
			var sum time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ctx := context.Background()
				w := newWindow(b, windowOptions{lowDowntime: low, seed: rehearse.Options{Statuses: 3000, Objects: 150, Seed: 2},
					grow: func(tb testing.TB, dsn string) { dbBytes = growDatabase(tb, dsn, int64(mb)<<20) }})
				if err := w.r.Bulk(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := w.r.Cutover(ctx); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				sum += Frozen(w.j.Status())
				var in []string
				inWindow := false
				for _, st := range w.j.Status() {
					inWindow = inWindow || st.Name == "stop-writers"
					if inWindow && st.Name != "switch-dns" {
						in = append(in, fmt.Sprintf("%s %.2fs", st.Name, st.Finished.Sub(st.Started).Seconds()))
					}
					if st.Name == "start-target" {
						inWindow = false
					}
				}
				b.Logf("the window's steps: %s", strings.Join(in, ", "))
				// The target app stops writing before the next round runs.
				if err := run(ctx, w.tgt, w.app.Stop); err != nil {
					b.Fatal(err)
				}
			}
			frozen[low] = sum / time.Duration(b.N)
			b.ReportMetric(frozen[low].Seconds(), "freeze-s")
			b.ReportMetric(float64(dbBytes)/(1<<20), "db-MB")
		})
	}
	if frozen[true] > 0 && frozen[false] > 0 {
		b.Logf("database %.0f MB: members could not write for %.1f s with low-downtime mode, %.1f s with dump-restore (%.1f× shorter)",
			float64(dbBytes)/(1<<20), frozen[true].Seconds(), frozen[false].Seconds(), frozen[false].Seconds()/frozen[true].Seconds())
	}
}

// growDatabase adds posts of about a kilobyte each to the source's
// statuses until the database holds size bytes, and returns its size.
func growDatabase(tb testing.TB, dsn string, size int64) int64 {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	for {
		var have int64
		if err := conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&have); err != nil {
			tb.Fatal(err)
		}
		if have >= size {
			return have
		}
		// Random text, so that no layer compresses it away.
		rows := min(100000, (size-have)/1000+1)
		if _, err := conn.Exec(ctx, `INSERT INTO statuses (uri, text, account_id, local)
			SELECT 'bulk-' || g, (SELECT string_agg(md5(random()::text), ' ') FROM generate_series(1, 28) WHERE g > 0), 1, true
			FROM generate_series(1, $1::bigint) g`, rows); err != nil {
			tb.Fatal(err)
		}
	}
}
