package views

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/cosocial/cosocial/pkg/migrate/objects"
	"github.com/cosocial/cosocial/pkg/objectstore"
)

// CopyBar draws an object copy's Snapshots on a terminal (the command layer decides
// when there is one): a bar of bytes once the total is known, a spinner
// before, then objects, objects/s, bytes/s and the ETA.
type CopyBar struct {
	pb    *progressbar.ProgressBar
	title string
	max   int64
}

// NewCopyBar starts a bar on w; feed it from objects.Options.OnProgress.
func NewCopyBar(w io.Writer, title string) *CopyBar {
	return &CopyBar{title: title, max: -1, pb: progressbar.NewOptions64(-1,
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
func (b *CopyBar) Update(s objects.Snapshot) {
	done, total, known := s.Progress()
	if known && total != b.max && total > 0 {
		b.max = total
		b.pb.ChangeMax64(total)
	}
	b.pb.Describe(DescribeCopy(b.title, s))
	b.pb.Set64(done)
}

// Finish draws s as the last state and ends the line.
func (b *CopyBar) Finish(s objects.Snapshot) {
	b.Update(s)
	b.pb.Finish()
}

// DescribeCopy is one line of an object copy's Snapshot, for a bar or a
// log.
func DescribeCopy(title string, s objects.Snapshot) string {
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
