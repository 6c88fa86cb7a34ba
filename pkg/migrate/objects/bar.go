package objects

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/cosocial/cosocial/pkg/objectstore"
)

// Bar draws a run's Snapshots on a terminal (the command layer decides
// when there is one): a bar of bytes once the total is known, a spinner
// before, then objects, objects/s, bytes/s and the ETA.
type Bar struct {
	pb    *progressbar.ProgressBar
	title string
	max   int64
}

// NewBar starts a bar on w; feed it from Options.OnProgress.
func NewBar(w io.Writer, title string) *Bar {
	return &Bar{title: title, max: -1, pb: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(24),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetDescription(title),
	)}
}

// Update draws s.
func (b *Bar) Update(s Snapshot) {
	done, total, known := s.progress()
	if known && total != b.max && total > 0 {
		b.max = total
		b.pb.ChangeMax64(total)
	}
	b.pb.Describe(Describe(b.title, s))
	b.pb.Set64(done)
}

// Finish draws s as the last state and ends the line.
func (b *Bar) Finish(s Snapshot) {
	b.Update(s)
	b.pb.Finish()
}

// progress is the bytes done against the bytes to do, when known.
func (s Snapshot) progress() (done, total int64, ok bool) {
	switch {
	case s.ListingDone:
		return s.SkippedBytes + s.Bytes, s.ListedBytes, true
	case s.TotalBytes > 0:
		return s.PreviousBytes + s.Bytes, s.TotalBytes, true
	}
	return s.Bytes, 0, false
}

// Describe is one line of a Snapshot, for a bar or a log.
func Describe(title string, s Snapshot) string {
	var b strings.Builder
	if title != "" {
		b.WriteString(title + " ")
	}
	fmt.Fprintf(&b, "%d objects", s.Objects)
	if s.ListingDone {
		fmt.Fprintf(&b, " of %d", s.Listed-s.Skipped)
	} else if s.TotalObjects > 0 {
		fmt.Fprintf(&b, " of ~%d", max(s.TotalObjects-s.Previous, 0))
	}
	fmt.Fprintf(&b, ", %.0f obj/s, %s/s", s.ObjectsPerSecond(), objectstore.HumanBytes(int64(s.BytesPerSecond())))
	if eta, ok := s.ETA(); ok {
		fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
	}
	if s.Retried > 0 {
		fmt.Fprintf(&b, ", %d retried", s.Retried)
	}
	if s.Failed > 0 {
		fmt.Fprintf(&b, ", %d failed", s.Failed)
	}
	return b.String()
}
