package rgw

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// The payload hashes a SigV4 request may carry in x-amz-content-sha256
// besides the body's own hex SHA-256.
const (
	unsignedPayload        = "UNSIGNED-PAYLOAD"
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsigned      = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	emptySHA256            = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	algorithm              = "AWS4-HMAC-SHA256"
	// maxSkew is how far a request's date may be from the server's clock,
	// as S3 and Ceph allow.
	maxSkew = 15 * time.Minute
)

// signedRequest is what a verified SigV4 request tells the gateway: who
// signed it and how its body is to be read.
type signedRequest struct {
	project string
	payload string // x-amz-content-sha256, or UNSIGNED-PAYLOAD for a presigned URL
	// key, date, scope and signature seed the chunk signatures of a
	// streaming upload.
	key       []byte
	date      string
	scope     string
	signature string
}

// s3Error is an S3 error: its status, code and message, as the client
// sees them.
type s3Error struct {
	status  int
	code    string
	message string
}

func (e *s3Error) Error() string { return e.code + ": " + e.message }

func denied(code, message string) *s3Error {
	return &s3Error{status: http.StatusForbidden, code: code, message: message}
}

// anonymous is whether a request carries no signature at all.
func anonymous(r *http.Request) bool {
	return r.Header.Get("Authorization") == "" && !r.URL.Query().Has("X-Amz-Signature")
}

