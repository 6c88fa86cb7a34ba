// Package s3server runs a real S3 server (versitygw, with its POSIX
// backend) on loopback for the sandbox and for tests, and speaks its admin
// API to create per-bucket users. Objects are plain files under the
// server's folder; nothing about the S3 protocol is imitated. It is a
// server, where objectstore and migrate/objects are clients: the two meet
// only on the wire, as a provider's S3 and the tool do.
package s3server

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cosocial/cosocial/pkg/localserver"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// Region is the region the server answers for; clients sign with it.
const Region = "us-east-1"

// SelfGateway is set by main to this program's own path: a cosocial with
// no versitygw beside it then runs itself, under GatewayName, as the S3
// server. Test binaries cannot serve so, and leave it empty.
var SelfGateway string

// Binary finds the S3 server: $COSOCIAL_VERSITYGW, a versitygw beside this
// program (where `make` puts it) or on PATH, or else this program itself
// (SelfGateway). argv0 is the name to start it under.
func Binary() (path, argv0 string, err error) {
	if p := os.Getenv("COSOCIAL_VERSITYGW"); p != "" {
		return p, p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, p, nil
	}
	if SelfGateway != "" {
		return SelfGateway, GatewayName, nil
	}
	return "", "", errors.New("the S3 server versitygw was not found: build it with `make bin/versitygw` (go build -o bin/versitygw github.com/versity/versitygw/cmd/versitygw), or set COSOCIAL_VERSITYGW")
}

// Server is a running versitygw.
type Server struct {
	Dir        string
	Port       int
	RootAccess string
	RootSecret string
	cmd        *exec.Cmd
	done       chan error
	client     *minio.Client
	http       *http.Client
}

// Start runs versitygw with its data and users under dir, on port (0: a
// free one). The root credentials are new each start: they are never
// written anywhere, and the per-bucket users survive restarts in dir.
func Start(ctx context.Context, dir string, port int) (*Server, error) {
	bin, argv0, err := Binary()
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"data", "iam", "versions"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	s := &Server{Dir: dir, RootAccess: "root" + random(8), RootSecret: random(32), http: &http.Client{Timeout: time.Minute}}
	for attempt := 0; attempt < 5; attempt++ {
		p := port
		if p == 0 {
			if p, err = localserver.FreePort(); err != nil {
				return nil, err
			}
		}
		if err = s.start(ctx, bin, argv0, p); err == nil {
			break
		}
		if port != 0 {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	s.client, err = minio.New(fmt.Sprintf("127.0.0.1:%d", s.Port), &minio.Options{
		Creds: credentials.NewStaticV4(s.RootAccess, s.RootSecret, ""), Region: Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, bin, argv0 string, port int) error {
	logf, err := os.OpenFile(filepath.Join(s.Dir, "versitygw.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin,
		"--port", fmt.Sprintf("127.0.0.1:%d", port), "--region", Region,
		"--iam-dir", filepath.Join(s.Dir, "iam"), "--iam-cache-disable", "--health", "/health", "--quiet",
		"posix", "--versioning-dir", filepath.Join(s.Dir, "versions"), filepath.Join(s.Dir, "data"))
	cmd.Args[0] = argv0
	// Credentials go through the environment, not argv, so that ps cannot
	// show them.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.RootAccess, "ROOT_SECRET_KEY="+s.RootSecret)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting versitygw: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	s.cmd, s.done, s.Port = cmd, done, port
	// The banner comes before the port is bound: only /health says ready.
	// Whatever else holds the port (a server that never answers, another
	// S3 server) must not pass for this one: each probe is bounded, and
	// ready means this server's own root key is accepted.
	probe := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("versitygw exited at start (%v); see %s", err, filepath.Join(s.Dir, "versitygw.log"))
		case <-ctx.Done():
			s.Stop()
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
		resp, err := probe.Get(s.Endpoint() + "/health")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = s.signed(pctx, http.MethodGet, "/", nil, http.StatusOK)
		cancel()
		if err == nil {
			return nil
		}
	}
	s.Stop()
	return errors.New("versitygw did not become ready within 30 s")
}

// Stop stops the server and waits for it.
func (s *Server) Stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	return nil
}

// Endpoint is the server's S3 URL.
func (s *Server) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", s.Port) }

// Client is an S3 client with the root credentials.
func (s *Server) Client() *minio.Client { return s.client }

// CreateBucket creates a bucket whose owner can set canned ACLs (S3's
// default since 2023 enforces bucket ownership and refuses ACLs).
func (s *Server) CreateBucket(ctx context.Context, name string) error {
	if err := s.client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: Region}); err != nil {
		return err
	}
	body := []byte(`<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ObjectOwnership>BucketOwnerPreferred</ObjectOwnership></Rule></OwnershipControls>`)
	_, err := s.signed(ctx, http.MethodPut, "/"+url.PathEscape(name)+"?ownershipControls", body, http.StatusOK)
	return err
}

// ErrBucketNotEmpty refuses to delete a bucket that holds objects.
var ErrBucketNotEmpty = errors.New("bucket not empty")

// DeleteBucket deletes an empty bucket.
func (s *Server) DeleteBucket(ctx context.Context, name string) error {
	err := s.client.RemoveBucket(ctx, name)
	if minio.ToErrorResponse(err).Code == "BucketNotEmpty" {
		return ErrBucketNotEmpty
	}
	return err
}

// Usage counts a bucket's objects and bytes.
func (s *Server) Usage(ctx context.Context, bucket string) (objects, bytes int64, err error) {
	for obj := range s.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return 0, 0, obj.Err
		}
		objects++
		bytes += obj.Size
	}
	return objects, bytes, nil
}

