package objects

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
)

// copied is what a verified copy carries into the journal.
type copied struct {
	size   int64
	sha256 string
}

// copy moves one object, retrying it whole on transient failures. The
// GET's body streams straight into the PUT, hashed on the way: nothing is
// held in memory and nothing is asked twice.
func (c *copier) copy(ctx context.Context, key string) (copied, error) {
	var out copied
	err := c.retry(ctx, func(ctx context.Context) error {
		var err error
		out, err = c.copyOnce(ctx, key)
		return err
	})
	if err != nil {
		return copied{}, fmt.Errorf("%s: %w", key, err)
	}
	return out, nil
}

func (c *copier) copyOnce(ctx context.Context, key string) (copied, error) {
	body, info, header, err := c.src.GetObject(ctx, c.srcBucket, key, minio.GetObjectOptions{})
	if err != nil {
		if notFound(err) {
			return copied{}, final{errGone}
		}
		return copied{}, fmt.Errorf("reading the source: %w", err)
	}
	defer body.Close()
	if info.Size < 0 {
		return copied{}, final{errors.New("the source sent no Content-Length")}
	}
	put := putOptions(header, c.opts.Public)
	if info.Size > c.opts.PartSize {
		return c.multipart(ctx, key, body, info, put)
	}
	md, sh := md5.New(), sha256.New()
	r := c.meter(ctx, io.TeeReader(body, io.MultiWriter(md, sh)))
	up, err := c.dst.PutObject(ctx, c.dstBucket, key, r, info.Size, "", "", put)
	if err != nil {
		r.undo()
		return copied{}, fmt.Errorf("writing the target: %w", err)
	}
	if n := r.n.Load(); n != info.Size {
		r.undo()
		return copied{}, fmt.Errorf("%w: %d bytes read, Content-Length %d", errMismatch, n, info.Size)
	}
	// A single PUT's ETag is the MD5 of what the target stored, whoever
	// the provider: that is the proof the bytes arrived whole. The
	// source's ETag is never compared, as providers compute it their way.
	if want := hex.EncodeToString(md.Sum(nil)); up.ETag != want {
		r.undo()
		return copied{}, fmt.Errorf("%w: target ETag %s, MD5 of the bytes sent %s", errMismatch, up.ETag, want)
	}
	return copied{size: info.Size, sha256: hex.EncodeToString(sh.Sum(nil))}, nil
}

// putOptions carries the source's metadata onto the PUT, and the ACL as a
// header of that same request.
func putOptions(h http.Header, public bool) minio.PutObjectOptions {
	o := minio.PutObjectOptions{
		ContentType:        h.Get("Content-Type"),
		CacheControl:       h.Get("Cache-Control"),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentEncoding:    storedEncoding(h.Get("Content-Encoding")),
		ContentLanguage:    h.Get("Content-Language"),
		// UNSIGNED-PAYLOAD: hashing the body before sending would mean
		// holding it; the ETag check after the PUT proves it instead.
		DisableContentSha256: true,
		UserMetadata:         map[string]string{},
	}
	if t, err := http.ParseTime(h.Get("Expires")); err == nil {
		o.Expires = t
	}
	for k, v := range h {
		// Passed under their full x-amz-meta- name, minio sends them as
		// they came.
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") {
			o.UserMetadata[k] = strings.Join(v, ",")
		}
	}
	if public {
		o.UserMetadata["x-amz-acl"] = "public-read"
	}
	return o
}

// storedEncoding drops aws-chunked, which names how a request was signed,
// not how the object is stored; some servers echo it back on GET.
func storedEncoding(v string) string {
	var keep []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, ",")
}

