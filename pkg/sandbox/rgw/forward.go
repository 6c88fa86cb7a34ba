package rgw

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// passOn says how a request the gateway allows goes on to the S3 server
// and what its answer changes.
type passOn struct {
	// anonymous sends it unsigned: the S3 server's bucket policies then
	// decide, as they would for anyone outside the project.
	anonymous bool
	// refused may replace the S3 server's error (its code given).
	refused func(code string) *s3Error
	// read sees a successful answer's body; rewrite replaces it.
	read    func(body []byte) error
	rewrite func(body []byte) []byte
	// done records what a success changed, before the client hears of it.
	done func() error
}

// dropped are the request headers that stay here: the client's
// signature, the ACLs the gateway keeps itself, aws-chunked's framing
// (taken off), and the hop-by-hop ones.
var dropped = []string{
	"Authorization", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Security-Token",
	"X-Amz-Acl", "X-Amz-Grant-Read", "X-Amz-Grant-Write", "X-Amz-Grant-Read-Acp", "X-Amz-Grant-Write-Acp", "X-Amz-Grant-Full-Control",
	"X-Amz-Object-Ownership", "X-Amz-Decoded-Content-Length", "X-Amz-Trailer",
	"Content-Length", "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect",
}

func (g *Gateway) forward(c *call, p passOn) {
	body, length, payload, trailer, cleanup, err := g.body(c)
	if err != nil {
		c.fail(err)
		return
	}
	defer cleanup()
	out, err := http.NewRequestWithContext(c.r.Context(), c.r.Method, g.backend.String(), body)
	if err != nil {
		c.fail(internal(err))
		return
	}
	out.URL = g.backendURL(c.r.URL.Path, withoutAuthQuery(c.r.URL.Query()))
	out.Host = g.backend.Host
	out.ContentLength = length
	if length == 0 {
		out.Body = http.NoBody
	}
	out.Header = c.r.Header.Clone()
	for _, h := range dropped {
		out.Header.Del(h)
	}
	if enc := withoutAWSChunked(out.Header.Get("Content-Encoding")); enc != "" {
		out.Header.Set("Content-Encoding", enc)
	} else {
		out.Header.Del("Content-Encoding")
	}
	for k, v := range trailer {
		out.Header[http.CanonicalHeaderKey(k)] = v
	}
	if !p.anonymous {
		out.Header.Set("X-Amz-Content-Sha256", payload)
		out = signer.SignV4(*out, g.opts.Backend.RootAccess, g.opts.Backend.RootSecret, "", s3server.Region)
	}
	resp, err := g.client.Do(out)
	if err != nil {
		var chunkErr *s3Error
		if errors.As(err, &chunkErr) {
			c.fail(chunkErr)
			return
		}
		c.fail(internal(err))
		return
	}
	defer resp.Body.Close()
	ok := resp.StatusCode/100 == 2
	var answer []byte
	buffered := ok && (p.read != nil || p.rewrite != nil) || !ok && p.refused != nil
	if buffered {
		if answer, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20)); err != nil {
			c.fail(internal(err))
			return
		}
	}
	if !ok && p.refused != nil {
		if e := p.refused(errorCode(answer)); e != nil {
			c.fail(e)
			return
		}
	}
	if ok && p.read != nil {
		if err := p.read(answer); err != nil {
			c.fail(internal(err))
			return
		}
	}
	if ok && p.rewrite != nil {
		answer = p.rewrite(answer)
	}
	if ok && p.done != nil {
		if err := p.done(); err != nil {
			c.fail(internal(err))
			return
		}
	}
	h := c.w.Header()
	for k, v := range resp.Header {
		switch k {
		case "Connection", "Keep-Alive", "Transfer-Encoding", "Trailer":
			continue
		}
		h[k] = v
	}
	if buffered {
		h.Set("Content-Length", strconv.Itoa(len(answer)))
		c.w.WriteHeader(resp.StatusCode)
		c.w.Write(answer)
		return
	}
	c.w.WriteHeader(resp.StatusCode)
	io.Copy(c.w, resp.Body)
}

// body is the request's body as the S3 server is to get it: as sent,
// with the same payload hash, which the server checks; or, for an
// aws-chunked upload, its plain bytes under UNSIGNED-PAYLOAD, each chunk
// checked here. A checksum trailing the chunks cannot follow a body
// already on its way, so such an upload is read to a file first and its
// checksum goes on as a header.
func (g *Gateway) body(c *call) (body io.Reader, length int64, payload string, trailer http.Header, cleanup func(), err error) {
	cleanup = func() {}
	s := c.signed
	if s == nil || !streaming(s.payload) {
		payload = unsignedPayload
		if s != nil {
			payload = s.payload
		}
		return c.r.Body, c.r.ContentLength, payload, nil, cleanup, nil
	}
	length, err = decodedLength(c.r)
	if err != nil {
		return nil, 0, "", nil, cleanup, err
	}
	chunks := newChunkReader(c.r.Body, s)
	if !chunks.trailer {
		return chunks, length, unsignedPayload, nil, cleanup, nil
	}
	f, err := os.CreateTemp("", "cosocial-rgw-upload-*")
	if err != nil {
		return nil, 0, "", nil, cleanup, internal(err)
	}
	cleanup = func() { f.Close(); os.Remove(f.Name()) }
	n, err := io.Copy(f, chunks)
	if err == nil && n != length {
		err = &s3Error{http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the x-amz-decoded-content-length header."}
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, 0, "", nil, func() {}, err
	}
	return f, length, unsignedPayload, chunks.Trailer, cleanup, nil
}

// errorCode is the Code of an S3 error document.
func errorCode(body []byte) string {
	var e struct {
		Code string `xml:"Code"`
	}
	xml.Unmarshal(body, &e)
	return e.Code
}
