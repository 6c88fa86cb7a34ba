package objects

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cosocial/cosocial/pkg/pgserver"
)

// BenchmarkResentAfterKills measures what killed copies cost on resume,
// for this copier and for rclone as its experts tune it: 2,000
// Mastodon-like objects (206 MB: 25 videos, three of them multipart) are
// copied once without a stop, then again into an empty bucket by a
// process killed with SIGKILL ten times, at evenly spaced eleventh parts
// of the clean copy's bytes, each run resuming (ours from its journal,
// rclone from the target's listing) until a last run finishes. The bytes
// the target read off the wire in the killed copy beyond the clean copy's
// are the ones sent again, uploads cut short by a kill included; of
// those, the uploads (whole objects or parts) that had succeeded before
// and were done again are the work a resume failed to keep. Both split
// objects over 5 MiB into 5 MiB parts.
//
//	go test ./pkg/migrate/objects/ -run '^$' -bench ResentAfterKills -benchtime 1x
func BenchmarkResentAfterKills(b *testing.B) {
	spaces, target := servers(b)
	objs := mastodonSet(23, 2000, 25, map[float64]int64{0.25: 18<<20 + 333, 0.5: 26 << 20, 0.75: 12<<20 + 77})
	src := bucket(b, spaces, "kills-src")
	fill(b, spaces, src.Name, objs)
	size := totalSize(objs)
	const kills, width = 10, 8

	type copier struct {
		name  string
		start func(dst Endpoint, journal string) *exec.Cmd
	}
	copiers := []copier{{"ours", func(dst Endpoint, journal string) *exec.Cmd {
		return childCommand("copy", childConfig{Src: src, Dst: dst, Journal: journal, Width: width, PartSize: testPartSize})
	}}}
	if rclone, err := exec.LookPath("rclone"); err == nil {
		copiers = append(copiers, copier{"rclone", func(dst Endpoint, _ string) *exec.Cmd {
			cmd := exec.Command(rclone, "copy", "src:"+src.Name, "dst:"+dst.Name, "--transfers", strconv.Itoa(width), "--checkers", strconv.Itoa(width),
				"--fast-list", "--s3-no-head", "--use-server-modtime", "--s3-upload-cutoff", "5Mi", "--s3-chunk-size", "5Mi",
				"--s3-no-check-bucket", "--config", os.DevNull, "-q")
			cmd.Env = rcloneEnv(map[string]Endpoint{"SRC": src, "DST": dst})
			return cmd
		}})
	} else {
		b.Logf("rclone is not installed (%v): measuring ours alone", err)
	}

	wire, repeated := map[string]float64{}, map[string]float64{}
	for i := 0; i < b.N; i++ {
		for _, c := range copiers {
			g := newGate(b, target.Endpoint())
			// run copies into dst through the gate, killed once the gate
			// has read killAt bytes (never when 0); it says whether the
			// kill came before the copy ended.
			run := func(dst Endpoint, journal string, killAt int64) bool {
				through := dst
				through.Endpoint = g.URL
				cmd := c.start(through, journal)
				var once sync.Once
				killed := false
				if killAt > 0 {
					on := func(total int64) {
						if total >= killAt {
							once.Do(func() { killed = true; cmd.Process.Kill() })
						}
					}
					g.onBody.Store(&on)
				}
				out, err := cmd.CombinedOutput()
				g.onBody.Store(nil)
				once.Do(func() {}) // orders the read of killed after the kill
				if !killed && err != nil {
					b.Fatalf("%s: %v: %s", c.name, err, out)
				}
				return killed
			}
			clean := bucket(b, target, "kills-clean")
			run(clean, pgserver.TempDir(b), 0)
			cleanBytes := g.body.Load()

			g.body.Store(0)
			dst := bucket(b, target, "kills-dst")
			journal := pgserver.TempDir(b)
			for k := int64(1); k <= kills; k++ {
				if !run(dst, journal, cleanBytes*k/(kills+1)) {
					b.Fatalf("%s: kill %d: the copy ended before it", c.name, k)
				}
			}
			run(dst, journal, 0)
			rep, err := Verify(context.Background(), src, dst, VerifyOptions{Width: 8, Backoff: fast})
			if err != nil || !rep.OK() {
				b.Fatalf("%s: verify after %d kills: %+v, %v", c.name, kills, rep.Findings, err)
			}
			r := float64(g.body.Load()-cleanBytes) / float64(cleanBytes) * 100
			g.mu.Lock()
			twice := float64(g.repeated) / float64(cleanBytes) * 100
			g.mu.Unlock()
			wire[c.name] += r / float64(b.N)
			repeated[c.name] += twice / float64(b.N)
			b.Logf("%s: an uninterrupted copy sent %.1f MB; with %d kills %.1f MB on the wire, %.1f %% more (%.1f MB a kill, uploads cut off by a kill included); "+
				"uploads that had succeeded and were done again: %.2f %% of the bytes",
				c.name, float64(cleanBytes)/1e6, kills, float64(g.body.Load())/1e6, r, float64(g.body.Load()-cleanBytes)/1e6/kills, twice)
		}
	}
	for _, c := range copiers {
		b.ReportMetric(wire[c.name], c.name+"_wire_extra_%")
		b.ReportMetric(repeated[c.name], c.name+"_redone_%")
	}
	b.Logf("%d objects, %.0f MB, width %d, %d kills", len(objs), float64(size)/1e6, width, kills)
}

// rcloneEnv configures rclone remotes, one per name, from the
// environment: no config file is read or written.
func rcloneEnv(remotes map[string]Endpoint) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		// rclone's S3 backend refuses the CA bundle these machines set.
		if !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") && !strings.HasPrefix(kv, "RCLONE_") {
			env = append(env, kv)
		}
	}
	for name, e := range remotes {
		p := "RCLONE_CONFIG_" + name + "_"
		env = append(env, p+"TYPE=s3", p+"PROVIDER=Other", p+"ACCESS_KEY_ID="+e.AccessKey, p+"SECRET_ACCESS_KEY="+e.SecretKey,
			p+"ENDPOINT="+e.Endpoint, p+"REGION=us-east-1", p+"FORCE_PATH_STYLE=true")
	}
	return env
}
