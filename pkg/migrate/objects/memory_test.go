package objects

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/objectstore"
)

// fakeS3 is just enough S3 for the memory test: a bucket of generated keys
// listed 1,000 per page, tiny deterministic bodies, and PUTs that answer
// with the MD5 of what they received. Nothing is stored.
type fakeS3 struct {
	*httptest.Server
	keys                     int
	lists, gets, puts, other atomic.Int64
}

var fakeBlock = func() []byte {
	b := make([]byte, 4096)
	for i := range b {
		b[i] = byte(i*31 + i/7)
	}
	return b
}()

// fakeKey sorts as its number does: the listing must be lexicographic.
func fakeKey(i int) string {
	return fmt.Sprintf("media_attachments/files/%03d/%03d/%03d/original/%09d.png", i/1_000_000%1000, i/1000%1000, i%1000, i)
}

func fakeBody(i int) []byte { return fakeBlock[i%1024 : i%1024+64+i%512] }

func newFakeS3(t *testing.T, keys int) *fakeS3 {
	f := &fakeS3{keys: keys}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeS3) serve(w http.ResponseWriter, r *http.Request) {
	_, path, _ := strings.Cut(r.URL.Path, "/")
	_, key, _ := strings.Cut(path, "/")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		f.lists.Add(1)
		f.list(w, q)
	case r.Method == http.MethodGet && key != "":
		f.gets.Add(1)
		i, err := strconv.Atoi(strings.TrimSuffix(key[strings.LastIndexByte(key, '/')+1:], ".png"))
		if err != nil || i >= f.keys || fakeKey(i) != key {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>`)
			return
		}
		body := fakeBody(i)
		h := w.Header()
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("Content-Type", "image/png")
		h.Set("ETag", `"fake"`)
		h.Set("Last-Modified", "Wed, 01 May 2024 12:00:00 GMT")
		w.Write(body)
	case r.Method == http.MethodPut && key != "":
		f.puts.Add(1)
		m := md5.New()
		io.Copy(m, r.Body)
		w.Header().Set("ETag", `"`+hex.EncodeToString(m.Sum(nil))+`"`)
	default:
		f.other.Add(1)
		w.WriteHeader(http.StatusNotImplemented)
	}
}

func (f *fakeS3) list(w http.ResponseWriter, q map[string][]string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	from := 0
	if tok := get("continuation-token"); tok != "" {
		from, _ = strconv.Atoi(tok)
	} else if after := get("start-after"); after != "" {
		from = sort.Search(f.keys, func(i int) bool { return fakeKey(i) > after })
	}
	to := min(from+1000, f.keys)
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix>`)
	fmt.Fprintf(&b, "<KeyCount>%d</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>%v</IsTruncated>", to-from, to < f.keys)
	if to < f.keys {
		fmt.Fprintf(&b, "<NextContinuationToken>%d</NextContinuationToken>", to)
	}
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, `<Contents><Key>%s</Key><LastModified>2024-05-01T12:00:00.000Z</LastModified><ETag>&quot;fake&quot;</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>`, fakeKey(i), len(fakeBody(i)))
	}
	b.WriteString(`</ListBucketResult>`)
	w.Header().Set("Content-Type", "application/xml")
	w.Write(b.Bytes())
}

type memoryReport struct {
	Objects, Requests int64
	VmHWMKiB          int64
	HeapSysMiB        uint64
	Seconds           float64
	JournalMiB        float64
	Error             string
}

// TestMemoryFlat copies a bucket of 200,000 keys (COSOCIAL_MEMTEST_KEYS
// for more: 1,000,000 was run by hand) between two fake S3 ends, in a
// child process with a journal, and holds the child's peak RSS under
// 256 MB: neither the listing nor the journal's state may grow with the
// bucket.
func TestMemoryFlat(t *testing.T) {
	keys := 200_000
	if s := os.Getenv("COSOCIAL_MEMTEST_KEYS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		keys = n
	}
	src, dst := newFakeS3(t, keys), newFakeS3(t, 0)
	end := func(f *fakeS3, name string) Endpoint {
		return Endpoint{Bucket: objectstore.Bucket{Endpoint: f.URL, Name: name, AccessKey: "AKFAKE", SecretKey: "fake-secret"}}
	}
	cmd, out := startChild(t, "memory", childConfig{Src: end(src, "spaces"), Dst: end(dst, "target"), Journal: t.TempDir(), Width: 16, Keys: keys})
	err := cmd.Wait()
	var rep memoryReport
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); jerr != nil || err != nil || rep.Error != "" {
		t.Fatalf("child: %v, %v: %s", err, jerr, out)
	}
	t.Logf("%d keys: %d objects in %.1f s (%.0f obj/s), %d requests, peak RSS (VmHWM) %.1f MB, Go heap from the OS %d MiB, journal %.0f MiB",
		keys, rep.Objects, rep.Seconds, float64(rep.Objects)/rep.Seconds, rep.Requests, float64(rep.VmHWMKiB)/1024, rep.HeapSysMiB, rep.JournalMiB)
	if rep.Objects != int64(keys) || src.gets.Load() != int64(keys) || dst.puts.Load() != int64(keys) || src.other.Load()+dst.other.Load() != 0 {
		t.Errorf("objects %d, source GETs %d, target PUTs %d, other requests %d, for %d keys", rep.Objects, src.gets.Load(), dst.puts.Load(), src.other.Load()+dst.other.Load(), keys)
	}
	if pages := src.lists.Load(); pages != int64((keys+999)/1000) {
		t.Errorf("%d list pages for %d keys", pages, keys)
	}
	if rep.VmHWMKiB <= 0 || rep.VmHWMKiB >= 256*1024 {
		t.Errorf("peak RSS %d KiB, want under 256 MB", rep.VmHWMKiB)
	}
}

func memoryChild(cfg childConfig) int {
	start := time.Now()
	res, err := Copy(context.Background(), cfg.Src, cfg.Dst, Options{Width: cfg.Width, Journal: cfg.Journal, Backoff: fast})
	rep := memoryReport{Objects: res.Objects, Requests: res.Requests, Seconds: time.Since(start).Seconds(), VmHWMKiB: vmHWM()}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapSysMiB = ms.HeapSys >> 20
	if fi, err := os.Stat(JournalPath(cfg.Journal, cfg.Src, cfg.Dst)); err == nil {
		rep.JournalMiB = float64(fi.Size()) / (1 << 20)
	}
	if err != nil {
		rep.Error = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(rep)
	return 0
}

// vmHWM is the process's peak resident set, in KiB.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}
