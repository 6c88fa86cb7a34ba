package objects

import (
	"context"
	"fmt"
	"iter"

	"github.com/minio/minio-go/v7"
)

const pageSize = 1000

// list yields a bucket's objects after a key, a page at a time. A page
// that fails for a transient reason is asked again from the last key
// seen; keys out of lexicographic order stop the listing, since the
// journal's mark and the merge-joins depend on that order.
func (c *copier) list(ctx context.Context, cl *minio.Core, bucket, after string) iter.Seq2[minio.ObjectInfo, error] {
	noOwner := false
	return func(yield func(minio.ObjectInfo, error) bool) {
		last, failures := after, 0
		for {
			var err error
			for obj := range cl.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Recursive: true, StartAfter: last, MaxKeys: pageSize, FetchOwner: &noOwner}) {
				if obj.Err != nil {
					err = obj.Err
					break
				}
				if obj.Key <= last {
					yield(minio.ObjectInfo{}, fmt.Errorf("listing %s: %q came after %q: the server does not list in lexicographic order", bucket, obj.Key, last))
					return
				}
				last, failures = obj.Key, 0
				if !yield(obj, nil) {
					return
				}
			}
			// minio ends a cancelled listing silently: without this check
			// a cancelled run would look finished.
			if ctx.Err() != nil {
				yield(minio.ObjectInfo{}, context.Cause(ctx))
				return
			}
			if err == nil {
				return
			}
			failures++
			if !retryable(err) || failures >= c.opts.Backoff.Attempts {
				yield(minio.ObjectInfo{}, fmt.Errorf("listing %s: %w", bucket, err))
				return
			}
			c.stats.retried.Add(1)
			if err := sleep(ctx, c.opts.Backoff, failures); err != nil {
				yield(minio.ObjectInfo{}, context.Cause(ctx))
				return
			}
		}
	}
}

// pair is a key from a merge-join of two listings: src or dst is nil
// where that side does not have it.
type pair struct {
	src, dst *minio.ObjectInfo
}

func (p pair) key() string {
	if p.src != nil {
		return p.src.Key
	}
	return p.dst.Key
}

// join walks the source and target listings side by side, both sorted,
// holding one object of each at a time.
func (c *copier) join(ctx context.Context) iter.Seq2[pair, error] {
	return func(yield func(pair, error) bool) {
		nextSrc, stopSrc := iter.Pull2(c.list(ctx, c.src, c.srcBucket, ""))
		defer stopSrc()
		nextDst, stopDst := iter.Pull2(c.list(ctx, c.dst, c.dstBucket, ""))
		defer stopDst()
		pull := func(next func() (minio.ObjectInfo, error, bool)) (*minio.ObjectInfo, error) {
			obj, err, ok := next()
			if !ok {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return &obj, nil
		}
		s, err := pull(nextSrc)
		if err != nil {
			yield(pair{}, err)
			return
		}
		d, err := pull(nextDst)
		if err != nil {
			yield(pair{}, err)
			return
		}
		for s != nil || d != nil {
			var p pair
			switch {
			case d == nil || (s != nil && s.Key < d.Key):
				p.src = s
			case s == nil || d.Key < s.Key:
				p.dst = d
			default:
				p.src, p.dst = s, d
			}
			if !yield(p, nil) {
				return
			}
			if p.src != nil {
				if s, err = pull(nextSrc); err != nil {
					yield(pair{}, err)
					return
				}
			}
			if p.dst != nil {
				if d, err = pull(nextDst); err != nil {
					yield(pair{}, err)
					return
				}
			}
		}
	}
}
