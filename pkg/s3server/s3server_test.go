package s3server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"
)

func start(t *testing.T) *Server {
	t.Helper()
	if _, _, err := Binary(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	s, err := Start(context.Background(), t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

func userClient(t *testing.T, s *Server, access, secret string) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(s.Endpoint(), "http://"), &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Region: Region, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPerBucketUsersAndPublicRead(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, b := range []string{"media-one", "media-two"} {
		if err := s.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateAccessKey(ctx, "ACCESSONE", "secret-one-123456"); err != nil {
		t.Fatal(err)
	}
	if err := s.Grant(ctx, "ACCESSONE", "media-one"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Secret(ctx, "ACCESSONE"); err != nil || got != "secret-one-123456" {
		t.Fatalf("Secret = %q, %v", got, err)
	}
	one := userClient(t, s, "ACCESSONE", "secret-one-123456")
	body := []byte("a picture")
	if _, err := one.PutObject(ctx, "media-one", "a/b.png", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "image/png", CacheControl: "max-age=3600"}); err != nil {
		t.Fatalf("the owner cannot write its bucket: %v", err)
	}
	if _, err := one.PutObject(ctx, "media-two", "x", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err == nil {
		t.Fatal("a bucket's user could write another bucket")
	}
	info, err := one.StatObject(ctx, "media-one", "a/b.png", minio.StatObjectOptions{})
	if err != nil || info.ContentType != "image/png" || info.Metadata.Get("Cache-Control") != "max-age=3600" {
		t.Fatalf("metadata not kept: %+v, %v", info, err)
	}

	anon := func() int {
		resp, err := http.Get(s.Endpoint() + "/media-one/a/b.png")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := anon(); code != http.StatusForbidden {
		t.Fatalf("anonymous read of a private bucket: %d", code)
	}
	req, _ := http.NewRequest(http.MethodPut, s.Endpoint()+"/media-one?acl", nil)
	req.Header.Set("x-amz-acl", "public-read")
	req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	resp, err := http.DefaultClient.Do(signer.SignV4(*req, "ACCESSONE", "secret-one-123456", "", Region))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the owner cannot make its bucket public: %v %v", resp.Status, err)
	}
	if code := anon(); code != http.StatusOK {
		t.Fatalf("anonymous read of a public bucket: %d", code)
	}

	if n, size, err := s.Usage(ctx, "media-one"); err != nil || n != 1 || size != int64(len(body)) {
		t.Fatalf("Usage = %d, %d, %v", n, size, err)
	}
	if err := s.DeleteBucket(ctx, "media-one"); !errors.Is(err, ErrBucketNotEmpty) {
		t.Fatalf("deleting a bucket with objects: %v", err)
	}
	if err := s.DeleteAccessKey(ctx, "ACCESSONE"); err != nil {
		t.Fatal(err)
	}
	if _, err := one.StatObject(ctx, "media-one", "a/b.png", minio.StatObjectOptions{}); err == nil {
		t.Fatal("a deleted user's key still works")
	}
}
