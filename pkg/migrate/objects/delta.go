package objects

import (
	"context"
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"
)

// Delta brings dst up to date with src after a bulk Copy, for what was
// written at the source since: it walks both listings side by side and
// copies the objects the target lacks or holds in another size or an older
// version. Target objects the source no longer has are counted (Extra,
// ExtraKeys) and deleted only with Options.Delete.
//
// Last-Modified has one-second resolution on most servers, so an object
// whose source time equals its copy's is copied again: a copy made in the
// same second as a write may predate it.
func Delta(ctx context.Context, src, dst Endpoint, opts Options) (Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Result{}, err
	}
	c, err := newCopier(src, dst, opts)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := c.stats.report(opts.OnProgress, opts.ProgressInterval)
	failures, extras := newSample(100), newSample(1000)
	fail := func(key string, err error) {
		if n := c.stats.failed.Add(1); n >= int64(opts.MaxFailures) {
			cancel(fmt.Errorf("%w (%d): last %s: %v", ErrTooManyFailures, n, key, err))
		}
		failures.add(key, err)
	}

	type task struct {
		key    string
		remove bool
	}
	listErr := pool(ctx, opts.Width, func(emit func(task) bool) error {
		for p, err := range c.join(ctx) {
			if err != nil {
				return err
			}
			if p.src != nil {
				c.stats.listed.Add(1)
				c.stats.listedBytes.Add(p.src.Size)
			}
			switch {
			case p.src == nil:
				c.stats.extra.Add(1)
				extras.add(p.dst.Key, nil)
				if opts.Delete && !emit(task{key: p.dst.Key, remove: true}) {
					return context.Cause(ctx)
				}
			case p.dst == nil || p.src.Size != p.dst.Size || !p.src.LastModified.Before(p.dst.LastModified):
				if !emit(task{key: p.src.Key}) {
					return context.Cause(ctx)
				}
			default:
				c.stats.skipped.Add(1)
				c.stats.skippedBytes.Add(p.src.Size)
			}
		}
		c.stats.listingDone.Store(true)
		return nil
	}, func(t task) {
		if t.remove {
			err := c.retry(ctx, func(ctx context.Context) error {
				return c.dst.RemoveObject(ctx, c.dstBucket, t.key, minio.RemoveObjectOptions{})
			})
			switch {
			case err == nil:
				c.stats.deleted.Add(1)
				if opts.OnDeleted != nil {
					opts.OnDeleted(t.key)
				}
			case ctx.Err() == nil:
				fail(t.key, fmt.Errorf("%s: deleting from the target: %w", t.key, err))
			}
			return
		}
		_, err := c.copy(ctx, t.key)
		switch {
		case err == nil:
			c.stats.objects.Add(1)
		case errors.Is(err, errGone):
			c.stats.gone.Add(1)
		case ctx.Err() == nil:
			fail(t.key, err)
		}
	})
	res := Result{Snapshot: stop(), FailedKeys: failures.keys, ExtraKeys: extras.keys}
	switch {
	case ctx.Err() != nil:
		return res, context.Cause(ctx)
	case listErr != nil:
		return res, listErr
	case res.Failed > 0:
		return res, &FailedError{Count: res.Failed, Keys: failures.keys, First: failures.first}
	}
	return res, nil
}
