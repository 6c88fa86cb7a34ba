package rgw_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/cosocial/cosocial/pkg/sandbox/rgw"
)

var ctx = context.Background()

// keystone is the EC2 credentials a test hands out: access → secret and
// project.
type keystone struct {
	mu   sync.Mutex
	keys map[string][2]string
}

func (k *keystone) EC2Key(access string) (string, string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.keys[access]
	return v[0], v[1], ok
}

func (k *keystone) remove(access string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.keys, access)
}

// world is a gateway in front of a real S3 server, with two keys of the
// project "coop" (a, b) and one of another project (other).
type world struct {
	s3       *s3server.Server
	keys     *keystone
	endpoint string
	ledger   string
	skew     atomic.Int64 // added to the gateway's clock, in seconds
	stop     func()
}

func start(t *testing.T) *world {
	t.Helper()
	if _, _, err := s3server.Binary(); err != nil {
		t.Fatalf("the gateway needs the S3 server: %v", err)
	}
	s3, err := s3server.Start(ctx, filepath.Join(t.TempDir(), "s3"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s3.Stop() })
	w := &world{s3: s3, ledger: filepath.Join(t.TempDir(), "rgw.log"), keys: &keystone{keys: map[string][2]string{
		"a": {"secret-a", "coop"}, "b": {"secret-b", "coop"}, "other": {"secret-other", "elsewhere"},
	}}}
	w.serve(t)
	return w
}

