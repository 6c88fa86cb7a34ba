package objects

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The journal is a file of JSON lines, appended as objects finish. It
// never holds the set of all copied keys: the listing is lexicographic, so
// a low-water mark (every key up to it is settled) plus the few keys
// settled above it say where a run stopped. Every copied object also gets
// a line with its size and SHA-256, for a later report.
//
//	{"journal":"cosocial-objects/1","source":"https://…/media","target":"…"}
//	{"key":"a.png","size":1234,"sha256":"…","mark":true}  settled, and so is everything before it
//	{"key":"c.png","size":99,"sha256":"…"}                settled out of order, above the mark
//	{"failed":"b.png","error":"…","low":"c.png"}          failed for good; the mark moved to c.png
//	{"upload":"v.mp4","id":"…"} / {"aborted":"…"}         multipart uploads opened and dropped
const journalVersion = "cosocial-objects/1"

// A killed run can lose the lines written since the last fsync only to a
// crash of the machine itself; a killed process loses nothing written.
const (
	syncEvery    = 1000
	syncInterval = time.Second
)

type journalLine struct {
	Journal string `json:"journal,omitempty"`
	Source  string `json:"source,omitempty"`
	Target  string `json:"target,omitempty"`

	Key    string `json:"key,omitempty"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`

	Failed string `json:"failed,omitempty"`
	Error  string `json:"error,omitempty"`

	Upload  string `json:"upload,omitempty"`
	ID      string `json:"id,omitempty"`
	Aborted string `json:"aborted,omitempty"`

	// Mark: the mark is this line's own key. Low: the mark is elsewhere.
	Mark bool   `json:"mark,omitempty"`
	Low  string `json:"low,omitempty"`
}

func (l journalLine) key() string {
	if l.Key != "" {
		return l.Key
	}
	return l.Failed
}

// JournalPath is where Copy keeps the journal of a copy from src to dst
// inside dir.
func JournalPath(dir string, src, dst Endpoint) string {
	return filepath.Join(dir, "objects-"+src.Name+"-to-"+dst.Name+".journal")
}

type journal struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	unsynced int
	synced   time.Time
}

// resumeState is what a journal says of the runs before.
type resumeState struct {
	low            string              // every key up to here is settled
	done           map[string]struct{} // keys settled above low
	uploads        map[string][]string // object key → multipart uploads not known to be finished
	objects, bytes int64               // copied so far
}

func header(src, dst Endpoint) journalLine {
	return journalLine{Journal: journalVersion, Source: src.Endpoint + "/" + src.Name, Target: dst.Endpoint + "/" + dst.Name}
}

// openJournal reads what earlier runs recorded and opens the file for
// appending. A torn last line (the process died mid-write) is cut off; a
// bad line followed by good ones is damage, and refused.
func openJournal(path string, src, dst Endpoint) (*journal, resumeState, error) {
	st := resumeState{done: map[string]struct{}{}, uploads: map[string][]string{}}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, st, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, st, err
	}
	j := &journal{f: f, path: path, synced: time.Now()}
	want := header(src, dst)
	var good int64 // the offset just after the last good line
	err = scanJournal(f, path, func(n int, l journalLine, end int64) error {
		good = end
		if n == 1 {
			if l.Journal != journalVersion {
				return fmt.Errorf("%s is not a cosocial object journal", path)
			}
			if l.Source != want.Source || l.Target != want.Target {
				return fmt.Errorf("journal %s belongs to a copy from %s to %s, not from %s to %s", path, l.Source, l.Target, want.Source, want.Target)
			}
			return nil
		}
		st.apply(l)
		return nil
	})
	if err != nil {
		f.Close()
		return nil, st, err
	}
	st.prune()
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, st, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, st, err
	}
	if good == 0 {
		if err := j.write(want); err != nil {
			f.Close()
			return nil, st, err
		}
		if err := j.sync(); err != nil {
			f.Close()
			return nil, st, err
		}
		syncDir(filepath.Dir(path))
	}
	return j, st, nil
}

