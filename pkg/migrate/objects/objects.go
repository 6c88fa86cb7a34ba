// Package objects copies a bucket's objects to another provider's bucket
// over the S3 API (DigitalOcean Spaces to the target's S3), proves every
// copy intact with hashes taken while the bytes stream, resumes a killed
// run from a journal, catches up with objects written since (Delta) and
// checks the two buckets against each other later (Verify).
//
// Listings are read a page at a time and never kept, so memory stays flat
// for millions of objects. A first copy costs one GET and one PUT per
// object (multipart above Options.PartSize); nothing here prints: progress
// goes out as Snapshots for the command layer to draw. It is apart from
// objectstore, whose Bucket it takes, because copying at scale (pages,
// journal, parts, retries) is a job of its own; objectstore's chores read
// a bucket whole.
package objects

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/provider"
)

// Endpoint is one end of a copy: a bucket, its credentials, and the region
// its requests are signed for.
type Endpoint struct {
	objectstore.Bucket
	// Region signs the requests. Empty: read from the endpoint's host for
	// DigitalOcean Spaces (tor1.digitaloceanspaces.com → tor1) and OVHcloud
	// (s3.bhs.io.cloud.ovh.net → bhs), us-east-1 elsewhere. It is never
	// asked of the server, which would cost a request per client.
	Region string
}

// MinPartSize is S3's smallest part; only a multipart upload's last part
// may be smaller.
const MinPartSize = 5 << 20

// Options tunes Copy and Delta.
type Options struct {
	// Width is how many objects move at once (default 16). The journal's
	// out-of-order window, and so its memory, is 128 keys per unit of width.
	Width int
	// PartSize: objects above it go up in multipart parts of this size,
	// the others in one PUT (default 16 MiB, at least MinPartSize).
	PartSize int64
	// Public writes every object with a public-read ACL, carried on its
	// PUT; set it when the source bucket serves media to the world.
	Public bool
	// Journal is a folder for the resumable journal; empty copies without
	// one. Delta does not use it: a merge-join needs no memory of a run.
	Journal string
	// Backoff retries transient failures (SlowDown, 500, 503, timeouts,
	// connection resets); zero means provider.DefaultBackoff.
	Backoff provider.Backoff
	// StallTimeout retries a transfer that moved no byte for this long
	// (default 2 minutes): a connection can hang without failing.
	StallTimeout time.Duration
	// MaxFailures stops the run after this many objects failed for good
	// (default 100): past that it is credentials or a policy, not bad luck.
	MaxFailures int
	// Delete makes Delta remove target objects that the source no longer
	// has; off, it only reports them. OnDeleted, when set, hears each key
	// removed, from several goroutines at once.
	Delete    bool
	OnDeleted func(key string)
	// Transport carries both ends' requests; nil is a pooled transport
	// sized for Width. It must not decompress bodies (Go's default does
	// when it asked for gzip itself).
	Transport http.RoundTripper
	// OnProgress receives counters every ProgressInterval (default half a
	// second) and once at the end, never concurrently.
	OnProgress       func(Snapshot)
	ProgressInterval time.Duration
	// TotalObjects and TotalBytes, when known beforehand (the provider's
	// bucket usage), give an ETA before the listing ends.
	TotalObjects, TotalBytes int64
}

const windowPerWorker = 128

func (o Options) withDefaults() (Options, error) {
	if o.Width <= 0 {
		o.Width = 16
	}
	if o.PartSize == 0 {
		o.PartSize = 16 << 20
	}
	if o.PartSize < MinPartSize {
		return o, fmt.Errorf("part size %s is below S3's minimum of %s", objectstore.HumanBytes(o.PartSize), objectstore.HumanBytes(MinPartSize))
	}
	if o.Backoff.Attempts <= 0 {
		o.Backoff = provider.DefaultBackoff
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = 2 * time.Minute
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 100
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = 500 * time.Millisecond
	}
	return o, nil
}

// Result is what a Copy or Delta did: the last Snapshot, and some of the
// keys behind its Failed and Extra counts.
type Result struct {
	Snapshot
	FailedKeys []string // the first 100 objects that failed
	ExtraKeys  []string // Delta: the first 1000 target objects absent from the source
}

// FailedError says a run finished without some objects. A Copy records
// them in its journal as failed, so a resumed Copy does not retry them:
// Delta does, once the cause is fixed.
type FailedError struct {
	Count int64
	Keys  []string // the first few
	First error    // why the first one failed
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d objects failed; the first: %v", e.Count, e.First)
}

