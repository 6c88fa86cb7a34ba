package rgw

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
)

// ledger is what the gateway knows that the S3 server behind it does
// not: which project owns each bucket, and the ACLs of buckets, objects
// and multipart uploads not yet completed. It is kept as a log of
// entries, appended to at each change and compacted at each start, so a
// bucket of many public objects costs one line per upload, not a rewrite.
type ledger struct {
	mu      sync.Mutex
	path    string
	file    *os.File
	owners  map[string]string         // bucket → project
	buckets map[string]acl            // bucket → ACL, private left out
	objects map[string]map[string]acl // bucket → key → ACL, private left out
	uploads map[string]acl            // upload ID → the ACL its object gets
}

// entry is one line of the log. An empty Key is the bucket itself;
// Dropped forgets the bucket and everything in it.
type entry struct {
	Bucket  string `json:"bucket"`
	Key     string `json:"key,omitempty"`
	Upload  string `json:"upload,omitempty"`
	Owner   string `json:"owner,omitempty"`
	ACL     acl    `json:"acl,omitempty"`
	Dropped bool   `json:"dropped,omitempty"`
}

func openLedger(path string) (*ledger, error) {
	l := &ledger{path: path, owners: map[string]string{}, buckets: map[string]acl{}, objects: map[string]map[string]acl{}, uploads: map[string]acl{}}
	if path == "" {
		return l, nil
	}
	f, err := os.Open(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			var e entry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			l.apply(e)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	if err := l.compact(); err != nil {
		return nil, err
	}
	return l, nil
}

// apply changes the maps as one entry says.
func (l *ledger) apply(e entry) {
	switch {
	case e.Dropped:
		delete(l.owners, e.Bucket)
		delete(l.buckets, e.Bucket)
		delete(l.objects, e.Bucket)
	case e.Upload != "" && e.ACL == "":
		delete(l.uploads, e.Upload)
	case e.Upload != "":
		l.uploads[e.Upload] = e.ACL
	case e.Owner != "":
		l.owners[e.Bucket] = e.Owner
	case e.Key == "":
		setACL(l.buckets, e.Bucket, e.ACL)
	default:
		if l.objects[e.Bucket] == nil {
			l.objects[e.Bucket] = map[string]acl{}
		}
		setACL(l.objects[e.Bucket], e.Key, e.ACL)
	}
}

func setACL(m map[string]acl, k string, a acl) {
	if a == private || a == "" {
		delete(m, k)
		return
	}
	m[k] = a
}

// record applies entries and appends them to the log.
func (l *ledger) record(es ...entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range es {
		l.apply(e)
	}
	if l.file == nil {
		return nil
	}
	var buf []byte
	for _, e := range es {
		b, _ := json.Marshal(e)
		buf = append(append(buf, b...), '\n')
	}
	_, err := l.file.Write(buf)
	return err
}

// compact writes the log anew from the maps, then appends to it.
func (l *ledger) compact() error {
	var es []entry
	for _, b := range slices.Sorted(maps.Keys(l.owners)) {
		es = append(es, entry{Bucket: b, Owner: l.owners[b]})
	}
	for _, b := range slices.Sorted(maps.Keys(l.buckets)) {
		es = append(es, entry{Bucket: b, ACL: l.buckets[b]})
	}
	for _, b := range slices.Sorted(maps.Keys(l.objects)) {
		for _, k := range slices.Sorted(maps.Keys(l.objects[b])) {
			es = append(es, entry{Bucket: b, Key: k, ACL: l.objects[b][k]})
		}
	}
	for _, u := range slices.Sorted(maps.Keys(l.uploads)) {
		es = append(es, entry{Upload: u, ACL: l.uploads[u]})
	}
	tmp := l.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, e := range es {
		b, _ := json.Marshal(e)
		w.Write(append(b, '\n'))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return err
	}
	l.file, err = os.OpenFile(l.path, os.O_APPEND|os.O_WRONLY, 0o600)
	return err
}

func (l *ledger) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	return err
}

func (l *ledger) owner(bucket string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.owners[bucket]
}

func (l *ledger) bucketACL(bucket string) acl {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.buckets[bucket]; ok {
		return a
	}
	return private
}

func (l *ledger) objectACL(bucket, key string) acl {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.objects[bucket][key]; ok {
		return a
	}
	return private
}

// reads is whether a project ("" for anyone) may read an object: its
// bucket's owner may, others as the object's own ACL says, whatever the
// bucket's.
func (l *ledger) reads(project, bucket, key string) bool {
	return project != "" && l.owner(bucket) == project || l.objectACL(bucket, key).reads(project != "")
}

func (l *ledger) uploadACL(upload string) acl {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.uploads[upload]; ok {
		return a
	}
	return private
}

// owned is the buckets a project owns.
func (l *ledger) owned(project string) map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]bool{}
	for b, p := range l.owners {
		if p == project {
			out[b] = true
		}
	}
	return out
}
