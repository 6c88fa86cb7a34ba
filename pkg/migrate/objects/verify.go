package objects

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cosocial/cosocial/pkg/provider"
)

// VerifyOptions tunes Verify.
type VerifyOptions struct {
	Width        int              // objects compared at once (default 16)
	Backoff      provider.Backoff // zero: provider.DefaultBackoff
	StallTimeout time.Duration    // default 2 minutes
	Transport    http.RoundTripper
	// OnProgress receives counters as Copy's does: Objects are the
	// objects compared, Bytes the bytes read from both ends.
	OnProgress       func(Snapshot)
	ProgressInterval time.Duration
	// OnFinding sees every finding as it is found, never concurrently;
	// the Report keeps the first MaxFindings (default 1000).
	OnFinding   func(Finding)
	MaxFindings int
}

// Kind is what is wrong with a key.
type Kind string

const (
	MissingAtTarget Kind = "missing"    // at the source, not at the target
	ExtraAtTarget   Kind = "extra"      // at the target, not at the source
	Differs         Kind = "different"  // another size or other bytes
	Unreadable      Kind = "unreadable" // either end refused to give it
)

// Finding is one key that does not match.
type Finding struct {
	Key    string
	Kind   Kind
	Detail string
}

// Report is what Verify found.
type Report struct {
	Compared                              int64 // objects read at both ends and found identical or not
	Missing, Extra, Different, Unreadable int64
	Findings                              []Finding // the first MaxFindings
	Snapshot                              Snapshot
}

// OK says the target holds exactly the source's objects, byte for byte.
func (r Report) OK() bool { return r.Missing+r.Extra+r.Different+r.Unreadable == 0 }

// Verify compares two buckets object by object, any time after a copy:
// it walks both listings side by side, reads each object present at both
// ends, and compares sizes and SHA-256 digests computed here. ETags are
// not compared: providers compute them differently.
func Verify(ctx context.Context, src, dst Endpoint, opts VerifyOptions) (Report, error) {
	o, err := Options{Width: opts.Width, Backoff: opts.Backoff, StallTimeout: opts.StallTimeout, Transport: opts.Transport, ProgressInterval: opts.ProgressInterval}.withDefaults()
	if err != nil {
		return Report{}, err
	}
	if opts.MaxFindings <= 0 {
		opts.MaxFindings = 1000
	}
	c, err := newCopier(src, dst, o)
	if err != nil {
		return Report{}, err
	}
	stop := c.stats.report(opts.OnProgress, o.ProgressInterval)
	var (
		mu  sync.Mutex
		rep Report
	)
	found := func(f Finding) {
		mu.Lock()
		defer mu.Unlock()
		switch f.Kind {
		case MissingAtTarget:
			rep.Missing++
		case ExtraAtTarget:
			rep.Extra++
		case Differs:
			rep.Different++
		case Unreadable:
			rep.Unreadable++
		}
		if len(rep.Findings) < opts.MaxFindings {
			rep.Findings = append(rep.Findings, f)
		}
		if opts.OnFinding != nil {
			opts.OnFinding(f)
		}
	}
	listErr := pool(ctx, o.Width, func(emit func(pair) bool) error {
		for p, err := range c.join(ctx) {
			if err != nil {
				return err
			}
			switch {
			case p.dst == nil:
				found(Finding{Key: p.src.Key, Kind: MissingAtTarget})
			case p.src == nil:
				found(Finding{Key: p.dst.Key, Kind: ExtraAtTarget})
			case p.src.Size != p.dst.Size:
				found(Finding{Key: p.src.Key, Kind: Differs, Detail: fmt.Sprintf("%d bytes at the source, %d at the target", p.src.Size, p.dst.Size)})
			default:
				if !emit(p) {
					return ctx.Err()
				}
			}
		}
		c.stats.listingDone.Store(true)
		return nil
	}, func(p pair) {
		if f, ok := c.compare(ctx, p.key()); ok {
			found(f)
		}
	})
	rep.Snapshot = stop()
	rep.Compared = rep.Snapshot.Objects
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	return rep, listErr
}

// compare reads one key at both ends; ok says there is a finding.
func (c *copier) compare(ctx context.Context, key string) (Finding, bool) {
	src, srcN, err := c.digest(ctx, c.src, c.srcBucket, key)
	switch {
	case errors.Is(err, errGone):
		c.stats.gone.Add(1) // deleted at the source since it was listed
		return Finding{}, false
	case err != nil && ctx.Err() == nil:
		c.stats.failed.Add(1)
		return Finding{Key: key, Kind: Unreadable, Detail: "source: " + err.Error()}, true
	case err != nil:
		return Finding{}, false
	}
	dst, dstN, err := c.digest(ctx, c.dst, c.dstBucket, key)
	switch {
	case errors.Is(err, errGone):
		return Finding{Key: key, Kind: MissingAtTarget}, true
	case err != nil && ctx.Err() == nil:
		c.stats.failed.Add(1)
		return Finding{Key: key, Kind: Unreadable, Detail: "target: " + err.Error()}, true
	case err != nil:
		return Finding{}, false
	}
	c.stats.objects.Add(1)
	switch {
	case srcN != dstN:
		return Finding{Key: key, Kind: Differs, Detail: fmt.Sprintf("%d bytes at the source, %d at the target", srcN, dstN)}, true
	case src != dst:
		return Finding{Key: key, Kind: Differs, Detail: fmt.Sprintf("SHA-256 %s at the source, %s at the target", src, dst)}, true
	}
	return Finding{}, false
}

// digest reads an object whole and hashes it; a body shorter or longer
// than its Content-Length is read again.
func (c *copier) digest(ctx context.Context, cl *minio.Core, bucket, key string) (sum string, size int64, err error) {
	err = c.retry(ctx, func(ctx context.Context) error {
		body, info, _, err := cl.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			if notFound(err) {
				return final{errGone}
			}
			return err
		}
		defer body.Close()
		h := sha256.New()
		m := c.meter(ctx, body)
		n, err := io.Copy(h, m)
		if err != nil {
			m.undo()
			return err
		}
		if n != info.Size {
			m.undo()
			return fmt.Errorf("%w: %d bytes read, Content-Length %d", errMismatch, n, info.Size)
		}
		sum, size = hex.EncodeToString(h.Sum(nil)), n
		return nil
	})
	return sum, size, err
}
