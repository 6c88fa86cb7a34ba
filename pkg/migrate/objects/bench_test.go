package objects

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/pgserver"
)

// BenchmarkCopyVersusRclone times Copy and Debian's rclone on the same two
// versitygw servers and the same 2,000 Mastodon-like objects, each into an
// empty bucket, at the same width (COSOCIAL_BENCH_WIDTH, default 16):
//
//	go test ./pkg/migrate/objects/ -run '^$' -bench CopyVersusRclone -benchtime 1x
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

	for b.Loop() {
		dst := bucket(b, target, "bench-ours")
		start := time.Now()
		res, err := Copy(ctx, src, dst, Options{Width: width, Journal: pgserver.TempDir(b)})
		ours := time.Since(start)
		if err != nil || res.Objects != int64(len(objs)) {
			b.Fatalf("copy: %+v, %v", res.Snapshot, err)
		}

		dst = bucket(b, target, "bench-rclone")
		env := []string{}
		for _, kv := range os.Environ() {
			// rclone's S3 backend refuses the CA bundle these machines set.
			if !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") && !strings.HasPrefix(kv, "RCLONE_") {
				env = append(env, kv)
			}
		}
		for name, e := range map[string]Endpoint{"SRC": src, "DST": dst} {
			p := "RCLONE_CONFIG_" + name + "_"
			env = append(env, p+"TYPE=s3", p+"PROVIDER=Other", p+"ACCESS_KEY_ID="+e.AccessKey, p+"SECRET_ACCESS_KEY="+e.SecretKey,
				p+"ENDPOINT="+e.Endpoint, p+"REGION=us-east-1", p+"FORCE_PATH_STYLE=true")
		}
		cmd := exec.Command(rclone, "copy", "src:"+src.Name, "dst:"+dst.Name, "--transfers", strconv.Itoa(width), "--checkers", strconv.Itoa(width),
			"--s3-no-check-bucket", "--config", os.DevNull, "-q")
		cmd.Env = env
		start = time.Now()
		out, err := cmd.CombinedOutput()
		theirs := time.Since(start)
		if err != nil {
			b.Fatalf("rclone: %v: %s", err, out)
		}
		if got := listing(b, target, dst.Name); len(got) != len(objs) {
			b.Fatalf("rclone copied %d objects of %d", len(got), len(objs))
		}

		n := float64(len(objs))
		ratio := ours.Seconds() / theirs.Seconds()
		b.ReportMetric(n/ours.Seconds(), "ours_obj/s")
		b.ReportMetric(n/theirs.Seconds(), "rclone_obj/s")
		b.ReportMetric(1/ratio, "speedup")
		b.Logf("ours: %s, %.0f obj/s, %.1f MB/s, %d requests; rclone: %s, %.0f obj/s, %.1f MB/s; ours/rclone objects/s = %.2f",
			ours.Round(time.Millisecond), n/ours.Seconds(), float64(size)/1e6/ours.Seconds(), res.Requests,
			theirs.Round(time.Millisecond), n/theirs.Seconds(), float64(size)/1e6/theirs.Seconds(), 1/ratio)
	}
}
