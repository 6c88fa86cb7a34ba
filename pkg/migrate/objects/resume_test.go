package objects

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
)

const childEnv = "COSOCIAL_OBJECTS_CHILD"

// child runs in a copy of the test binary started by a test: "copy" is a
// Copy that the parent kills with SIGKILL, "memory" the flat-memory run.
func child(mode string) int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(os.Getenv(childEnv+"_CONFIG")), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	switch mode {
	case "copy":
		res, err := Copy(context.Background(), cfg.Src, cfg.Dst, Options{Width: cfg.Width, PartSize: cfg.PartSize, Journal: cfg.Journal, Backoff: fast})
		json.NewEncoder(os.Stdout).Encode(res.Snapshot)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "memory":
		return memoryChild(cfg)
	}
	return 2
}

type childConfig struct {
	Src, Dst Endpoint
	Journal  string
	Width    int
	PartSize int64
	Keys     int
}

// childCommand is a copy of the test binary that runs child(mode).
func childCommand(mode string, cfg childConfig) *exec.Cmd {
	b, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childEnv+"_CONFIG="+string(b))
	return cmd
}

func startChild(t testing.TB, mode string, cfg childConfig) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := childCommand(mode, cfg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// The resume and retry tests share a smaller source: 700 objects, six
// videos and two multipart objects at 30% and 60% of the key order.
var small struct {
	once sync.Once
	src  Endpoint
	objs []object
}

func smallSource(t *testing.T) (*s3server.Server, Endpoint, []object) {
	spaces, _ := servers(t)
	small.once.Do(func() {
		small.objs = mastodonSet(2, 700, 6, map[float64]int64{0.3: 6<<20 + 777, 0.6: 11 << 20})
		small.src = bucket(t, spaces, "spaces-small")
		fill(t, spaces, small.src.Name, small.objs)
	})
	if small.src.Name == "" {
		t.Fatal("the shared source could not be filled")
	}
	return spaces, small.src, small.objs
}

// gate is a proxy in front of the target: it counts whole-object uploads
// per key, can act on the n-th one (cancel, kill) and can fail requests.
type gate struct {
	*httptest.Server
	mu      sync.Mutex
	uploads map[string]int
	n       int // uploads since arm
	aborts  int
	// partBytes are the bytes of every part uploaded through the gate.
	partBytes int64
	on        func(kind string, n int) // under no lock; may kill or cancel
	// body counts the bytes of uploads read off the wire, whole or cut
	// short; onBody is told each new total (under no lock).
	body   atomic.Int64
	onBody atomic.Pointer[func(total int64)]
	// completed holds, per bucket, key and part number, how often an
	// upload of it succeeded; repeated the bytes of every success after
	// the first: work done twice, where body counts cut-off uploads too.
	completed map[string]int
	repeated  int64
	fail      func(kind string) int // status to answer instead of forwarding, 0 to forward
	injected  int
}

func newGate(t testing.TB, target string) *gate {
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ErrorLog = log.New(io.Discard, "", 0)
	g := &gate{uploads: map[string]int{}, completed: map[string]int{}}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, key := kind(r)
		key, _ = url.PathUnescape(key)
		g.mu.Lock()
		n := 0
		if k == "PUT" || k == "CREATE" {
			g.uploads[key]++
			g.n++
			n = g.n
		}
		if k == "ABORT" {
			g.aborts++
		}
		if k == "PART" {
			g.partBytes += r.ContentLength
		}
		on, fail := g.on, g.fail
		g.mu.Unlock()
		if on != nil {
			on(k, n)
		}
		if fail != nil {
			if status := fail(k); status != 0 {
				g.mu.Lock()
				g.injected++
				g.mu.Unlock()
				if status != -2 {
					io.Copy(io.Discard, r.Body)
				}
				switch status {
				case -1: // the connection drops mid-request
					if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
						c.Close()
						return
					}
				case -2: // the target acts on the request, its answer is lost
					p.ServeHTTP(httptest.NewRecorder(), r)
					if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
						c.Close()
						return
					}
				case http.StatusServiceUnavailable:
					w.WriteHeader(status)
					io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>gate</RequestId></Error>`)
					return
				default:
					w.WriteHeader(status)
					io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>gate</RequestId></Error>`)
					return
				}
			}
		}
		if k != "PUT" && k != "PART" {
			p.ServeHTTP(w, r)
			return
		}
		body := &meteredBody{ReadCloser: r.Body, g: g}
		r.Body = body
		status := simcore.Answered(w, func(w http.ResponseWriter) { p.ServeHTTP(w, r) })
		if status/100 == 2 {
			id := r.URL.Path + "#" + r.URL.Query().Get("partNumber")
			g.mu.Lock()
			if g.completed[id]++; g.completed[id] > 1 {
				g.repeated += body.n
			}
			g.mu.Unlock()
		}
	}))
	t.Cleanup(g.Close)
	return g
}