// CreateAccessKey adds a user that can reach only the buckets it owns
// and cannot create any: the provider's API makes them (OVHcloud, Spaces).
func (s *Server) CreateAccessKey(ctx context.Context, access, secret string) error {
	return s.createUser(ctx, access, secret, "user")
}

// CreateProjectKey adds a user that may also create buckets, as an EC2
// credential may on Ceph RGW. Buckets it creates enforce object
// ownership, as AWS's do, until their owner says otherwise.
func (s *Server) CreateProjectKey(ctx context.Context, access, secret string) error {
	return s.createUser(ctx, access, secret, "userplus")
}

func (s *Server) createUser(ctx context.Context, access, secret, role string) error {
	body := fmt.Sprintf("<Account><Access>%s</Access><Secret>%s</Secret><Role>%s</Role></Account>", xmlEscape(access), xmlEscape(secret), role)
	_, err := s.signed(ctx, http.MethodPatch, "/create-user", []byte(body), http.StatusCreated)
	return err
}

// DeleteAccessKey removes a user; its key stops working at once.
func (s *Server) DeleteAccessKey(ctx context.Context, access string) error {
	_, err := s.signed(ctx, http.MethodPatch, "/delete-user?access="+url.QueryEscape(access), nil, http.StatusOK)
	return err
}

// Secret returns a user's secret key.
func (s *Server) Secret(ctx context.Context, access string) (string, error) {
	body, err := s.signed(ctx, http.MethodPatch, "/list-users", nil, http.StatusOK)
	if err != nil {
		return "", err
	}
	var res struct {
		Accounts []struct {
			Access string `xml:"Access"`
			Secret string `xml:"Secret"`
		} `xml:"Accounts"`
	}
	if err := xml.Unmarshal(body, &res); err != nil {
		return "", err
	}
	for _, a := range res.Accounts {
		if a.Access == access {
			return a.Secret, nil
		}
	}
	return "", fmt.Errorf("no S3 user %s", access)
}

// Grant makes a user the owner of a bucket, which gives it that bucket
// and nothing else.
func (s *Server) Grant(ctx context.Context, access, bucket string) error {
	_, err := s.signed(ctx, http.MethodPatch, "/change-bucket-owner?bucket="+url.QueryEscape(bucket)+"&owner="+url.QueryEscape(access), nil, http.StatusOK)
	return err
}

// Version turns on versioning for a bucket.
func (s *Server) Version(ctx context.Context, bucket string) error {
	return s.client.EnableVersioning(ctx, bucket)
}

// signed sends a request signed with the root credentials and checks its
// status.
func (s *Server) signed(ctx context.Context, method, path string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.Endpoint()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if len(body) > 0 {
		md := md5.Sum(body)
		req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(md[:]))
		req.ContentLength = int64(len(body))
	}
	resp, err := s.http.Do(signer.SignV4(*req, s.RootAccess, s.RootSecret, "", Region))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("S3 server: %s %s: %s: %s", method, req.URL.Path, resp.Status, bytes.TrimSpace(out))
	}
	return out, nil
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