// multipart uploads an object above the part size in parts. Each part is
// hashed as it streams; a part that fails is read again from its offset
// with a ranged GET pinned to the source's ETag, so a retry costs one part
// and a replaced source object is noticed rather than spliced.
func (c *copier) multipart(ctx context.Context, key string, first io.ReadCloser, info minio.ObjectInfo, put minio.PutObjectOptions) (copied, error) {
	id, have := c.resumeUpload(ctx, key)
	var err error
	if id == "" {
		tries := 0
		err := c.retry(ctx, func(ctx context.Context) error {
			if tries++; tries > 1 {
				c.lostStart.Store(true)
			}
			var err error
			id, err = c.dst.NewMultipartUpload(ctx, c.dstBucket, key, put)
			return err
		})
		if err != nil {
			return copied{}, final{fmt.Errorf("starting a multipart upload: %w", err)}
		}
		if err := c.journal.upload(key, id); err != nil {
			c.abort(ctx, key, id)
			return copied{}, final{err}
		}
	}
	src := &source{c: c, ctx: ctx, key: key, etag: info.ETag, size: info.Size, body: first, ok: true}
	defer src.close()
	sh := sha256.New()
	var (
		digests []byte
		parts   []minio.CompletePart
	)
	partSize := c.opts.PartSize
	if least := (info.Size + maxParts - 1) / maxParts; least > partSize {
		partSize = (least + 1<<20 - 1) &^ (1<<20 - 1) // S3 takes 10,000 parts at most
	}
	for off, n := int64(0), 1; off < info.Size; off, n = off+partSize, n+1 {
		length := min(partSize, info.Size-off)
		saved, err := sh.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return copied{}, final{err}
		}
		var (
			etag string
			sum  []byte
		)
		if p, ok := have[n]; ok && p.Size == length {
			// Sent by a killed run: kept when its MD5 is that of the
			// source's bytes now, which are read (not sent) to know it and
			// to go on hashing the whole object.
			restart := func() error { return sh.(encoding.BinaryUnmarshaler).UnmarshalBinary(saved) }
			if etag, sum, err = c.keepPart(ctx, src, off, length, p.ETag, sh, restart); err != nil {
				return copied{}, final{err}
			}
			if etag != "" {
				digests = append(digests, sum...)
				parts = append(parts, minio.CompletePart{PartNumber: n, ETag: etag})
				continue
			}
			if err := sh.(encoding.BinaryUnmarshaler).UnmarshalBinary(saved); err != nil {
				return copied{}, final{err}
			}
		}
		err = c.retry(ctx, func(ctx context.Context) error {
			if err := sh.(encoding.BinaryUnmarshaler).UnmarshalBinary(saved); err != nil {
				return final{err}
			}
			body, err := src.at(off)
			if err != nil {
				return err
			}
			pm := md5.New()
			r := c.meter(ctx, io.TeeReader(io.LimitReader(body, length), io.MultiWriter(pm, sh)))
			p, err := c.dst.PutObjectPart(ctx, c.dstBucket, key, id, n, r, length, minio.PutObjectPartOptions{DisableContentSha256: true})
			if err != nil {
				r.undo()
				src.ok = false
				return fmt.Errorf("writing part %d: %w", n, err)
			}
			if got := r.n.Load(); got != length {
				r.undo()
				src.ok = false
				return fmt.Errorf("%w: part %d: %d bytes read of %d", errMismatch, n, got, length)
			}
			sum = pm.Sum(nil)
			if want := hex.EncodeToString(sum); p.ETag != want {
				r.undo()
				return fmt.Errorf("%w: part %d: target ETag %s, MD5 of the bytes sent %s", errMismatch, n, p.ETag, want)
			}
			etag = p.ETag
			return nil
		})
		if err != nil {
			c.abort(ctx, key, id)
			if errors.Is(err, errSourceChanged) && ctx.Err() == nil {
				return copied{}, err // the whole object again, from its new version
			}
			return copied{}, final{err}
		}
		digests = append(digests, sum...)
		parts = append(parts, minio.CompletePart{PartNumber: n, ETag: etag})
	}
	var up minio.UploadInfo
	err = c.retry(ctx, func(ctx context.Context) error {
		var err error
		up, err = c.dst.CompleteMultipartUpload(ctx, c.dstBucket, key, id, parts, minio.PutObjectOptions{})
		return err
	})
	if err != nil {
		c.abort(ctx, key, id)
		return copied{}, final{fmt.Errorf("completing the multipart upload: %w", err)}
	}
	// The target's ETag for a multipart object is the MD5 of its parts'
	// MD5s and the part count: computed here from the parts' own bytes.
	if want := multipartETag(digests, len(parts)); up.ETag != want {
		return copied{}, fmt.Errorf("%w: target ETag %s, expected %s from the parts sent", errMismatch, up.ETag, want)
	}
	return copied{size: info.Size, sha256: hex.EncodeToString(sh.Sum(nil))}, nil
}

// resumeUpload takes over the upload a killed run left for key, with the
// parts the target holds of it by number; "" when there is none to take.
func (c *copier) resumeUpload(ctx context.Context, key string) (string, map[int]minio.ObjectPart) {
	id, ok := c.takeOpen(key)
	if !ok {
		return "", nil
	}
	have := map[int]minio.ObjectPart{}
	marker := 0
	for {
		var res minio.ListObjectPartsResult
		err := c.retry(ctx, func(ctx context.Context) error {
			var err error
			res, err = c.dst.ListObjectParts(ctx, c.dstBucket, key, id, marker, 1000)
			return err
		})
		if err != nil {
			c.abort(ctx, key, id) // gone, or unreadable: start afresh
			return "", nil
		}
		for _, p := range res.ObjectParts {
			have[p.PartNumber] = p
		}
		if !res.IsTruncated {
			return id, have
		}
		marker = res.NextPartNumberMarker
	}
}

