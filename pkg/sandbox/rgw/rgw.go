// Package rgw plays Ceph's RADOS Gateway as a project on an OpenStack
// cloud (VEXXHOST) sees it, in front of the sandbox's S3 server
// (versitygw). The S3 server gives a bucket to one key at a time and
// keeps no object ACLs; Ceph behind Keystone does neither. So the
// gateway checks each request's SigV4 signature against the EC2
// credentials Keystone holds, lets every credential of a project reach
// every bucket of the project, keeps the ACLs of buckets and objects
// itself with their S3 meaning (a public-read bucket lets anyone list
// it, not read its objects), and passes what it allows on to the S3
// server signed with the server's own root key.
package rgw

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// Keys is Keystone's side: the EC2 credentials it holds.
type Keys interface {
	// EC2Key is an EC2 credential's secret and the project it belongs
	// to; ok is false for a key Keystone does not know (or no longer).
	EC2Key(access string) (secret, project string, ok bool)
}

// KeysFunc is a function that answers as Keys.
type KeysFunc func(access string) (secret, project string, ok bool)

// EC2Key calls f.
func (f KeysFunc) EC2Key(access string) (string, string, bool) { return f(access) }

// Options say where the gateway's S3 server is and who may use it.
type Options struct {
	// Backend is the S3 server; the gateway signs what it passes on with
	// its root key.
	Backend *s3server.Server
	// Endpoint is the URL clients reach the gateway at, as the catalog
	// gives it.
	Endpoint string
	Keys     Keys
	// Ledger is the file that keeps bucket owners and ACLs between runs;
	// empty keeps them in memory only.
	Ledger string
	// Now is the clock requests' dates are checked against.
	Now func() time.Time
}

// Gateway is a running gateway; it is an http.Handler.
type Gateway struct {
	opts    Options
	backend *url.URL
	ledger  *ledger
	client  *http.Client
}

// New opens the gateway's ledger.
func New(opts Options) (*Gateway, error) {
	u, err := url.Parse(opts.Backend.Endpoint())
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("the S3 server's URL %q is not valid", opts.Backend.Endpoint())
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l, err := openLedger(opts.Ledger)
	if err != nil {
		return nil, fmt.Errorf("reading the object store's ledger: %w", err)
	}
	// No redirects and no decompression: the answer goes back as the S3
	// server gave it.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Gateway{opts: opts, backend: u, ledger: l, client: client}, nil
}

// Endpoint is the URL clients reach the gateway at.
func (g *Gateway) Endpoint() string { return g.opts.Endpoint }

// Own makes an existing bucket a project's, as if the project had made
// it.
func (g *Gateway) Own(bucket, project string) error {
	return g.ledger.record(entry{Bucket: bucket, Owner: project})
}

// Close closes the ledger.
func (g *Gateway) Close() error { return g.ledger.close() }

// call is one request as the gateway reads it.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	bucket  string
	key     string
	signed  *signedRequest // nil when anonymous
	project string         // the caller's, "" when anonymous
	ledger  *ledger
}

func (c *call) owns() bool { return c.project != "" && c.project == c.ledger.owner(c.bucket) }

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, ledger: g.ledger}
	c.bucket, c.key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !anonymous(r) {
		s, err := verify(r, g.opts.Keys, g.opts.Now())
		if err != nil {
			c.fail(err)
			return
		}
		c.signed, c.project = s, s.project
	}
	switch {
	case c.bucket == "":
		g.serviceRequest(c)
	case c.key == "":
		g.bucketRequest(c)
	default:
		g.objectRequest(c)
	}
}

