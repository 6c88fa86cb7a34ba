package objects

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestDeltaCatchesWritesDuringCopy writes to the source while the bulk
// copy runs (new objects across the key space, overwrites of the same
// size and of another, deletions); Delta then brings the target level,
// reports the objects deleted at the source and removes them only when
// asked.
func TestDeltaCatchesWritesDuringCopy(t *testing.T) {
	spaces, target := servers(t)
	objs := mastodonSet(4, 400, 0, nil)
	src := bucket(t, spaces, "spaces-live")
	fill(t, spaces, src.Name, objs)
	dst := bucket(t, target, "target-live")
	ctx := context.Background()
	sc := rootClient(t, spaces)

	final := map[string]object{}
	for _, o := range objs {
		final[o.Key] = o
	}
	var deleted []string
	var (
		once     sync.Once
		writeErr error
		wrote    bool
	)
	rec := newRecorder(src)
	rec.onPut = func(n int) {
		if n != 60 {
			return
		}
		once.Do(func() {
			wrote = true
			for _, o := range mastodonSet(5, 30, 0, nil) {
				writeErr = errors.Join(writeErr, put(ctx, sc, src.Name, o))
				final[o.Key] = o
			}
			for i := 0; i < 40; i++ {
				o := objs[(i*37+11)%len(objs)]
				switch {
				case i < 20:
					o.Seed++
				case i < 30:
					o.Seed++
					o.Size += 1000
				default:
					writeErr = errors.Join(writeErr, sc.RemoveObject(ctx, src.Name, o.Key, minio.RemoveObjectOptions{}))
					delete(final, o.Key)
					deleted = append(deleted, o.Key)
					continue
				}
				writeErr = errors.Join(writeErr, put(ctx, sc, src.Name, o))
				final[o.Key] = o
			}
		})
	}
	res, err := Copy(ctx, src, dst, Options{Width: 4, Backoff: fast, Transport: rec})
	if err != nil || writeErr != nil || !wrote {
		t.Fatalf("copy: %v; writes during it: %v (done %v)", err, writeErr, wrote)
	}
	t.Logf("bulk copy: %s (gone: %d)", describe(res.Snapshot), res.Gone)

	atTarget := listing(t, target, dst.Name)
	var extra []string
	for _, k := range deleted {
		if _, ok := atTarget[k]; ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)

	res, err = Delta(ctx, src, dst, Options{Width: 4, Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("delta: %s, extra %d, skipped %d", describe(res.Snapshot), res.Extra, res.Skipped)
	if res.Extra != int64(len(extra)) || !slices.Equal(res.ExtraKeys, extra) || res.Deleted != 0 {
		t.Fatalf("delta reported extra %v (deleted %d), want %v", res.ExtraKeys, res.Deleted, extra)
	}
	if res.Objects == 0 || res.Skipped == 0 {
		t.Fatalf("delta copied %d and skipped %d: it should copy the changes and skip the rest", res.Objects, res.Skipped)
	}
	rep, err := Verify(ctx, src, dst, VerifyOptions{Width: 4, Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, f := range rep.Findings {
		if f.Kind != ExtraAtTarget {
			t.Errorf("after delta: %+v", f)
		}
		found = append(found, f.Key)
	}
	if !slices.Equal(found, extra) {
		t.Fatalf("verify after delta found %v, want the deleted %v", found, extra)
	}

	res, err = Delta(ctx, src, dst, Options{Width: 4, Backoff: fast, Delete: true})
	if err != nil || res.Deleted != int64(len(extra)) {
		t.Fatalf("delta with delete: %+v, %v", res.Snapshot, err)
	}
	rep, err = Verify(ctx, src, dst, VerifyOptions{Width: 4, Backoff: fast})
	if err != nil || !rep.OK() {
		t.Fatalf("verify after delta with delete: %+v, %v", rep.Findings, err)
	}
	got := listing(t, target, dst.Name)
	if len(got) != len(final) {
		t.Fatalf("target holds %d objects, the source %d", len(got), len(final))
	}
	for k, o := range final {
		if got[k] != o.Size {
			t.Fatalf("%s: %d bytes at the target, want %d", k, got[k], o.Size)
		}
	}
}
