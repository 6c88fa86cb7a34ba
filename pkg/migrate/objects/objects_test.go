package objects

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cosocial/cosocial/pkg/pgserver"
)

const testPartSize = MinPartSize

// TestCopyMastodonBucket copies a media bucket as Mastodon fills it and
// holds the copier to its promises: one GET and one PUT per object,
// metadata and ACL carried, every object's SHA-256 in the journal, a
// finished journal that costs one listing to resume, and a Verify that
// finds one corrupted object.
func TestCopyMastodonBucket(t *testing.T) {
	spaces, target := servers(t)
	objs := mastodonSet(1, 3000, 40, map[float64]int64{0.25: 12<<20 + 12345, 0.75: 7<<20 + 1})
	src := bucket(t, spaces, "spaces-media")
	fill(t, spaces, src.Name, objs)
	t.Logf("%d objects, %.0f MB", len(objs), float64(totalSize(objs))/1e6)
	dst := bucket(t, target, "target-media")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := newRecorder(src)
	var (
		mu    sync.Mutex
		snaps []Snapshot
	)
	opts := Options{
		Width: 8, PartSize: testPartSize, Public: true, Journal: pgserver.TempDir(t), Backoff: fast, Transport: rec,
		ProgressInterval: 50 * time.Millisecond, TotalObjects: int64(len(objs)), TotalBytes: totalSize(objs),
		OnProgress: func(s Snapshot) { mu.Lock(); snaps = append(snaps, s); mu.Unlock() },
	}
	start := time.Now()
	res, err := Copy(ctx, src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("copied in %s: %s; requests %s", time.Since(start).Round(time.Millisecond), describe(res.Snapshot), rec)
	if res.Objects != int64(len(objs)) || res.Bytes != totalSize(objs) || res.Failed != 0 || res.Retried != 0 || res.Skipped != 0 {
		t.Fatalf("result %+v, want %d objects and %d bytes, no failure, retry or skip", res.Snapshot, len(objs), totalSize(objs))
	}

	// Requests: exactly one GET per object, one PUT per single-part
	// object, create + parts + complete per multipart one, list pages,
	// and nothing else.
	singles, multis, parts := 0, 0, 0
	for _, o := range objs {
		if o.Size > testPartSize {
			multis++
			parts += int((o.Size + testPartSize - 1) / testPartSize)
		} else {
			singles++
		}
	}
	if multis != 2 {
		t.Fatalf("the set has %d multipart objects, want 2", multis)
	}
	pages := rec.count("src LIST")
	want := map[string]int{
		"src GET": len(objs), "dst PUT": singles, "dst CREATE": multis, "dst PART": parts, "dst COMPLETE": multis,
	}
	for k, n := range want {
		if got := rec.count(k); got != n {
			t.Errorf("%s requests: %d, want %d", k, got, n)
		}
	}
	if pages < len(objs)/pageSize || pages > len(objs)/pageSize+1 {
		t.Errorf("%d list pages for %d objects", pages, len(objs))
	}
	if extra := rec.total() - len(objs) - singles - multis*2 - parts - pages; extra != 0 {
		t.Errorf("%d requests beyond GET, PUT, multipart and listing: %s", extra, rec)
	}
	for k, n := range rec.keys {
		if n != 1 {
			t.Errorf("%s sent %d times", k, n)
		}
	}
	if res.Requests != int64(rec.total()) {
		t.Errorf("Snapshot.Requests = %d, the wire saw %d", res.Requests, rec.total())
	}
	perObject := float64(rec.count("src GET")+rec.count("dst PUT")) / float64(singles)
	t.Logf("requests per single-part object: %.3f (GET+PUT), list pages: %d, total %d for %d objects", perObject, pages, rec.total(), len(objs))
	if rec.noACL != 0 {
		t.Errorf("%d object writes without x-amz-acl: public-read", rec.noACL)
	}

	// Metadata carried over, read at the target.
	tc := rootClient(t, target)
	for i, o := range objs {
		if i%7 != 0 && o.Meta == nil && o.Disposition == "" && o.Encoding == "" {
			continue
		}
		info, err := tc.StatObject(ctx, dst.Name, o.Key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := info.Metadata
		if info.ContentType != o.ContentType || h.Get("Cache-Control") != o.CacheControl || h.Get("Content-Disposition") != o.Disposition || h.Get("Content-Encoding") != o.Encoding {
			t.Fatalf("%s: metadata %v, want type %q cache %q disposition %q encoding %q", o.Key, h, o.ContentType, o.CacheControl, o.Disposition, o.Encoding)
		}
		for k, v := range o.Meta {
			if h.Get(k) != v {
				t.Fatalf("%s: %s = %q, want %q", o.Key, k, h.Get(k), v)
			}
		}
	}

	// The journal holds every object once, with the SHA-256 of its bytes.
	sums := map[string]string{}
	if err := ReadJournal(JournalPath(opts.Journal, src, dst), func(r Record) error {
		if _, dup := sums[r.Key]; dup {
			t.Errorf("%s twice in the journal", r.Key)
		}
		sums[r.Key] = r.SHA256
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if sums[o.Key] != o.sha256() {
			t.Fatalf("%s: journal SHA-256 %q, want %q", o.Key, sums[o.Key], o.sha256())
		}
	}

	// Progress went out while the copy ran, and ended on the result.
	mu.Lock()
	if len(snaps) < 2 || snaps[len(snaps)-1] != res.Snapshot {
		t.Errorf("%d snapshots, last %+v, result %+v", len(snaps), snaps[len(snaps)-1], res.Snapshot)
	}
	mu.Unlock()

	// A finished copy resumed costs one listing page at the source, one
	// listing of unfinished uploads at the target, and copies nothing.
	rec2 := newRecorder(src)
	opts.Transport, opts.OnProgress = rec2, nil
	again, err := Copy(ctx, src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Objects != 0 || again.Previous != int64(len(objs)) || rec2.total() != 2 {
		t.Errorf("resuming a finished copy: %+v, requests %s", again.Snapshot, rec2)
	}

	rep, err := Verify(ctx, src, dst, VerifyOptions{Width: 8, Backoff: fast})
	if err != nil || !rep.OK() || rep.Compared != int64(len(objs)) {
		t.Fatalf("verify after copy: %+v, %v", rep, err)
	}

	// One object overwritten at the target with other bytes of the same
	// size: Verify names exactly that key.
	bad := objs[len(objs)/3]
	body := bad.body()
	body[len(body)/2] ^= 0xff
	if _, err := tc.PutObject(ctx, dst.Name, bad.Key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: bad.ContentType}); err != nil {
		t.Fatal(err)
	}
	var seen []Finding
	rep, err = Verify(ctx, src, dst, VerifyOptions{Width: 8, Backoff: fast, OnFinding: func(f Finding) { seen = append(seen, f) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Different != 1 || rep.Missing+rep.Extra+rep.Unreadable != 0 || len(rep.Findings) != 1 ||
		rep.Findings[0].Key != bad.Key || rep.Findings[0].Kind != Differs || len(seen) != 1 {
		t.Fatalf("verify after corrupting %s: %+v", bad.Key, rep.Findings)
	}
	t.Logf("verify: %s", rep.Findings[0].Detail)
}

// TestCopyReportsFailures: a target the credentials cannot write fails
// every object, and the run stops at MaxFailures instead of marching on.
func TestCopyReportsFailures(t *testing.T) {
	spaces, target := servers(t)
	src := bucket(t, spaces, "spaces-fail")
	fill(t, spaces, src.Name, mastodonSet(3, 60, 0, nil))
	dst := bucket(t, target, "target-fail")
	dst.SecretKey = "wrong-secret"
	res, err := Copy(context.Background(), src, dst, Options{Width: 2, Backoff: fast, MaxFailures: 5})
	if !errors.Is(err, ErrTooManyFailures) || res.Failed < 5 || res.Objects != 0 {
		t.Fatalf("copy to a bucket it cannot write: %+v, %v", res.Snapshot, err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("the error shows the secret: %v", err)
	}
}
