package objects

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/pgserver"
)

// BenchmarkCopyVersusRclone times Copy and Debian's rclone on the same two
// versitygw servers and the same 2,000 Mastodon-like objects, each into an
// empty bucket, at the same width (COSOCIAL_BENCH_WIDTH, default 16).
// rclone runs twice: as its experts tune it for a bucket-to-bucket copy
// (--fast-list: one recursive listing instead of one per folder, which
// Mastodon's deep paths make many; --s3-no-head: no HEAD after each
// upload; --use-server-modtime: no metadata read for the modification
// time), and with its defaults. The order of the three alternates from
// one iteration to the next, so that neither side always meets a warm or
// a cold server:
//
//	go test ./pkg/migrate/objects/ -run '^$' -bench CopyVersusRclone -benchtime 4x
func BenchmarkCopyVersusRclone(b *testing.B) {
	rclone, err := exec.LookPath("rclone")
	if err != nil {
		b.Skipf("SKIP: rclone is not installed: %v", err)
	}
	width := 16
	if s := os.Getenv("COSOCIAL_BENCH_WIDTH"); s != "" {
		if width, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	spaces, target := servers(b)
	objs := mastodonSet(11, 2000, 25, nil)
	src := bucket(b, spaces, "bench-src")
	fill(b, spaces, src.Name, objs)
	size := totalSize(objs)
	b.Logf("%d objects, %.0f MB, width %d", len(objs), float64(size)/1e6, width)
	ctx := context.Background()

	var requests int64
	ours := func() time.Duration {
		dst := bucket(b, target, "bench-ours")
		start := time.Now()
		res, err := Copy(ctx, src, dst, Options{Width: width, Journal: pgserver.TempDir(b)})
		took := time.Since(start)
		if err != nil || res.Objects != int64(len(objs)) {
			b.Fatalf("copy: %+v, %v", res.Snapshot, err)
		}
		requests = res.Requests
		return took
	}
	theirs := func(flags ...string) func() time.Duration {
		return func() time.Duration {
			dst := bucket(b, target, "bench-rclone")
			env := rcloneEnv(map[string]Endpoint{"SRC": src, "DST": dst})
			args := append([]string{"copy", "src:" + src.Name, "dst:" + dst.Name, "--transfers", strconv.Itoa(width), "--checkers", strconv.Itoa(width),
				"--s3-no-check-bucket", "--config", os.DevNull, "-q"}, flags...)
			cmd := exec.Command(rclone, args...)
			cmd.Env = env
			start := time.Now()
			out, err := cmd.CombinedOutput()
			took := time.Since(start)
			if err != nil {
				b.Fatalf("rclone %v: %v: %s", flags, err, out)
			}
			if got := listing(b, target, dst.Name); len(got) != len(objs) {
				b.Fatalf("rclone %v copied %d objects of %d", flags, len(got), len(objs))
			}
			return took
		}
	}
	runs := []struct {
		name string
		run  func() time.Duration
	}{
		{"ours", ours},
		{"rclone tuned", theirs("--fast-list", "--s3-no-head", "--use-server-modtime")},
		{"rclone default", theirs()},
	}
	n := float64(len(objs))
	round := 0
	for b.Loop() {
		took := map[string]time.Duration{}
		for k := range runs {
			r := runs[(k+round)%len(runs)]
			took[r.name] = r.run()
		}
		round++
		b.ReportMetric(n/took["ours"].Seconds(), "ours_obj/s")
		b.ReportMetric(n/took["rclone tuned"].Seconds(), "rclone_tuned_obj/s")
		b.ReportMetric(took["rclone tuned"].Seconds()/took["ours"].Seconds(), "speedup_vs_tuned")
		b.ReportMetric(took["rclone default"].Seconds()/took["ours"].Seconds(), "speedup_vs_default")
		b.Logf("round %d (first: %s): ours %s (%.0f obj/s, %.1f MB/s, %d requests); rclone tuned %s; rclone default %s; ours/tuned = %.2f, ours/default = %.2f",
			round, runs[(round-1)%len(runs)].name, took["ours"].Round(time.Millisecond), n/took["ours"].Seconds(), float64(size)/1e6/took["ours"].Seconds(), requests,
			took["rclone tuned"].Round(time.Millisecond), took["rclone default"].Round(time.Millisecond),
			took["rclone tuned"].Seconds()/took["ours"].Seconds(), took["rclone default"].Seconds()/took["ours"].Seconds())
	}
}
