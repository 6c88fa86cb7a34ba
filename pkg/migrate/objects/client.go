package objects

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/provider"
)

// copier holds both ends' clients and the run's counters.
type copier struct {
	src, dst             *minio.Core
	srcBucket, dstBucket string
	opts                 Options
	stats                *stats
	journal              *journal // nil without one
	// lostStart: a multipart start was sent more than once, so the target
	// may hold an upload this run never learned the ID of.
	lostStart atomic.Bool
	// open are the multipart uploads a killed run left, by key: a copy of
	// that key takes its upload over and keeps the parts already there.
	openMu sync.Mutex
	open   map[string]string
}

// takeOpen hands out, once, the upload a killed run left for key.
func (c *copier) takeOpen(key string) (string, bool) {
	c.openMu.Lock()
	defer c.openMu.Unlock()
	id, ok := c.open[key]
	delete(c.open, key)
	return id, ok
}

func newCopier(src, dst Endpoint, opts Options) (*copier, error) {
	st := newStats(opts.TotalObjects, opts.TotalBytes)
	s, err := src.client(opts.Transport, opts.Width, st)
	if err != nil {
		return nil, err
	}
	d, err := dst.client(opts.Transport, opts.Width, st)
	if err != nil {
		return nil, err
	}
	return &copier{src: s, dst: d, srcBucket: src.Name, dstBucket: dst.Name, opts: opts, stats: st}, nil
}

// client connects path-style with the region set, so that minio never
// asks for the bucket's location, and with minio's own retries off:
// retries here are counted, backed off and bounded by Options.Backoff.
func (e Endpoint) client(rt http.RoundTripper, width int, st *stats) (*minio.Core, error) {
	u, err := url.Parse(e.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("bucket %s: %q is not an S3 endpoint", e.Name, e.Endpoint)
	}
	if rt == nil {
		t, err := minio.DefaultTransport(u.Scheme == "https")
		if err != nil {
			return nil, err
		}
		// minio's default keeps 16 idle connections per host: a wider run
		// would open and close connections all along.
		t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, 2*width)
		rt = t
	}
	return minio.NewCore(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(e.AccessKey, e.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       e.region(u.Hostname()),
		BucketLookup: minio.BucketLookupPath,
		Transport:    countingTransport{rt, st},
		MaxRetries:   1,
	})
}

func (e Endpoint) region(host string) string {
	if e.Region != "" {
		return e.Region
	}
	return objectstore.SigningRegion(host)
}

// countingTransport counts every request either end sends, retries and
// listings included, for Snapshot.Requests.
type countingTransport struct {
	rt    http.RoundTripper
	stats *stats
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.stats.requests.Add(1)
	return t.rt.RoundTrip(r)
}

var (
	// errMismatch: the bytes that arrived are not the bytes that left;
	// worth another try, as a flipped bit or a cut stream would be.
	errMismatch = errors.New("copy does not match the source")
	// errStalled: no byte moved for Options.StallTimeout.
	errStalled = errors.New("transfer stalled")
	// errGone: the object was deleted at the source after it was listed.
	errGone = errors.New("object deleted at the source")
	// errSourceChanged: the source object was replaced in the middle of a
	// multipart copy; the copy starts over from the new one.
	errSourceChanged = errors.New("source object changed during the copy")
)

// final marks an error that already went through its retries.
type final struct{ error }

func (f final) Unwrap() error { return f.error }

// retryable says whether a failure is worth another try: the server asked
// to slow down or failed (429, 5xx), the connection broke or timed out, or
// the copy did not verify.
func retryable(err error) bool {
	var f final
	if errors.As(err, &f) {
		return false
	}
	if errors.Is(err, errMismatch) || errors.Is(err, errStalled) || errors.Is(err, errSourceChanged) {
		return true
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeTooSkewed":
			return true
		}
		return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	// minio rewrites a connection closed mid-request into its own text.
	if minio.IsNetworkOrHostDown(err, true) {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

func notFound(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && (resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound)
}

// retry runs op with the run's backoff, counting every try after the
// first.
func (c *copier) retry(ctx context.Context, op func(ctx context.Context) error) error {
	first := true
	return c.opts.Backoff.DoIf(ctx, func(err error) bool { return ctx.Err() == nil && retryable(err) }, func() error {
		if !first {
			c.stats.retried.Add(1)
		}
		first = false
		return c.watch(ctx, op)
	})
}

// watch runs op with a context that ends when no byte has moved for the
// stall timeout; progress() in the op's readers pushes the deadline back.
func (c *copier) watch(ctx context.Context, op func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := time.AfterFunc(c.opts.StallTimeout, func() { cancel(errStalled) })
	defer t.Stop()
	err := op(context.WithValue(ctx, stallKey{}, &stall{t: t, d: c.opts.StallTimeout, parent: stallOf(ctx)}))
	if err != nil && errors.Is(context.Cause(ctx), errStalled) {
		return fmt.Errorf("%w: %v", errStalled, err)
	}
	return err
}

type stallKey struct{}

// stall is one watch; watches nest (an object, then one of its parts),
// and progress keeps all of them alive.
type stall struct {
	t      *time.Timer
	d      time.Duration
	parent *stall
}

func (s *stall) progress() {
	for ; s != nil; s = s.parent {
		s.t.Reset(s.d)
	}
}

func stallOf(ctx context.Context) *stall {
	s, _ := ctx.Value(stallKey{}).(*stall)
	return s
}

// sleep waits before the n-th retry (n from 1) with the same exponential,
// fully jittered delays as provider.Backoff.
func sleep(ctx context.Context, b provider.Backoff, n int) error {
	delay := b.Base
	for i := 1; i < n && delay < b.Max; i++ {
		delay *= 2
	}
	delay = min(delay, b.Max)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(rand.Int64N(int64(delay) + 1))):
		return nil
	}
}

// pool runs work on every job produce emits, width at a time, and waits
// for all of them.
func pool[J any](ctx context.Context, width int, produce func(emit func(J) bool) error, work func(J)) error {
	jobs := make(chan J)
	var wg sync.WaitGroup
	for range width {
		wg.Go(func() {
			for j := range jobs {
				work(j)
			}
		})
	}
	err := produce(func(j J) bool {
		select {
		case jobs <- j:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(jobs)
	wg.Wait()
	return err
}

// sample keeps the first few failures of a run: enough to act on, never
// a list that grows with the bucket.
type sample struct {
	mu    sync.Mutex
	max   int
	keys  []string
	first error
}

func newSample(max int) *sample { return &sample{max: max} }

func (s *sample) add(key string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first == nil {
		s.first = err
	}
	if len(s.keys) < s.max {
		s.keys = append(s.keys, key)
	}
}