// ErrTooManyFailures stops a run after Options.MaxFailures objects failed.
var ErrTooManyFailures = errors.New("too many objects failed")

// Copy copies every object of src to dst, one GET and one PUT each, and
// verifies each copy from the hashes of the streamed bytes. With a journal
// it continues where an earlier run stopped: objects that run finished are
// neither read nor written again.
func Copy(ctx context.Context, src, dst Endpoint, opts Options) (Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Result{}, err
	}
	c, err := newCopier(src, dst, opts)
	if err != nil {
		return Result{}, err
	}
	var (
		j      *journal
		resume resumeState
	)
	if opts.Journal != "" {
		j, resume, err = openJournal(JournalPath(opts.Journal, src, dst), src, dst)
		if err != nil {
			return Result{}, err
		}
		c.stats.previous.Store(resume.objects)
		c.stats.previousBytes.Store(resume.bytes)
		c.journal = j
		// An upload a killed run left open is taken over by the copy of its
		// key, which keeps the parts already sent (only the last upload of
		// a key; any earlier one is aborted). Those no copy takes over are
		// aborted at the end, with the target's other stale uploads.
		c.open = map[string]string{}
		stale := map[string][]string{}
		for key, ids := range resume.uploads {
			if len(ids) == 0 {
				continue
			}
			c.open[key] = ids[len(ids)-1]
			stale[key] = ids[:len(ids)-1]
		}
		c.abortStale(ctx, stale)
	}
	resumed := resume.objects > 0 || len(resume.uploads) > 0 || resume.low != ""
	w := newWindow(opts.Width*windowPerWorker, resume.low, j)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := c.stats.report(opts.OnProgress, opts.ProgressInterval)
	failures := newSample(100)

	listErr := pool(ctx, opts.Width, func(emit func(job) bool) error {
		for obj, err := range c.list(ctx, c.src, src.Name, resume.low) {
			if err != nil {
				return err
			}
			c.stats.listed.Add(1)
			c.stats.listedBytes.Add(obj.Size)
			if _, ok := resume.done[obj.Key]; ok {
				delete(resume.done, obj.Key)
				c.stats.skipped.Add(1)
				c.stats.skippedBytes.Add(obj.Size)
				if _, err := w.push(ctx, obj.Key, true); err != nil {
					return err
				}
				continue
			}
			seq, err := w.push(ctx, obj.Key, false)
			if err != nil {
				return err
			}
			if !emit(job{seq: seq, key: obj.Key}) {
				return context.Cause(ctx)
			}
		}
		c.stats.listingDone.Store(true)
		return nil
	}, func(jb job) {
		var line *journalLine
		got, err := c.copy(ctx, jb.key)
		switch {
		case err == nil:
			c.stats.objects.Add(1)
			line = &journalLine{Key: jb.key, Size: got.size, SHA256: got.sha256}
		case errors.Is(err, errGone):
			c.stats.gone.Add(1)
		case ctx.Err() != nil:
			// Cancelled: left unsettled, so the next run copies it again.
			return
		default:
			if n := c.stats.failed.Add(1); n >= int64(opts.MaxFailures) {
				cancel(fmt.Errorf("%w (%d): last %s: %v", ErrTooManyFailures, n, jb.key, err))
			}
			failures.add(jb.key, err)
			line = &journalLine{Failed: jb.key, Error: err.Error()}
		}
		if err := w.settle(jb.seq, line); err != nil {
			cancel(err)
		}
	})
	for key, id := range c.open {
		c.abort(ctx, key, id) // no copy took it over: the object was done, or is gone
	}
	if ctx.Err() == nil && listErr == nil && (resumed || c.lostStart.Load()) {
		// A start whose answer never came (retried, or in flight when an
		// earlier run stopped) left an upload no journal can name: ask the
		// target, once, when every upload of this run is finished.
		c.abortUnjournaled(ctx, time.Now())
	}
	closeErr := w.close()
	res := Result{Snapshot: stop(), FailedKeys: failures.keys}
	switch {
	case ctx.Err() != nil:
		return res, context.Cause(ctx)
	case listErr != nil:
		return res, listErr
	case closeErr != nil:
		return res, closeErr
	case res.Failed > 0:
		return res, &FailedError{Count: res.Failed, Keys: failures.keys, First: failures.first}
	}
	return res, nil
}

type job struct {
	seq uint64
	key string
}
