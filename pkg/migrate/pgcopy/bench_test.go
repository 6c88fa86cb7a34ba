package pgcopy

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BenchmarkWriteFreeze measures how long writers must stay stopped to move
// the same Mastodon-shaped database (a) with pg_dump and pg_restore and
// (b) with logical replication and a cutover, on the same two clusters.
// COSOCIAL_PGCOPY_BENCH_STATUSES sets the scale (statuses rows; default
// 60000, about 40 MB with indexes):
//
//	go test -run '^$' -bench WriteFreeze -benchtime 1x ./pkg/migrate/pgcopy/
func BenchmarkWriteFreeze(b *testing.B) {
	statuses := 60000
	if s := os.Getenv("COSOCIAL_PGCOPY_BENCH_STATUSES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 {
			b.Fatalf("COSOCIAL_PGCOPY_BENCH_STATUSES=%q: want a number of rows ≥ 100", s)
		}
		statuses = n
	}
	ctx := context.Background()
	_, dstCluster := clusters(b)
	_, src := sourceDB(b, statuses)
	var dbBytes int64
	conn, err := pgx.Connect(ctx, src)
	if err != nil {
		b.Fatal(err)
	}
	err = conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&dbBytes)
	conn.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Jobs: 2, Poll: 10 * time.Millisecond}

	var dumpFreeze, cutoverFreeze time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// (a) The writers stop, the whole database is dumped and restored.
		plainDB := newDB(b, dstCluster, "ovh_plain", "pgsuper")
		res, err := Copy(ctx, src, keywordDSN(dstCluster, "pgsuper", superPassword, plainDB), opts)
		if err != nil {
			b.Fatal(err)
		}
		dumpFreeze += res.Freeze

		// (b) Writers keep going through the schema, the initial copy
		// and streaming; they stop only for the cutover.
		b.StopTimer()
		lowDB := newDB(b, dstCluster, "ovh_low", "pgsuper")
		dst := keywordDSN(dstCluster, "pgsuper", superPassword, lowDB)
		if _, err := CopySchema(ctx, src, dst, opts); err != nil {
			b.Fatal(err)
		}
		w, err := startWriter(ctx, src)
		if err != nil {
			b.Fatal(err)
		}
		if err := StartReplication(ctx, src, dst, opts); err != nil {
			w.halt()
			b.Fatal(err)
		}
		if _, err := WaitCaughtUp(ctx, src, dst, opts); err != nil {
			w.halt()
			b.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if err := w.halt(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cut, err := Cutover(ctx, src, dst, opts)
		if err != nil {
			b.Fatal(err)
		}
		cutoverFreeze += cut.Freeze
		b.StopTimer()
		// Drop the copies now, not at the end: the next round needs room.
		for _, db := range []string{plainDB, lowDB} {
			if err := dstCluster.Exec(ctx, "postgres", "DROP DATABASE "+db+" WITH (FORCE)"); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	n := float64(b.N)
	dump := dumpFreeze.Seconds() * 1000 / n
	cut := cutoverFreeze.Seconds() * 1000 / n
	b.ReportMetric(dump, "dump-restore-freeze-ms")
	b.ReportMetric(cut, "cutover-freeze-ms")
	b.ReportMetric(dump/cut, "freeze-ratio")
	b.ReportMetric(float64(dbBytes)/(1<<20), "db-MB")
	b.Logf("database %.1f MB (%d statuses): dump-restore froze writes %.0f ms, low-downtime cutover %.0f ms, %.0f× shorter",
		float64(dbBytes)/(1<<20), statuses, dump, cut, dump/cut)
}
