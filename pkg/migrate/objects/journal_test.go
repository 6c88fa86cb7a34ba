package objects

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/objectstore"
)

var (
	jsrc = Endpoint{Bucket: objectstore.Bucket{Endpoint: "https://tor1.digitaloceanspaces.com", Name: "media", AccessKey: "AK", SecretKey: "SK"}}
	jdst = Endpoint{Bucket: objectstore.Bucket{Endpoint: "https://s3.bhs.io.cloud.ovh.net", Name: "media-ca", AccessKey: "AK2", SecretKey: "SK2"}}
)

// TestJournalResume settles keys out of order through the window, then
// reads the journal back: the mark sits below the unfinished key, the keys
// settled above it are known, and a failed key counts as settled.
func TestJournalResume(t *testing.T) {
	dir := t.TempDir()
	path := JournalPath(dir, jsrc, jdst)
	j, st, err := openJournal(path, jsrc, jdst)
	if err != nil || st.low != "" || len(st.done) != 0 {
		t.Fatalf("new journal: %+v, %v", st, err)
	}
	w := newWindow(4, "", j)
	ctx := context.Background()
	seq := map[string]uint64{}
	for _, k := range []string{"a", "b", "c", "d"} {
		if seq[k], err = w.push(ctx, k, false); err != nil {
			t.Fatal(err)
		}
	}
	// The window is full: a fifth key waits until the head settles.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if _, err := w.push(short, "e", false); err == nil {
		t.Fatal("push into a full window did not wait")
	}
	cancel()
	w.settle(seq["a"], &journalLine{Key: "a", Size: 1, SHA256: "aa"})
	w.settle(seq["c"], &journalLine{Key: "c", Size: 3, SHA256: "cc"})
	w.settle(seq["d"], &journalLine{Failed: "d", Error: "403"})
	// "b" is in flight when the run stops.
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	_, st, err = openJournal(path, jsrc, jdst)
	if err != nil {
		t.Fatal(err)
	}
	if st.low != "a" || len(st.done) != 2 || st.objects != 2 || st.bytes != 4 {
		t.Fatalf("resume state %+v", st)
	}
	if _, ok := st.done["c"]; !ok {
		t.Fatalf("c not known as done: %+v", st.done)
	}

	// The next run settles b: the mark jumps over c and d.
	j, st, _ = openJournal(path, jsrc, jdst)
	w = newWindow(4, st.low, j)
	s, _ := w.push(ctx, "b", false)
	w.push(ctx, "c", true)
	w.push(ctx, "d", true)
	w.settle(s, &journalLine{Key: "b", Size: 2, SHA256: "bb"})
	w.close()
	_, st, _ = openJournal(path, jsrc, jdst)
	if st.low != "d" || len(st.done) != 0 || st.objects != 3 {
		t.Fatalf("after the second run: %+v", st)
	}
	var recs []string
	ReadJournal(path, func(r Record) error { recs = append(recs, r.Key+":"+r.SHA256); return nil })
	if strings.Join(recs, " ") != "a:aa c:cc b:bb" {
		t.Fatalf("records %v", recs)
	}
}

// TestJournalTornTail: a line cut short by a crash is dropped and the file
// cut back to the last whole line; a bad line with good ones after it is
// damage and refused; a journal of another copy is refused.
func TestJournalTornTail(t *testing.T) {
	dir := t.TempDir()
	path := JournalPath(dir, jsrc, jdst)
	j, _, err := openJournal(path, jsrc, jdst)
	if err != nil {
		t.Fatal(err)
	}
	j.write(journalLine{Key: "a", Size: 1, SHA256: "aa", Mark: true})
	j.close()
	good, _ := os.ReadFile(path)
	for _, tail := range []string{`{"key":"b","si`, "\x00\x00\x00\x00", `{"key":"b"}` + "\n" + `{"ke`} {
		os.WriteFile(path, append(append([]byte{}, good...), tail...), 0o600)
		j, st, err := openJournal(path, jsrc, jdst)
		if err != nil {
			t.Fatalf("torn tail %q: %v", tail, err)
		}
		j.close()
		if tail == `{"key":"b"}`+"\n"+`{"ke` {
			if _, ok := st.done["b"]; !ok {
				t.Fatalf("the whole line before the torn one was lost: %+v", st)
			}
			continue
		}
		if st.low != "a" {
			t.Fatalf("torn tail %q: %+v", tail, st)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, good) {
			t.Fatalf("torn tail %q not cut off: %q", tail, got)
		}
	}
	os.WriteFile(path, append(append([]byte{}, good...), "garbage\n"+`{"key":"z","size":1}`+"\n"...), 0o600)
	if _, _, err := openJournal(path, jsrc, jdst); err == nil || !strings.Contains(err.Error(), "damaged at line 3") {
		t.Fatalf("damage in the middle: %v", err)
	}
	other := jdst
	other.Name = "elsewhere"
	os.WriteFile(path, good, 0o600)
	if _, _, err := openJournal(path, jsrc, other); err == nil || !strings.Contains(err.Error(), "belongs to a copy") {
		t.Fatalf("another copy's journal: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, filepath.Base(path))); bytes.Contains(b, []byte("SK")) {
		t.Fatalf("the journal holds a secret: %s", b)
	}
}

func TestRegion(t *testing.T) {
	for host, want := range map[string]string{
		"tor1.digitaloceanspaces.com":       "tor1",
		"s3.bhs.io.cloud.ovh.net":           "bhs",
		"s3.ca-east-tor.io.cloud.ovh.net":   "ca-east-tor",
		"127.0.0.1":                         "us-east-1",
		"media.tor1.digitaloceanspaces.com": "us-east-1",
	} {
		if got := (Endpoint{}).region(host); got != want {
			t.Errorf("region(%s) = %s, want %s", host, got, want)
		}
	}
	if got := (Endpoint{Region: "ca-central-1"}).region("tor1.digitaloceanspaces.com"); got != "ca-central-1" {
		t.Errorf("explicit region ignored: %s", got)
	}
}