type meteredBody struct {
	io.ReadCloser
	g *gate
	n int64
}

func (m *meteredBody) Read(p []byte) (int, error) {
	n, err := m.ReadCloser.Read(p)
	if n > 0 {
		m.n += int64(n)
		total := m.g.body.Add(int64(n))
		if on := m.g.onBody.Load(); on != nil {
			(*on)(total)
		}
	}
	return n, err
}

func (g *gate) arm(on func(kind string, n int)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n, g.on = 0, on
}

func (g *gate) total() (n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.uploads {
		n += c
	}
	return n
}

// TestKillAndResume stops a copy five times, by cancelling it and by
// SIGKILL of a child process (once in the middle of a multipart upload),
// and resumes from the journal each time. At the end the target holds
// every source object intact, and the uploads across all runs exceed the
// object count by at most Width per kill: only objects in flight at a kill
// are sent again.
func TestKillAndResume(t *testing.T) {
	_, target := servers(t)
	_, src, objs := smallSource(t)
	dst := bucket(t, target, "target-resume")
	g := newGate(t, target.Endpoint())
	through := dst
	through.Endpoint = g.URL
	const width = 8
	journal := pgserver.TempDir(t)
	seed := uint64(time.Now().UnixNano())
	rnd := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)

	type round struct {
		child  bool
		after  int  // uploads before the stop
		onPart bool // stop at the first multipart part instead
	}
	rounds := []round{
		{child: false, after: 100},
		{child: true, onPart: true},
		{child: false, after: 40 + rnd.IntN(100)},
		{child: true, after: 40 + rnd.IntN(100)},
		{child: false, after: 40 + rnd.IntN(100)},
	}
	kills := 0
	for i, r := range rounds {
		before := g.total()
		stopAt := func(k string, n int) bool { return (r.onPart && k == "PART") || (!r.onPart && n == r.after) }
		var stopped atomic.Bool
		if r.child {
			cmd, out := startChild(t, "copy", childConfig{Src: src, Dst: through, Journal: journal, Width: width, PartSize: testPartSize})
			var once sync.Once
			g.arm(func(k string, n int) {
				if stopAt(k, n) {
					once.Do(func() { stopped.Store(true); cmd.Process.Kill() })
				}
			})
			err := cmd.Wait()
			g.arm(nil)
			t.Logf("round %d: child %v after %d uploads; %s", i+1, err, g.total()-before, bytes.TrimSpace(out.Bytes()))
		} else {
			ctx, cancel := context.WithCancel(context.Background())
			var once sync.Once
			g.arm(func(k string, n int) {
				if stopAt(k, n) {
					once.Do(func() { stopped.Store(true); cancel() })
				}
			})
			res, err := Copy(ctx, src, through, Options{Width: width, PartSize: testPartSize, Journal: journal, Backoff: fast})
			g.arm(nil)
			cancel()
			t.Logf("round %d: cancelled, %v after %d uploads; %s", i+1, err, g.total()-before, describe(res.Snapshot))
			if stopped.Load() != (err != nil) {
				t.Fatalf("round %d: stopped %v, error %v", i+1, stopped.Load(), err)
			}
		}
		if stopped.Load() {
			kills++
		}
	}
	res, err := Copy(context.Background(), src, through, Options{Width: width, PartSize: testPartSize, Journal: journal, Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("last run: %s", describe(res.Snapshot))

	got := listing(t, target, dst.Name)
	if len(got) != len(objs) {
		t.Fatalf("the target holds %d objects, the source %d", len(got), len(objs))
	}
	for _, o := range objs {
		if got[o.Key] != o.Size {
			t.Fatalf("%s: %d bytes at the target, want %d", o.Key, got[o.Key], o.Size)
		}
	}
	rep, err := Verify(context.Background(), src, dst, VerifyOptions{Width: 8, Backoff: fast})
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v, %v", rep.Findings, err)
	}
	total := g.total()
	t.Logf("%d uploads for %d objects over %d stops: %d sent again (bound %d = %d stops × width %d); %d stale multipart uploads aborted",
		total, len(objs), kills, total-len(objs), kills*width, kills, width, g.aborts)
	if total > len(objs)+kills*width {
		t.Errorf("%d uploads for %d objects: more than width (%d) sent again per stop (%d stops)", total, len(objs), width, kills)
	}
	if kills < len(rounds) {
		t.Errorf("only %d of %d rounds were stopped", kills, len(rounds))
	}
	// The upload open at the SIGKILL was taken over by the next run or
	// aborted: none is left open to be billed for.
	for u := range rootClient(t, target).ListIncompleteUploads(context.Background(), dst.Name, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		t.Errorf("multipart upload left open: %s %s", u.Key, u.UploadID)
	}
}