// verify checks a request's SigV4 signature, in its Authorization header
// or in a presigned URL's query, against the secret Keystone holds for
// the access key, the way Ceph's gateway asks Keystone.
func verify(r *http.Request, keys Keys, now time.Time) (*signedRequest, error) {
	q := r.URL.Query()
	var cred, signedHeaders, signature, amzDate string
	presigned := q.Has("X-Amz-Signature")
	if presigned {
		if q.Get("X-Amz-Algorithm") != algorithm {
			return nil, &s3Error{http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""}
		}
		cred, signedHeaders, signature, amzDate = q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")
	} else {
		auth := r.Header.Get("Authorization")
		rest, ok := strings.CutPrefix(auth, algorithm+" ")
		if !ok {
			// Signature version 2 ("AWS access:sig") is switched off on
			// VEXXHOST's gateway as on every recent Ceph.
			return nil, &s3Error{http.StatusBadRequest, "InvalidArgument", "Unsupported Authorization Type"}
		}
		for part := range strings.SplitSeq(rest, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				cred = v
			case "SignedHeaders":
				signedHeaders = v
			case "Signature":
				signature = v
			}
		}
		amzDate = r.Header.Get("X-Amz-Date")
		if amzDate == "" {
			amzDate = r.Header.Get("Date")
		}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || signedHeaders == "" || signature == "" {
		return nil, &s3Error{http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed"}
	}
	access, day, region, service := parts[0], parts[1], parts[2], parts[3]
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, day) {
		return nil, denied("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
	}
	if presigned {
		expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		if err != nil || expires < 1 || expires > 7*24*3600 {
			return nil, &s3Error{http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Expires must be a number of seconds from 1 to 604800"}
		}
		if now.After(t.Add(time.Duration(expires) * time.Second)) {
			return nil, denied("AccessDenied", "Request has expired")
		}
	} else if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return nil, denied("RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	}
	secret, project, ok := keys.EC2Key(access)
	if !ok {
		return nil, denied("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	}
	payload := unsignedPayload
	if !presigned {
		payload = r.Header.Get("X-Amz-Content-Sha256")
		if payload == "" {
			return nil, &s3Error{http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"}
		}
	}
	scope := strings.Join(parts[1:], "/")
	canonical := canonicalRequest(r, strings.Split(signedHeaders, ";"), payload, presigned)
	key := signingKey(secret, day, region, service)
	want := hex.EncodeToString(hmacSHA256(key, stringToSign(amzDate, scope, canonical)))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return nil, denied("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	}
	return &signedRequest{project: project, payload: payload, key: key, date: amzDate, scope: scope, signature: signature}, nil
}

// canonicalRequest is SigV4's canonical form of r, over the headers the
// client signed. The path is re-encoded from its decoded form, as S3
// servers do, so a client's choice of escapes does not matter.
func canonicalRequest(r *http.Request, signed []string, payload string, presigned bool) string {
	q := r.URL.Query()
	if presigned {
		q.Del("X-Amz-Signature")
	}
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	b.WriteString(s3utils.EncodePath(path) + "\n")
	b.WriteString(s3utils.QueryEncode(q) + "\n")
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = r.Header.Get("Content-Length")
			if v == "" && r.ContentLength >= 0 {
				v = strconv.FormatInt(r.ContentLength, 10)
			}
		case "transfer-encoding":
			v = strings.Join(r.TransferEncoding, ",")
		default:
			vals := r.Header.Values(h)
			trimmed := make([]string, len(vals))
			for i, x := range vals {
				trimmed[i] = strings.Join(strings.Fields(x), " ")
			}
			v = strings.Join(trimmed, ",")
		}
		b.WriteString(h + ":" + v + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n" + payload)
	return b.String()
}

func stringToSign(amzDate, scope, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

func signingKey(secret, day, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// streaming is whether the body is aws-chunked: chunks, each signed or
// not, and perhaps trailing headers (a checksum) after the last.
func streaming(payload string) bool {
	return payload == streamingSigned || payload == streamingSignedTrailer || payload == streamingUnsigned
}

// chunkReader reads an aws-chunked body as its plain bytes, checking
// every chunk's signature before giving out its data, so a tampered
// chunk never reaches the store; the trailing headers, signed too when
// the chunks are, are read at the end.
type chunkReader struct {
	in      *bufio.Reader
	req     *signedRequest
	signed  bool
	trailer bool
	prev    string
	chunk   []byte
	done    bool
	// Trailer holds the trailing headers once the body is read.
	Trailer http.Header
}

func newChunkReader(body io.Reader, req *signedRequest) *chunkReader {
	return &chunkReader{
		in: bufio.NewReaderSize(body, 64<<10), req: req, prev: req.signature,
		signed:  req.payload != streamingUnsigned,
		trailer: req.payload != streamingSigned,
	}
}

var errChunk = &s3Error{http.StatusForbidden, "SignatureDoesNotMatch", "The chunk signature we calculated does not match the signature you provided."}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.chunk) == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.chunk)
	c.chunk = c.chunk[n:]
	return n, nil
}

// next reads one chunk: "size[;chunk-signature=sig]\r\n data \r\n".
func (c *chunkReader) next() error {
	line, err := c.line()
	if err != nil {
		return err
	}
	sizeText, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
	if err != nil || size < 0 || size > 64<<20 {
		return &s3Error{http.StatusBadRequest, "IncompleteBody", "The chunk size is not valid"}
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(c.in, data); err != nil {
		return &s3Error{http.StatusBadRequest, "IncompleteBody", "The request body ended inside a chunk"}
	}
	if c.signed {
		sig, _ := strings.CutPrefix(ext, "chunk-signature=")
		sum := sha256.Sum256(data)
		want := hex.EncodeToString(hmacSHA256(c.req.key, "AWS4-HMAC-SHA256-PAYLOAD\n"+c.req.date+"\n"+c.req.scope+"\n"+c.prev+"\n"+emptySHA256+"\n"+hex.EncodeToString(sum[:])))
		if !hmac.Equal([]byte(want), []byte(sig)) {
			return errChunk
		}
		c.prev = sig
	}
	if size == 0 {
		c.done = true
		if c.trailer {
			return c.readTrailer()
		}
		c.line() // the final chunk's CRLF; some clients leave it out
		return nil
	}
	if crlf, err := c.line(); err != nil || crlf != "" {
		return &s3Error{http.StatusBadRequest, "IncompleteBody", "A chunk does not end with CRLF"}
	}
	c.chunk = data
	return nil
}

// readTrailer reads the trailing headers, and their signature when the
// chunks are signed. Clients end the headers with an empty line, and
// minio-go puts one before the signature too, so empty lines are passed
// over until the signature (or, unsigned, the end) is reached.
func (c *chunkReader) readTrailer() error {
	c.Trailer = http.Header{}
	var raw bytes.Buffer
	sig := ""
	for {
		line, err := c.line()
		if line == "" {
			if err != nil || !c.signed && len(c.Trailer) > 0 {
				break
			}
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		if strings.EqualFold(name, "x-amz-trailer-signature") {
			sig = strings.TrimSpace(value)
			break
		}
		raw.WriteString(line + "\n")
		c.Trailer.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if c.signed {
		sum := sha256.Sum256(raw.Bytes())
		want := hex.EncodeToString(hmacSHA256(c.req.key, "AWS4-HMAC-SHA256-TRAILER\n"+c.req.date+"\n"+c.req.scope+"\n"+c.prev+"\n"+hex.EncodeToString(sum[:])))
		if !hmac.Equal([]byte(want), []byte(sig)) {
			return errChunk
		}
	}
	return nil
}

func (c *chunkReader) line() (string, error) {
	s, err := c.in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && s != "") {
		return strings.TrimRight(s, "\r\n"), err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// decodedLength is the plain size of an aws-chunked body.
func decodedLength(r *http.Request) (int64, error) {
	n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return 0, &s3Error{http.StatusLengthRequired, "MissingContentLength", "You must provide the x-amz-decoded-content-length header of a streaming upload."}
	}
	return n, nil
}

// withoutAWSChunked is Content-Encoding once the aws-chunked framing is
// taken off.
func withoutAWSChunked(v string) string {
	var keep []string
	for e := range strings.SplitSeq(v, ",") {
		if e = strings.TrimSpace(e); e != "" && e != "aws-chunked" {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, ",")
}

// withoutAuthQuery is the query a presigned URL carries for its signature, left
// out when the request goes on.
func withoutAuthQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		if !slices.Contains([]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"}, k) {
			out[k] = v
		}
	}
	return out
}