// keepPart reads a part's bytes from the source, hashing them into sh,
// and says whether the target's part holds the same: its ETag and MD5
// when it does, "" when it must be sent again.
func (c *copier) keepPart(ctx context.Context, src *source, off, length int64, etag string, sh io.Writer, restart func() error) (string, []byte, error) {
	var sum []byte
	err := c.retry(ctx, func(ctx context.Context) error {
		if err := restart(); err != nil {
			return final{err}
		}
		body, err := src.at(off)
		if err != nil {
			return err
		}
		pm := md5.New()
		n, err := io.Copy(io.MultiWriter(pm, sh), io.LimitReader(body, length))
		if err == nil && n != length {
			err = fmt.Errorf("%w: %d bytes read of %d", errMismatch, n, length)
		}
		if err != nil {
			src.ok = false
			return err
		}
		sum = pm.Sum(nil)
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	if hex.EncodeToString(sum) != strings.Trim(etag, `"`) {
		return "", nil, nil
	}
	c.stats.keptBytes.Add(length)
	return strings.Trim(etag, `"`), sum, nil
}

const maxParts = 10_000

func multipartETag(digests []byte, parts int) string {
	sum := md5.Sum(digests)
	return hex.EncodeToString(sum[:]) + "-" + strconv.Itoa(parts)
}

// abort drops an unfinished upload even when the run is being cancelled:
// the target would keep its parts, and bill for them, otherwise.
func (c *copier) abort(ctx context.Context, key, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := c.dst.AbortMultipartUpload(ctx, c.dstBucket, key, id)
	if err == nil || noSuchUpload(err) {
		c.journal.aborted(id)
	}
}

// abortStale aborts the uploads a killed run left open. Best effort: one
// that fails stays in the journal for the next run.
func (c *copier) abortStale(ctx context.Context, uploads map[string][]string) {
	for key, ids := range uploads {
		for _, id := range ids {
			c.abort(ctx, key, id)
		}
	}
}

// abortUnjournaled aborts the target's unfinished multipart uploads that
// began before a moment: the target bucket is the migration's, and before
// the cutover nothing else uploads to it. It costs one listing request per
// thousand uploads.
func (c *copier) abortUnjournaled(ctx context.Context, before time.Time) {
	keyMarker, idMarker := "", ""
	for {
		res, err := c.dst.ListMultipartUploads(ctx, c.dstBucket, "", keyMarker, idMarker, "", 1000)
		if err != nil {
			return // best effort: the next resumed run asks again
		}
		for _, u := range res.Uploads {
			if u.Initiated.Before(before) {
				c.abort(ctx, u.Key, u.UploadID)
			}
		}
		if !res.IsTruncated {
			return
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

func noSuchUpload(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && (resp.Code == "NoSuchUpload" || resp.StatusCode == http.StatusNotFound)
}

// source reads one object's bytes in order across parts, and opens a
// ranged GET where a part must be read again.
type source struct {
	c         *copier
	ctx       context.Context // the whole object's, so a reopened body outlives a part
	key, etag string
	size, off int64
	body      io.ReadCloser
	ok        bool // body can still be read from off
}

func (s *source) at(off int64) (io.Reader, error) {
	if s.ok && s.off == off {
		return s, nil
	}
	s.close()
	var opts minio.GetObjectOptions
	if s.etag != "" {
		opts.SetMatchETag(s.etag)
	}
	if err := opts.SetRange(off, s.size-1); err != nil {
		return nil, final{err}
	}
	body, _, _, err := s.c.src.GetObject(s.ctx, s.c.srcBucket, s.key, opts)
	if err != nil {
		var resp minio.ErrorResponse
		switch {
		case errors.As(err, &resp) && resp.StatusCode == http.StatusPreconditionFailed:
			return nil, final{errSourceChanged}
		case notFound(err):
			return nil, final{errGone}
		}
		return nil, fmt.Errorf("reading the source from byte %d: %w", off, err)
	}
	s.body, s.off, s.ok = body, off, true
	return s, nil
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	s.off += int64(n)
	if err != nil && err != io.EOF {
		s.ok = false
	}
	return n, err
}

func (s *source) close() {
	if s.body != nil {
		s.body.Close()
		s.body = nil
	}
	s.ok = false
}

// meter counts bytes into the run's totals as they stream, and tells the
// stall watch that the transfer is alive.
type meter struct {
	r     io.Reader
	n     atomic.Int64 // the HTTP client reads from its own goroutine
	stats *stats
	stall *stall
}

func (c *copier) meter(ctx context.Context, r io.Reader) *meter {
	return &meter{r: r, stats: c.stats, stall: stallOf(ctx)}
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n > 0 {
		m.n.Add(int64(n))
		m.stats.bytes.Add(int64(n))
		if m.stall != nil {
			m.stall.progress()
		}
	}
	return n, err
}

// undo takes back the bytes of an attempt that failed, so that Bytes
// counts what arrived.
func (m *meter) undo() { m.stats.bytes.Add(-m.n.Load()) }
