package objects

import (
	"sync"
	"sync/atomic"
	"time"
)

// Snapshot is a run's counters at one moment. Bytes grow while objects
// stream, so a large object shows progress before it is done.
type Snapshot struct {
	Elapsed time.Duration

	Listed, ListedBytes int64 // source objects listed so far
	ListingDone         bool  // Listed is then the whole (remaining) bucket

	Objects int64 // copied and verified (Verify: compared)
	Bytes   int64 // bytes moved, counted as they stream

	Skipped, SkippedBytes   int64 // settled by an earlier run, or already up to date (Delta)
	Previous, PreviousBytes int64 // copied by earlier runs, as their journal says
	Gone                    int64 // listed, then deleted at the source before it was read
	Retried                 int64 // tries after the first, listings included
	Failed                  int64 // given up on
	Extra                   int64 // Delta: target objects the source no longer has
	Deleted                 int64 // Delta: of those, removed
	// KeptBytes are parts a killed run had uploaded, found at the target
	// with the source's bytes and kept instead of sent again.
	KeptBytes int64

	Requests int64 // HTTP requests sent to either end

	TotalObjects, TotalBytes int64 // Options' hints, when given
}

// ObjectsPerSecond is the run's average rate.
func (s Snapshot) ObjectsPerSecond() float64 { return perSecond(s.Objects, s.Elapsed) }

// BytesPerSecond is the run's average rate.
func (s Snapshot) BytesPerSecond() float64 { return perSecond(s.Bytes, s.Elapsed) }

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Progress is the bytes done against the bytes to do, when known.
func (s Snapshot) Progress() (done, total int64, ok bool) {
	switch {
	case s.ListingDone:
		return s.SkippedBytes + s.Bytes, s.ListedBytes, true
	case s.TotalBytes > 0:
		return s.PreviousBytes + s.Bytes, s.TotalBytes, true
	}
	return s.Bytes, 0, false
}

// Remaining is the bytes still to move, when known: exactly once the
// listing is done, from the TotalBytes hint before.
func (s Snapshot) Remaining() (int64, bool) {
	done, total, ok := s.Progress()
	return max(total-done, 0), ok
}

// ETA is the time left at the average byte rate so far.
func (s Snapshot) ETA() (time.Duration, bool) {
	left, ok := s.Remaining()
	rate := s.BytesPerSecond()
	if !ok || rate <= 0 {
		return 0, false
	}
	return time.Duration(float64(left) / rate * float64(time.Second)), true
}

type stats struct {
	start                                 time.Time
	listed, listedBytes                   atomic.Int64
	listingDone                           atomic.Bool
	objects, bytes                        atomic.Int64
	skipped, skippedBytes                 atomic.Int64
	previous, previousBytes               atomic.Int64
	gone, retried, failed, extra, deleted atomic.Int64
	keptBytes                             atomic.Int64
	requests                              atomic.Int64
	totalObjects, totalBytes              int64
}

func newStats(totalObjects, totalBytes int64) *stats {
	return &stats{start: time.Now(), totalObjects: totalObjects, totalBytes: totalBytes}
}

func (s *stats) snapshot() Snapshot {
	return Snapshot{
		Elapsed: time.Since(s.start),
		Listed:  s.listed.Load(), ListedBytes: s.listedBytes.Load(), ListingDone: s.listingDone.Load(),
		Objects: s.objects.Load(), Bytes: s.bytes.Load(),
		Skipped: s.skipped.Load(), SkippedBytes: s.skippedBytes.Load(),
		Previous: s.previous.Load(), PreviousBytes: s.previousBytes.Load(),
		Gone: s.gone.Load(), Retried: s.retried.Load(), Failed: s.failed.Load(),
		Extra: s.extra.Load(), Deleted: s.deleted.Load(), KeptBytes: s.keptBytes.Load(),
		Requests:     s.requests.Load(),
		TotalObjects: s.totalObjects, TotalBytes: s.totalBytes,
	}
}

// report calls fn with a snapshot every interval until the returned stop
// is called; stop sends the last one and returns it.
func (s *stats) report(fn func(Snapshot), every time.Duration) (stop func() Snapshot) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	if fn != nil {
		wg.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					fn(s.snapshot())
				}
			}
		})
	}
	return func() Snapshot {
		close(done)
		wg.Wait()
		last := s.snapshot()
		if fn != nil {
			fn(last)
		}
		return last
	}
}