// TestRetriesSlowDown puts a proxy in front of the target that answers
// some writes with 503 SlowDown, one with 500 and drops one connection:
// the copy rides them out, every failure costs exactly one retry, and the
// copy verifies.
func TestRetriesSlowDown(t *testing.T) {
	_, target := servers(t)
	_, src, objs := smallSource(t)
	dst := bucket(t, target, "target-retry")
	g := newGate(t, target.Endpoint())
	through := dst
	through.Endpoint = g.URL
	writes := 0
	g.fail = func(k string) int {
		if k != "PUT" && k != "PART" {
			return 0
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		writes++
		switch {
		case writes == 50:
			return http.StatusInternalServerError
		case writes == 90:
			return -1
		case writes%9 == 0:
			return http.StatusServiceUnavailable
		}
		return 0
	}
	res, err := Copy(context.Background(), src, through, Options{Width: 8, PartSize: testPartSize, Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	injected := g.injected
	g.mu.Unlock()
	t.Logf("%d failures injected; %s", injected, describe(res.Snapshot))
	if injected < 50 || res.Retried != int64(injected) || res.Objects != int64(len(objs)) || res.Failed != 0 {
		t.Fatalf("%d failures injected, result %+v", injected, res.Snapshot)
	}
	rep, err := Verify(context.Background(), src, dst, VerifyOptions{Width: 8, Backoff: fast})
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v, %v", rep.Findings, err)
	}
}

// TestALostStartLeavesNoUpload loses the answer to a multipart upload's
// start after the target made the upload: the retry starts a second one,
// and the first, which no journal can name, is aborted before the copy
// reports success.
func TestALostStartLeavesNoUpload(t *testing.T) {
	_, target := servers(t)
	_, src, objs := smallSource(t)
	dst := bucket(t, target, "target-lost-start")
	g := newGate(t, target.Endpoint())
	through := dst
	through.Endpoint = g.URL
	creates := 0
	g.fail = func(k string) int {
		if k != "CREATE" {
			return 0
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if creates++; creates == 1 {
			return -2
		}
		return 0
	}
	res, err := Copy(context.Background(), src, through, Options{Width: 4, PartSize: testPartSize, Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects != int64(len(objs)) || g.injected != 1 || g.aborts != 1 {
		t.Fatalf("%d objects copied of %d, %d answers lost, %d uploads aborted; want every object, 1 and 1", res.Objects, len(objs), g.injected, g.aborts)
	}
	for u := range rootClient(t, target).ListIncompleteUploads(context.Background(), dst.Name, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		t.Errorf("multipart upload left open: %s %s", u.Key, u.UploadID)
	}
}

func (g *gate) parts() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.partBytes
}

// TestAKilledMultipartUploadKeepsItsParts: a copy killed in the middle of
// a large video's upload, resumed: the parts the target already holds are
// checked against the source's bytes and kept, not sent again, and the
// object arrives whole.
func TestAKilledMultipartUploadKeepsItsParts(t *testing.T) {
	spaces, target := servers(t)
	objs := []object{{Key: "media_attachments/files/000/000/001/original/big.mp4", Size: 5*testPartSize + 12345, Seed: 3, ContentType: "video/mp4"}}
	src := bucket(t, spaces, "spaces-big")
	fill(t, spaces, src.Name, objs)
	dst := bucket(t, target, "target-big")
	g := newGate(t, target.Endpoint())
	through := dst
	through.Endpoint = g.URL
	journal := pgserver.TempDir(t)

	cmd, out := startChild(t, "copy", childConfig{Src: src, Dst: through, Journal: journal, Width: 1, PartSize: testPartSize})
	var seen atomic.Int64
	var once sync.Once
	g.arm(func(k string, n int) {
		if k == "PART" && seen.Add(1) == 4 {
			once.Do(func() { cmd.Process.Kill() })
		}
	})
	err := cmd.Wait()
	g.arm(nil)
	if err == nil {
		t.Fatalf("the child was not killed: %s", out)
	}
	before := g.parts()
	res, err := Copy(context.Background(), src, through, Options{Width: 1, PartSize: testPartSize, Journal: journal, Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	sent := g.parts() - before
	t.Logf("after the kill: %d bytes of parts sent again, %d kept, of %d", sent, res.KeptBytes, objs[0].Size)
	if res.KeptBytes < 3*testPartSize || sent > objs[0].Size-3*testPartSize {
		t.Errorf("resumed: %d bytes kept, %d sent; want the 3 parts done before the kill kept", res.KeptBytes, sent)
	}
	rep, err := Verify(context.Background(), src, dst, VerifyOptions{Width: 1, Backoff: fast})
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v, %v", rep.Findings, err)
	}
}
