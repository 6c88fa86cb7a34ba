package views

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/migrate/objects"
)

func TestCopyBar(t *testing.T) {
	var out bytes.Buffer
	b := NewCopyBar(&out, "media")
	s := objects.Snapshot{Elapsed: 10 * time.Second, Objects: 500, Bytes: 50e6, Listed: 2000, ListedBytes: 200e6, TotalBytes: 200e6, Retried: 3}
	b.Update(s)
	s.ListingDone = true
	b.Finish(s)
	got := out.String()
	for _, want := range []string{"media 500 objects of 2000", "50 obj/s", "5.0 MB/s", "ETA 30s", "3 retried"} {
		if !strings.Contains(got, want) {
			t.Errorf("bar %q lacks %q", got, want)
		}
	}
	if eta, ok := s.ETA(); !ok || eta != 30*time.Second {
		t.Errorf("ETA %v %v", eta, ok)
	}
}
