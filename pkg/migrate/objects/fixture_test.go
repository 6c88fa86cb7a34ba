package objects

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/s3server"
)

// Two real S3 servers for the whole package: one plays Spaces, the other
// the target. Buckets are made per test; the object sets per package.
var fx struct {
	once           sync.Once
	err            error
	spaces, target *s3server.Server
	dirs           []string
	buckets        atomic.Int64
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	code := m.Run()
	for _, s := range []*s3server.Server{fx.spaces, fx.target} {
		if s != nil {
			s.Stop()
		}
	}
	for _, d := range fx.dirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func servers(tb testing.TB) (spaces, target *s3server.Server) {
	tb.Helper()
	if _, _, err := s3server.Binary(); err != nil {
		tb.Skipf("SKIP: %v", err)
	}
	fx.once.Do(func() {
		start := func() *s3server.Server {
			dir, err := os.MkdirTemp("", "cosocial-objects-")
			if err != nil {
				fx.err = err
				return nil
			}
			fx.dirs = append(fx.dirs, dir)
			s, err := s3server.Start(context.Background(), dir, 0)
			if err != nil {
				fx.err = err
			}
			return s
		}
		fx.spaces, fx.target = start(), start()
	})
	if fx.err != nil {
		tb.Fatal(fx.err)
	}
	return fx.spaces, fx.target
}

// bucket creates a bucket with its own user, the way the providers hand
// them out, and returns how to reach it.
func bucket(tb testing.TB, s *s3server.Server, prefix string) Endpoint {
	tb.Helper()
	ctx := context.Background()
	n := fx.buckets.Add(1)
	name := fmt.Sprintf("%s-%d", prefix, n)
	access, secret := fmt.Sprintf("USER%d", n), fmt.Sprintf("secret-%d-%x", n, rand.Uint64())
	for _, err := range []error{s.CreateBucket(ctx, name), s.CreateAccessKey(ctx, access, secret), s.Grant(ctx, access, name)} {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return Endpoint{Bucket: objectstore.Bucket{Endpoint: s.Endpoint(), Name: name, AccessKey: access, SecretKey: secret}}
}

func rootClient(tb testing.TB, s *s3server.Server) *minio.Client {
	c, err := minio.New(strings.TrimPrefix(s.Endpoint(), "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(s.RootAccess, s.RootSecret, ""), Region: s3server.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// object is one object of a test set: its bytes come from its seed.
type object struct {
	Key                       string
	Size                      int64
	Seed                      uint64
	ContentType, CacheControl string
	Disposition, Encoding     string
	Meta                      map[string]string
}

func (o object) body() []byte {
	b := make([]byte, o.Size)
	r := rand.NewChaCha8([32]byte{byte(o.Seed), byte(o.Seed >> 8), byte(o.Seed >> 16), byte(o.Seed >> 24), byte(o.Seed >> 32), byte(o.Seed >> 40)})
	r.Read(b)
	return b
}

func (o object) sha256() string {
	s := sha256.Sum256(o.body())
	return hex.EncodeToString(s[:])
}

// mastodonSet is a media bucket as Mastodon fills it: mostly images
// (an original and a small version), avatars, emojis and preview cards,
// some videos, and `big` objects above the part size placed at the given
// fractions of the key order.
func mastodonSet(seed uint64, n, videos int, big map[float64]int64) []object {
	r := rand.New(rand.NewPCG(seed, 7))
	id := func() string {
		v := r.Uint64()%900_000_000_000_000_000 + 100_000_000_000_000_000
		s := fmt.Sprint(v)
		return s[0:3] + "/" + s[3:6] + "/" + s[6:9] + "/" + s[9:12] + "/" + s[12:15] + "/" + s[15:18]
	}
	logSize := func(lo, hi float64) int64 { return int64(lo * math.Pow(hi/lo, r.Float64())) }
	var objs []object
	seen := map[string]bool{}
	add := func(o object) {
		if !seen[o.Key] && len(objs) < n {
			seen[o.Key] = true
			o.Seed = r.Uint64()
			o.CacheControl = "public, max-age=315576000, immutable"
			objs = append(objs, o)
		}
	}
	for len(objs) < n {
		file := fmt.Sprintf("%016x", r.Uint64())
		switch k := r.IntN(20); {
		case k < 12:
			base := "media_attachments/files/" + id()
			add(object{Key: base + "/original/" + file + ".jpg", Size: logSize(20e3, 200e3), ContentType: "image/jpeg"})
			add(object{Key: base + "/small/" + file + ".jpg", Size: logSize(5e3, 40e3), ContentType: "image/jpeg"})
		case k < 15:
			add(object{Key: "accounts/avatars/" + id() + "/original/" + file + ".png", Size: logSize(5e3, 100e3), ContentType: "image/png",
				Meta: map[string]string{"X-Amz-Meta-Blurhash": "UEHLh[WB2yk8pyoJadR*.7kCMdnj"}})
		case k < 17:
			add(object{Key: "cache/preview_cards/images/" + id() + "/original/" + file + ".webp", Size: logSize(5e3, 80e3), ContentType: "image/webp",
				Disposition: `inline; filename="` + file + `.webp"`})
		case k < 19:
			add(object{Key: "custom_emojis/images/" + id() + "/static/" + file + ".png", Size: logSize(1e3, 20e3), ContentType: "image/png"})
		default:
			// Served gzipped as stored: a client that asked for gzip and
			// unpacked it would corrupt the copy.
			add(object{Key: "exports/" + id() + "/" + file + ".json", Size: logSize(2e3, 30e3), ContentType: "application/json", Encoding: "gzip"})
		}
	}
	slices.SortFunc(objs, func(a, b object) int { return strings.Compare(a.Key, b.Key) })
	for i := range videos {
		o := &objs[(i*7919+13)%len(objs)]
		o.Key = strings.TrimSuffix(o.Key, ".jpg") + ".mp4"
		o.ContentType, o.Size = "video/mp4", logSize(1e6, 5e6)
	}
	for at, size := range big {
		o := &objs[int(at*float64(len(objs)))]
		o.Key = strings.TrimSuffix(o.Key, ".jpg") + ".mp4"
		o.ContentType, o.Size = "video/mp4", size
	}
	slices.SortFunc(objs, func(a, b object) int { return strings.Compare(a.Key, b.Key) })
	return slices.CompactFunc(objs, func(a, b object) bool { return a.Key == b.Key })
}

func fill(tb testing.TB, s *s3server.Server, bucket string, objs []object) {
	tb.Helper()
	c := rootClient(tb, s)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, len(objs))
	work := make(chan object)
	for range 8 {
		wg.Go(func() {
			for o := range work {
				errs <- put(ctx, c, bucket, o)
			}
		})
	}
	for _, o := range objs {
		work <- o
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
}

func put(ctx context.Context, c *minio.Client, bucket string, o object) error {
	body := o.body()
	_, err := c.PutObject(ctx, bucket, o.Key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		ContentType: o.ContentType, CacheControl: o.CacheControl, ContentDisposition: o.Disposition, ContentEncoding: o.Encoding,
		UserMetadata: o.Meta, DisableMultipart: true,
	})
	return err
}

func totalSize(objs []object) (n int64) {
	for _, o := range objs {
		n += o.Size
	}
	return n
}

var fast = provider.Backoff{Attempts: 6, Base: 10 * time.Millisecond, Max: 200 * time.Millisecond}

// recorder counts the requests a run sends, by end and by kind.
type recorder struct {
	rt     http.RoundTripper
	srcURL string
	mu     sync.Mutex
	counts map[string]int
	keys   map[string]int // "GET key" / "PUT key" for object reads and whole-object writes
	noACL  int            // whole-object writes without x-amz-acl: public-read
	onPut  func(n int)    // after the n-th whole-object write is sent
	puts   int
}

func newRecorder(src Endpoint) *recorder {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	t.MaxIdleConnsPerHost = 64
	return &recorder{rt: t, srcURL: src.Endpoint, counts: map[string]int{}, keys: map[string]int{}}
}

// kind names a request the way S3 means it.
func kind(r *http.Request) (string, string) {
	q := r.URL.Query()
	_, bucket, _ := strings.Cut(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(bucket, "/")
	_ = bucket
	switch {
	case q.Has("list-type") || (r.Method == http.MethodGet && key == ""):
		return "LIST", ""
	case q.Has("location"):
		return "LOCATION", ""
	case q.Has("acl"):
		return "ACL", key
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "CREATE", key
	case r.Method == http.MethodPut && q.Has("uploadId"):
		return "PART", key
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "COMPLETE", key
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "ABORT", key
	}
	return r.Method, key
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	end := "dst"
	if strings.HasPrefix(rec.srcURL, "http://"+r.URL.Host) {
		end = "src"
	}
	k, key := kind(r)
	rec.mu.Lock()
	rec.counts[end+" "+k]++
	var n int
	if k == "GET" || k == "PUT" || k == "CREATE" {
		key, _ = url.PathUnescape(key)
		rec.keys[k+" "+key]++
		if k != "GET" {
			if r.Header.Get("x-amz-acl") != "public-read" {
				rec.noACL++
			}
			rec.puts++
			n = rec.puts
		}
	}
	on := rec.onPut
	rec.mu.Unlock()
	if n > 0 && on != nil {
		on(n)
	}
	return rec.rt.RoundTrip(r)
}

func (rec *recorder) count(k string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.counts[k]
}

func (rec *recorder) total() (n int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, c := range rec.counts {
		n += c
	}
	return n
}

func (rec *recorder) String() string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	b, _ := json.Marshal(rec.counts)
	return string(b)
}

// listing returns a bucket's keys and sizes through the root client.
func listing(tb testing.TB, s *s3server.Server, bucket string) map[string]int64 {
	tb.Helper()
	out := map[string]int64{}
	for o := range rootClient(tb, s).ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			tb.Fatal(o.Err)
		}
		out[o.Key] = o.Size
	}
	return out
}

// describe is a Snapshot in a test's log.
func describe(s Snapshot) string {
	return fmt.Sprintf("%d objects (%d bytes), %d skipped, %d retried, %d failed, in %s", s.Objects, s.Bytes, s.Skipped, s.Retried, s.Failed, s.Elapsed.Round(time.Millisecond))
}