// serve (again) runs a gateway over the world's ledger.
func (w *world) serve(t *testing.T) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	gw, err := rgw.New(rgw.Options{
		Backend: w.s3, Endpoint: "http://" + srv.Listener.Addr().String(), Keys: w.keys, Ledger: w.ledger,
		Now: func() time.Time { return time.Now().Add(time.Duration(w.skew.Load()) * time.Second) },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = gw
	srv.Start()
	w.endpoint = gw.Endpoint()
	w.stop = func() {
		srv.Close()
		gw.Close()
	}
	t.Cleanup(func() { w.stop() })
}

// client is minio-go with an access key, over plain HTTP as the sandbox
// serves it, signing for the S3 server's region.
func (w *world) client(t *testing.T, access string, tr http.RoundTripper) *minio.Client {
	t.Helper()
	secret, _, _ := w.keys.EC2Key(access)
	u, _ := url.Parse(w.endpoint)
	mc, err := minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(access, secret, ""), Region: s3server.Region, BucketLookup: minio.BucketLookupPath, Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

// signed sends one request signed by an access key over its whole body.
func (w *world) signed(t *testing.T, access, method, path string, h http.Header, body []byte) (int, string) {
	t.Helper()
	secret, _, _ := w.keys.EC2Key(access)
	req, err := http.NewRequest(method, w.endpoint+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	return do(t, signer.SignV4(*req, access, secret, "", s3server.Region))
}

// anonymous is a request with no signature, as a browser makes.
func (w *world) anonymous(t *testing.T, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, w.endpoint+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func code(err error) string { return minio.ToErrorResponse(err).Code }

func put(t *testing.T, mc *minio.Client, bucket, key, body string, acl string) error {
	t.Helper()
	opts := minio.PutObjectOptions{}
	if acl != "" {
		opts.UserMetadata = map[string]string{"x-amz-acl": acl}
	}
	_, err := mc.PutObject(ctx, bucket, key, strings.NewReader(body), int64(len(body)), opts)
	return err
}

func get(mc *minio.Client, bucket, key string) (string, error) {
	o, err := mc.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", err
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	return string(b), err
}

// TestAProjectsKeysShareItsBuckets: every key of a project reaches and
// lists the buckets any of them made; a key of another project reaches
// none of them, cannot take their names, and lists only its own.
func TestAProjectsKeysShareItsBuckets(t *testing.T) {
	w := start(t)
	a, b, other := w.client(t, "a", nil), w.client(t, "b", nil), w.client(t, "other", nil)
	if err := a.MakeBucket(ctx, "coop-media", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := put(t, b, "coop-media", "avatars/1.png", "png", ""); err != nil {
		t.Fatalf("another key of the project cannot write the bucket: %v", err)
	}
	if got, err := get(a, "coop-media", "avatars/1.png"); err != nil || got != "png" {
		t.Fatalf("read back %q, %v", got, err)
	}
	if list, err := b.ListBuckets(ctx); err != nil || len(list) != 1 || list[0].Name != "coop-media" {
		t.Fatalf("the project's other key lists %+v, %v", list, err)
	}
	if err := put(t, other, "coop-media", "x", "x", ""); code(err) != "AccessDenied" {
		t.Fatalf("another project writes the bucket: %v", err)
	}
	if _, err := get(other, "coop-media", "avatars/1.png"); code(err) != "AccessDenied" {
		t.Fatalf("another project reads the bucket: %v", err)
	}
	if list, err := other.ListBuckets(ctx); err != nil || len(list) != 0 {
		t.Fatalf("another project lists %+v, %v", list, err)
	}
	if err := other.MakeBucket(ctx, "coop-media", minio.MakeBucketOptions{}); code(err) != "BucketAlreadyExists" {
		t.Fatalf("another project takes the bucket's name: %v", err)
	}
	if err := other.RemoveBucket(ctx, "coop-media"); code(err) != "AccessDenied" {
		t.Fatalf("another project deletes the bucket: %v", err)
	}
	// A bucket of the S3 server no project made is someone else's.
	if err := w.s3.CreateBucket(ctx, "outside"); err != nil {
		t.Fatal(err)
	}
	if err := a.MakeBucket(ctx, "outside", minio.MakeBucketOptions{}); code(err) != "BucketAlreadyExists" {
		t.Fatalf("a bucket outside the gateway: %v", err)
	}
	if _, err := get(a, "nowhere", "x"); code(err) != "NoSuchBucket" {
		t.Fatalf("a bucket nobody has: %v", err)
	}
	w.keys.remove("b")
	if err := put(t, b, "coop-media", "y", "y", ""); code(err) != "InvalidAccessKeyId" {
		t.Fatalf("a deleted key: %v", err)
	}
	wrong, _ := minio.New(strings.TrimPrefix(w.endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4("a", "not-the-secret", ""), BucketLookup: minio.BucketLookupPath})
	if err := put(t, wrong, "coop-media", "z", "z", ""); code(err) != "SignatureDoesNotMatch" {
		t.Fatalf("a wrong secret: %v", err)
	}
	// What the gateway knows outlives it.
	w.stop()
	w.serve(t)
	if got, err := get(w.client(t, "a", nil), "coop-media", "avatars/1.png"); err != nil || got != "png" {
		t.Fatalf("after a restart: %q, %v", got, err)
	}
	if err := put(t, w.client(t, "other", nil), "coop-media", "x", "x", ""); code(err) != "AccessDenied" {
		t.Fatalf("after a restart another project writes the bucket: %v", err)
	}
}

// TestACLsMeanWhatTheyMeanOnCeph: a public-read bucket lets anyone list
// it but not read an object written without an ACL; an object's own
// public-read ACL, by header, multipart upload or document, lets anyone
// read it, and private takes that back.
func TestACLsMeanWhatTheyMeanOnCeph(t *testing.T) {
	w := start(t)
	a := w.client(t, "a", nil)
	if code, body := w.signed(t, "a", "PUT", "/pub", http.Header{"X-Amz-Acl": {"public-read"}}, nil); code != 200 {
		t.Fatalf("creating a public-read bucket: %d %s", code, body)
	}
	if code, body := w.anonymous(t, "GET", "/pub"); code != 200 || !strings.Contains(body, "ListBucketResult") {
		t.Fatalf("anyone lists a public-read bucket: %d %s", code, body)
	}
	if err := put(t, a, "pub", "private.png", "secret", ""); err != nil {
		t.Fatal(err)
	}
	if code, body := w.anonymous(t, "GET", "/pub/private.png"); code != 403 || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("anyone reads an object written without an ACL: %d %s", code, body)
	}
	if err := put(t, a, "pub", "public.png", "png", "public-read"); err != nil {
		t.Fatal(err)
	}
	if code, body := w.anonymous(t, "GET", "/pub/public.png"); code != 200 || body != "png" {
		t.Fatalf("anyone reads a public-read object: %d %s", code, body)
	}
	if code, body := w.signed(t, "a", "GET", "/pub/public.png?acl", nil, nil); code != 200 || !strings.Contains(body, "AllUsers</URI></Grantee><Permission>READ") {
		t.Fatalf("the object's ACL: %d %s", code, body)
	}
	if code, body := w.signed(t, "a", "PUT", "/pub/public.png?acl", http.Header{"X-Amz-Acl": {"private"}}, nil); code != 200 {
		t.Fatalf("making the object private: %d %s", code, body)
	}
	if code, _ := w.anonymous(t, "GET", "/pub/public.png"); code != 403 {
		t.Fatalf("anyone reads an object made private: %d", code)
	}
	// s3cmd's setacl sends the owner's grants and the group's as a document.
	doc := `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>coop</ID></Owner><AccessControlList>` +
		`<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>coop</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>` +
		`<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>` +
		`</AccessControlList></AccessControlPolicy>`
	if code, body := w.signed(t, "a", "PUT", "/pub/private.png?acl", nil, []byte(doc)); code != 200 {
		t.Fatalf("granting AllUsers READ by document: %d %s", code, body)
	}
	if code, body := w.anonymous(t, "GET", "/pub/private.png"); code != 200 || body != "secret" {
		t.Fatalf("anyone reads an object granted to AllUsers: %d %s", code, body)
	}
	if code, body := w.signed(t, "a", "GET", "/pub/missing.png?acl", nil, nil); code != 404 || !strings.Contains(body, "NoSuchKey") {
		t.Fatalf("the ACL of an object that is not there: %d %s", code, body)
	}
	// A multipart upload's ACL is given when it starts and holds when
	// it completes.
	big := bytes.Repeat([]byte("0123456789abcdef"), 6<<20/16)
	_, err := a.PutObject(ctx, "pub", "video.mp4", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{
		PartSize: 5 << 20, UserMetadata: map[string]string{"x-amz-acl": "public-read"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := w.anonymous(t, "GET", "/pub/video.mp4"); code != 200 || body != string(big) {
		t.Fatalf("anyone reads a public-read multipart object: %d, %d bytes", code, len(body))
	}
	// Another project may copy what anyone may read, and nothing else.
	other := w.client(t, "other", nil)
	if err := other.MakeBucket(ctx, "elsewhere", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.CopyObject(ctx, minio.CopyDestOptions{Bucket: "elsewhere", Object: "copy.png"}, minio.CopySrcOptions{Bucket: "pub", Object: "private.png"}); err != nil {
		t.Fatalf("copying a public object: %v", err)
	}
	if err := put(t, a, "pub", "hidden.png", "hidden", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := other.CopyObject(ctx, minio.CopyDestOptions{Bucket: "elsewhere", Object: "stolen.png"}, minio.CopySrcOptions{Bucket: "pub", Object: "hidden.png"}); code(err) != "AccessDenied" {
		t.Fatalf("copying another project's private object: %v", err)
	}
	if code, body := w.signed(t, "a", "PUT", "/pub?acl", http.Header{"X-Amz-Acl": {"private"}}, nil); code != 200 {
		t.Fatalf("making the bucket private: %d %s", code, body)
	}
	if code, _ := w.anonymous(t, "GET", "/pub"); code != 403 {
		t.Fatalf("anyone lists a private bucket: %d", code)
	}
	if code, body := w.signed(t, "a", "PUT", "/pub?acl", http.Header{"X-Amz-Grant-Read": {`id="someone"`}}, nil); code != 501 || !strings.Contains(body, "docs/sandbox.md") {
		t.Fatalf("a grant to a single user: %d %s", code, body)
	}
}

// recorder notes the payload hash of each upload and may corrupt one
// byte of a body on the wire, inside a chunk's data.
type recorder struct {
	mu       sync.Mutex
	payloads []string
	corrupt  bool
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	if req.Method == http.MethodPut {
		r.payloads = append(r.payloads, req.Header.Get("X-Amz-Content-Sha256"))
	}
	corrupt := r.corrupt
	r.mu.Unlock()
	if corrupt && req.Body != nil && req.ContentLength > 1000 {
		req.Body = &flipAt{ReadCloser: req.Body, at: 500}
	}
	return http.DefaultTransport.RoundTrip(req)
}

type flipAt struct {
	io.ReadCloser
	at, read int
}

func (f *flipAt) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if f.at >= f.read && f.at < f.read+n {
		p[f.at-f.read] ^= 0xff
	}
	f.read += n
	return n, err
}

// TestStreamingUploadsAreCheckedChunkByChunk: minio-go over plain HTTP
// signs each chunk of an upload; a chunk changed on the way is refused
// and nothing is stored.
func TestStreamingUploadsAreCheckedChunkByChunk(t *testing.T) {
	w := start(t)
	rec := &recorder{}
	a := w.client(t, "a", rec)
	if err := a.MakeBucket(ctx, "coop-media", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("media ", 40000)
	if err := put(t, a, "coop-media", "streamed", body, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := get(a, "coop-media", "streamed"); err != nil || got != body {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	if len(rec.payloads) != 2 || !strings.HasPrefix(rec.payloads[1], "STREAMING-") {
		t.Fatalf("the upload was not streamed (payloads %v): this test checks chunk signatures", rec.payloads)
	}
	t.Logf("payloads: %v", rec.payloads)
	rec.corrupt = true
	if err := put(t, a, "coop-media", "corrupted", body, ""); code(err) != "SignatureDoesNotMatch" {
		t.Fatalf("a chunk changed on the way: %v", err)
	}
	rec.corrupt = false
	if _, err := a.StatObject(ctx, "coop-media", "corrupted", minio.StatObjectOptions{}); code(err) != "NoSuchKey" {
		t.Fatalf("a refused upload was stored: %v", err)
	}
}

// sha256Hasher is the hasher minio-go's streaming signer asks for.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

// TestATrailingChecksumGoesOn: an upload whose CRC32C trails its signed
// chunks is stored when the checksum is right, and refused by the S3
// server when it is not, so the checksum reached it.
func TestATrailingChecksumGoesOn(t *testing.T) {
	w := start(t)
	if err := w.client(t, "a", nil).MakeBucket(ctx, "coop-media", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("trailer "), 20000)
	sum := crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli))
	right := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, sum))
	wrong := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, sum+1))
	upload := func(key, checksum string) (int, string) {
		req, err := http.NewRequest(http.MethodPut, w.endpoint+"/coop-media/"+key, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Trailer = http.Header{"X-Amz-Checksum-Crc32c": {checksum}}
		req = signer.StreamingSignV4(req, "a", "secret-a", "", s3server.Region, int64(len(body)), time.Now().UTC(), sha256Hasher{sha256.New()})
		if got := req.Header.Get("X-Amz-Content-Sha256"); got != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" {
			t.Fatalf("the upload is signed as %s, not with a trailer", got)
		}
		return do(t, req)
	}
	if code, answer := upload("right", right); code != 200 {
		t.Fatalf("an upload with its right checksum: %d %s", code, answer)
	}
	if got, err := get(w.client(t, "b", nil), "coop-media", "right"); err != nil || got != string(body) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	if code, answer := upload("wrong", wrong); code/100 != 4 || !strings.Contains(answer, "BadDigest") && !strings.Contains(answer, "Checksum") {
		t.Fatalf("an upload with a wrong checksum: %d %s", code, answer)
	}
}

// TestPresignedURLs: a presigned GET works until it expires, and not
// with its signature changed.
func TestPresignedURLs(t *testing.T) {
	w := start(t)
	a := w.client(t, "a", nil)
	if err := a.MakeBucket(ctx, "coop-media", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := put(t, a, "coop-media", "export.zip", "zip", ""); err != nil {
		t.Fatal(err)
	}
	u, err := w.client(t, "b", nil).PresignedGetObject(ctx, "coop-media", "export.zip", time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := w.anonymous(t, "GET", strings.TrimPrefix(u.String(), w.endpoint)); code != 200 || body != "zip" {
		t.Fatalf("a presigned URL: %d %s", code, body)
	}
	q := u.Query()
	sig := q.Get("X-Amz-Signature")
	q.Set("X-Amz-Signature", strings.Repeat("0", len(sig)))
	tampered := *u
	tampered.RawQuery = q.Encode()
	if code, body := w.anonymous(t, "GET", strings.TrimPrefix(tampered.String(), w.endpoint)); code != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Fatalf("a presigned URL with another signature: %d %s", code, body)
	}
	w.skew.Store(2 * 3600)
	if code, body := w.anonymous(t, "GET", strings.TrimPrefix(u.String(), w.endpoint)); code != 403 || !strings.Contains(body, "expired") {
		t.Fatalf("an expired presigned URL: %d %s", code, body)
	}
	if err := put(t, a, "coop-media", "late", "x", ""); code(err) != "RequestTimeTooSkewed" {
		t.Fatalf("a request two hours off the clock: %v", err)
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}