// serviceRequest is GET /, the caller's buckets.
func (g *Gateway) serviceRequest(c *call) {
	if c.r.Method != http.MethodGet {
		c.fail(&s3Error{http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource."})
		return
	}
	if c.project == "" {
		c.fail(denied("AccessDenied", "Access Denied"))
		return
	}
	owned := g.ledger.owned(c.project)
	g.forward(c, passOn{rewrite: func(body []byte) []byte { return onlyBuckets(body, owned, c.project) }})
}

// listParams are the query keys of a listing, which READ on the bucket
// allows; every other subresource is the owner's alone.
var listParams = map[string]bool{
	"list-type": true, "prefix": true, "delimiter": true, "marker": true, "max-keys": true, "continuation-token": true,
	"start-after": true, "encoding-type": true, "fetch-owner": true, "versions": true, "key-marker": true,
	"version-id-marker": true, "uploads": true, "upload-id-marker": true, "max-uploads": true, "allow-unordered": true,
}

func (g *Gateway) bucketRequest(c *call) {
	q := c.r.URL.Query()
	switch {
	case c.r.Method == http.MethodPut && len(q) == 0:
		g.createBucket(c)
	case q.Has("acl"):
		if !c.owns() {
			g.forward(c, passOn{anonymous: true})
			return
		}
		g.bucketACL(c)
	case c.r.Method == http.MethodDelete && len(q) == 0:
		if !c.owns() {
			g.forward(c, passOn{anonymous: true})
			return
		}
		g.forward(c, passOn{done: func() error { return g.ledger.record(entry{Bucket: c.bucket, Dropped: true}) }})
	case (c.r.Method == http.MethodGet || c.r.Method == http.MethodHead) && onlyListing(q):
		g.forward(c, passOn{anonymous: !c.owns() && !g.ledger.bucketACL(c.bucket).reads(c.project != "")})
	default:
		g.forward(c, passOn{anonymous: !c.owns()})
	}
}

func onlyListing(q url.Values) bool {
	for k := range withoutAuthQuery(q) {
		if !listParams[k] {
			return false
		}
	}
	return true
}

// createBucket makes a bucket the caller's project owns, with the ACL
// the request names. A name taken by anyone else is taken: S3's names
// are global, and the S3 server's root owns them all.
func (g *Gateway) createBucket(c *call) {
	if c.project == "" {
		c.fail(denied("AccessDenied", "Access Denied"))
		return
	}
	a, err := requestACL(c.r.Header)
	if err != nil {
		c.fail(err)
		return
	}
	taken := &s3Error{http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."}
	if owner := g.ledger.owner(c.bucket); owner != "" && owner != c.project {
		c.fail(taken)
		return
	}
	g.forward(c, passOn{
		done: func() error {
			return g.ledger.record(entry{Bucket: c.bucket, Owner: c.project}, entry{Bucket: c.bucket, ACL: a})
		},
		refused: func(code string) *s3Error {
			if code == "BucketAlreadyOwnedByYou" && g.ledger.owner(c.bucket) != c.project {
				return taken
			}
			return nil
		},
	})
}

// bucketACL is GET or PUT /bucket?acl for the bucket's owner.
func (g *Gateway) bucketACL(c *call) {
	switch c.r.Method {
	case http.MethodGet:
		c.xml(g.ledger.bucketACL(c.bucket).document(c.project))
	case http.MethodPut:
		a, err := g.aclOf(c)
		if err != nil {
			c.fail(err)
			return
		}
		if err := g.ledger.record(entry{Bucket: c.bucket, ACL: a}); err != nil {
			c.fail(internal(err))
			return
		}
		c.w.WriteHeader(http.StatusOK)
	default:
		c.fail(&s3Error{http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource."})
	}
}

// aclOf is the ACL a PUT ?acl sets, by header or by document.
func (g *Gateway) aclOf(c *call) (acl, *s3Error) {
	h := c.r.Header
	if h.Get("X-Amz-Acl") != "" || h.Get("X-Amz-Grant-Read") != "" || h.Get("X-Amz-Grant-Write") != "" || h.Get("X-Amz-Grant-Full-Control") != "" {
		return requestACL(h)
	}
	var body io.Reader = c.r.Body
	if c.signed != nil && streaming(c.signed.payload) {
		body = newChunkReader(c.r.Body, c.signed)
	}
	return parseDocument(body, c.project)
}

func (g *Gateway) objectRequest(c *call) {
	q := c.r.URL.Query()
	owner := c.owns()
	switch {
	case q.Has("acl"):
		if !owner {
			g.forward(c, passOn{anonymous: true})
			return
		}
		g.objectACL(c)
	case (c.r.Method == http.MethodGet || c.r.Method == http.MethodHead) && !q.Has("uploadId"):
		g.forward(c, passOn{anonymous: !g.ledger.reads(c.project, c.bucket, c.key)})
	case c.r.Method == http.MethodGet:
		g.forward(c, passOn{anonymous: !owner})
	default:
		g.writeObject(c, owner || g.ledger.bucketACL(c.bucket).writes())
	}
}

// writeObject is every change to an object: a put, a copy, a multipart
// upload's steps, a delete. The object's ACL is set with it, as S3 does:
// a new object without one is private, whatever the bucket's.
func (g *Gateway) writeObject(c *call, allowed bool) {
	if !allowed {
		g.forward(c, passOn{anonymous: true})
		return
	}
	if src := c.r.Header.Get("X-Amz-Copy-Source"); src != "" && !g.readable(c, src) {
		c.fail(denied("AccessDenied", "Access Denied"))
		return
	}
	q := c.r.URL.Query()
	upload := q.Get("uploadId")
	switch {
	case c.r.Method == http.MethodPut && upload == "":
		a, err := requestACL(c.r.Header)
		if err != nil {
			c.fail(err)
			return
		}
		g.forward(c, passOn{done: func() error { return g.ledger.record(entry{Bucket: c.bucket, Key: c.key, ACL: a}) }})
	case c.r.Method == http.MethodPost && q.Has("uploads"):
		a, err := requestACL(c.r.Header)
		if err != nil {
			c.fail(err)
			return
		}
		g.forward(c, passOn{read: func(body []byte) error {
			var started struct {
				UploadID string `xml:"UploadId"`
			}
			if err := xml.Unmarshal(body, &started); err != nil || started.UploadID == "" || a == private {
				return nil
			}
			return g.ledger.record(entry{Upload: started.UploadID, ACL: a})
		}})
	case c.r.Method == http.MethodPost && upload != "":
		a := g.ledger.uploadACL(upload)
		g.forward(c, passOn{done: func() error {
			return g.ledger.record(entry{Bucket: c.bucket, Key: c.key, ACL: a}, entry{Upload: upload})
		}})
	case c.r.Method == http.MethodDelete && upload != "":
		g.forward(c, passOn{done: func() error { return g.ledger.record(entry{Upload: upload}) }})
	case c.r.Method == http.MethodDelete:
		g.forward(c, passOn{done: func() error { return g.ledger.record(entry{Bucket: c.bucket, Key: c.key}) }})
	default:
		g.forward(c, passOn{})
	}
}

// readable is whether the caller may read a copy's source
// ("/bucket/key" or "bucket/key", URL-encoded, perhaps ?versionId=).
func (g *Gateway) readable(c *call, src string) bool {
	src, _, _ = strings.Cut(src, "?")
	if s, err := url.PathUnescape(src); err == nil {
		src = s
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(src, "/"), "/")
	return g.ledger.reads(c.project, bucket, key)
}

// objectACL is GET or PUT /bucket/key?acl for the bucket's owner; the
// object must exist.
func (g *Gateway) objectACL(c *call) {
	if c.r.Method != http.MethodGet && c.r.Method != http.MethodPut {
		c.fail(&s3Error{http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource."})
		return
	}
	exists, err := g.exists(c)
	if err != nil {
		c.fail(internal(err))
		return
	}
	if !exists {
		c.fail(&s3Error{http.StatusNotFound, "NoSuchKey", "The specified key does not exist."})
		return
	}
	if c.r.Method == http.MethodGet {
		c.xml(g.ledger.objectACL(c.bucket, c.key).document(c.project))
		return
	}
	a, aerr := g.aclOf(c)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	if err := g.ledger.record(entry{Bucket: c.bucket, Key: c.key, ACL: a}); err != nil {
		c.fail(internal(err))
		return
	}
	c.w.WriteHeader(http.StatusOK)
}

func internal(err error) *s3Error {
	return &s3Error{http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again. (" + err.Error() + ")"}
}

// fail answers with an S3 error document, as Ceph writes it.
func (c *call) fail(err error) {
	var e *s3Error
	if !errors.As(err, &e) {
		e = internal(err)
	}
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(e.status)
	if c.r.Method == http.MethodHead {
		return
	}
	var b strings.Builder
	xml.EscapeText(&b, []byte(c.r.URL.Path))
	resource := b.String()
	b.Reset()
	xml.EscapeText(&b, []byte(e.message))
	fmt.Fprintf(c.w, `%s<Error><Code>%s</Code><Message>%s</Message><BucketName>%s</BucketName><Resource>%s</Resource><RequestId>tx%016x</RequestId><HostId>sandbox</HostId></Error>`,
		xml.Header, e.code, b.String(), c.bucket, resource, time.Now().UnixNano())
}

func (c *call) xml(body []byte) {
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(http.StatusOK)
	c.w.Write(body)
}

// onlyBuckets keeps, of the S3 server's bucket list, those the project
// owns, and names the project as their owner.
func onlyBuckets(body []byte, owned map[string]bool, project string) []byte {
	var list struct {
		Buckets []struct {
			Name         string `xml:"Name"`
			CreationDate string `xml:"CreationDate"`
		} `xml:"Buckets>Bucket"`
	}
	if err := xml.Unmarshal(body, &list); err != nil {
		return body
	}
	type bucketXML struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
	}
	out := struct {
		XMLName xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
		Owner   ownerXML    `xml:"Owner"`
		Buckets []bucketXML `xml:"Buckets>Bucket"`
	}{Owner: ownerXML{ID: project, DisplayName: project}}
	for _, b := range list.Buckets {
		if owned[b.Name] {
			out.Buckets = append(out.Buckets, bucketXML{b.Name, b.CreationDate})
		}
	}
	b, _ := xml.Marshal(out)
	return append([]byte(xml.Header), b...)
}

// exists asks the S3 server whether the call's object exists.
func (g *Gateway) exists(c *call) (bool, error) {
	req, err := http.NewRequestWithContext(c.r.Context(), http.MethodHead, "", nil)
	if err != nil {
		return false, err
	}
	req.URL = g.backendURL(c.r.URL.Path, url.Values{})
	req.Host = g.backend.Host
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	resp, err := g.client.Do(signer.SignV4(*req, g.opts.Backend.RootAccess, g.opts.Backend.RootSecret, "", s3server.Region))
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("the S3 server answered HEAD %s with %s", c.r.URL.Path, resp.Status)
}

func (g *Gateway) backendURL(path string, q url.Values) *url.URL {
	return &url.URL{
		Scheme: g.backend.Scheme, Host: g.backend.Host, Path: path, RawPath: s3utils.EncodePath(path),
		RawQuery: strings.ReplaceAll(q.Encode(), "+", "%20"),
	}
}