// scanJournal calls fn for every good line with its number and the offset
// where it ends.
func scanJournal(r io.Reader, path string, fn func(n int, l journalLine, end int64) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		off, end int64
		bad      int // first bad line, 0 if none
	)
	for n := 1; ; n++ {
		raw, err := br.ReadBytes('\n')
		end = off + int64(len(raw))
		if len(raw) > 0 {
			var l journalLine
			complete := raw[len(raw)-1] == '\n'
			if !complete || json.Unmarshal(bytes.TrimSpace(raw), &l) != nil || (n == 1) != (l.Journal != "") {
				if bad == 0 {
					bad = n
				}
			} else if bad != 0 {
				return fmt.Errorf("journal %s is damaged at line %d (good lines follow it)", path, bad)
			} else if err := fn(n, l, end); err != nil {
				return err
			}
		}
		off = end
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (st *resumeState) apply(l journalLine) {
	key := l.key()
	switch {
	case l.Upload != "":
		st.uploads[l.Upload] = append(st.uploads[l.Upload], l.ID)
		return
	case l.Aborted != "":
		for k, ids := range st.uploads {
			for i, id := range ids {
				if id == l.Aborted {
					ids = append(ids[:i], ids[i+1:]...)
					break
				}
			}
			if len(ids) == 0 {
				delete(st.uploads, k)
			} else {
				st.uploads[k] = ids
			}
		}
		return
	}
	if l.Key != "" {
		st.objects++
		st.bytes += l.Size
	}
	if key != "" {
		// Finished (or failed) with its uploads, completed or aborted.
		delete(st.uploads, key)
	}
	switch {
	case l.Mark && key > st.low:
		st.low = key
	case l.Low > st.low:
		st.low = l.Low
	}
	if key > st.low {
		st.done[key] = struct{}{}
		if len(st.done) > 4096 && len(st.done)%4096 == 0 {
			st.prune()
		}
	}
}

// prune forgets settled keys that the mark has passed.
func (st *resumeState) prune() {
	for k := range st.done {
		if k <= st.low {
			delete(st.done, k)
		}
	}
}

func (j *journal) write(l journalLine) error {
	if j == nil {
		return nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	// One write per line: what the kernel has survives the process.
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing the journal %s: %w", j.path, err)
	}
	j.unsynced++
	if j.unsynced >= syncEvery || time.Since(j.synced) >= syncInterval {
		return j.syncLocked()
	}
	return nil
}

func (j *journal) upload(key, id string) error { return j.write(journalLine{Upload: key, ID: id}) }

// aborted is best effort: an upload left in the journal is only aborted
// once more next time.
func (j *journal) aborted(id string) { j.write(journalLine{Aborted: id}) }

func (j *journal) sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.syncLocked()
}

func (j *journal) syncLocked() error {
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("syncing the journal %s: %w", j.path, err)
	}
	j.unsynced, j.synced = 0, time.Now()
	return nil
}

func (j *journal) close() error {
	if j == nil {
		return nil
	}
	return errors.Join(j.sync(), j.f.Close())
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Record is one object a Copy verified, as its journal keeps it.
type Record struct {
	Key    string
	Size   int64
	SHA256 string // hex
}

// ReadJournal calls fn for every object the journal at path records as
// copied, in the order they finished; an object copied again by a later
// run (it changed, or a kill caught it in flight) appears again.
func ReadJournal(path string, fn func(Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return scanJournal(f, path, func(n int, l journalLine, _ int64) error {
		if l.Key == "" {
			return nil
		}
		return fn(Record{Key: l.Key, Size: l.Size, SHA256: l.SHA256})
	})
}

// window tracks the keys between the journal's low-water mark and the
// newest key listed, in listing order. Its size bounds both the journal's
// out-of-order keys and how far listing runs ahead of a slow object.
type window struct {
	mu      sync.Mutex
	free    chan struct{} // one token per occupied slot
	ring    []slot
	head    int
	count   int
	headSeq uint64
	low     string // every key up to here is settled
	written string // the mark as the journal last recorded it
	j       *journal
}

type slot struct {
	key     string
	settled bool
}

func newWindow(size int, low string, j *journal) *window {
	return &window{free: make(chan struct{}, size), ring: make([]slot, size), low: low, written: low, j: j}
}

// push adds the next listed key, waiting while the window is full; a key
// settled by an earlier run comes in settled.
func (w *window) push(ctx context.Context, key string, settled bool) (uint64, error) {
	select {
	case w.free <- struct{}{}:
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	seq := w.headSeq + uint64(w.count)
	w.ring[(w.head+w.count)%len(w.ring)] = slot{key: key, settled: settled}
	w.count++
	w.advance()
	return seq, nil
}

// settle marks a key finished (copied, failed, or gone) and records line,
// if any, with the mark's new place.
func (w *window) settle(seq uint64, line *journalLine) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ring[(w.head+int(seq-w.headSeq))%len(w.ring)].settled = true
	w.advance()
	if line == nil || w.j == nil {
		return nil
	}
	if w.low != w.written {
		if w.low == line.key() {
			line.Mark = true
		} else {
			line.Low = w.low
		}
		w.written = w.low
	}
	return w.j.write(*line)
}

func (w *window) advance() {
	for w.count > 0 && w.ring[w.head].settled {
		w.low = w.ring[w.head].key
		w.ring[w.head] = slot{}
		w.head = (w.head + 1) % len(w.ring)
		w.count--
		w.headSeq++
		<-w.free
	}
}

// close records where the mark ended and closes the journal.
func (w *window) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.j == nil {
		return nil
	}
	var err error
	if w.low != w.written {
		err = w.j.write(journalLine{Low: w.low})
		w.written = w.low
	}
	return errors.Join(err, w.j.close())
}
