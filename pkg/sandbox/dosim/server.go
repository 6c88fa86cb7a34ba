// Package dosim is a simulator of the part of the DigitalOcean API that
// cosocial uses, speaking the wire format godo expects: bearer tokens,
// JSON roots ("droplet", "databases", "domain_records"), page links as
// absolute URLs with meta.total, RateLimit-* and x-request-id headers,
// errors as {id, message, request_id}, asynchronous statuses (new →
// active, creating → online, resizing → online), 404 after delete, and
// optional injected 429 and 5xx answers. Managed databases and Spaces keys
// are backed by real servers (see Backends), so what it hands out can be
// used.
package dosim

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cosocial/cosocial/pkg/catalog"
)

// Timing says how long each asynchronous step takes. Tests make them
// short; the sandbox keeps them long enough to be seen.
type Timing struct {
	DropletBuild   time.Duration
	DatabaseCreate time.Duration
	DatabaseResize time.Duration
}

// Faults injects the failures a real API produces under load.
type Faults struct {
	// Burst answers this many authenticated requests with 429 before any
	// succeeds.
	Burst int
	// Rate answers this share of authenticated requests with one of Codes.
	Rate  float64
	Codes []int
	Seed  uint64
}

// RateLimit is the hourly request budget DigitalOcean gives a token; the
// simulator reports it in RateLimit-* headers but never enforces it (use
// Faults for that).
const RateLimit = 5000

// Options configure a simulator.
type Options struct {
	// Token is the one API token accepted, as "Authorization: Bearer".
	Token   string
	Catalog *catalog.Catalog
	Timing  Timing
	Faults  Faults
	Clock   func() time.Time
	// StateFile, when set, is where the simulator keeps its records
	// between runs. It holds each database's doadmin password, because
	// DigitalOcean returns it on every read; it is written with mode 0600.
	StateFile string
	// LogFile, when set, gets one JSON line per request.
	LogFile string
	// ErrorLog, when set, gets what went wrong behind the API (a backend
	// that failed), which the API itself only reports as a status.
	ErrorLog io.Writer
	Backends Backends
}

// Request is one line of the request log.
type Request struct {
	Time      time.Time `json:"time"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Status    int       `json:"status"`
	RequestID string    `json:"request_id"`
}

// Server is a running simulator.
type Server struct {
	opts  Options
	mu    sync.Mutex
	st    *state
	rng   *rand.Rand
	burst int
	log   []Request
	logF  *os.File
	// window and used count requests for the RateLimit-* headers.
	window time.Time
	used   int
	// work tracks the goroutines that build real servers, so that Close
	// does not leave one writing into a folder being removed.
	work sync.WaitGroup
}

// New returns a simulator, loading its records from StateFile if it exists.
func New(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Catalog == nil {
		opts.Catalog = catalog.Default()
	}
	if opts.Token == "" {
		return nil, fmt.Errorf("dosim: a token is required")
	}
	s := &Server{
		opts:  opts,
		st:    newState(),
		rng:   rand.New(rand.NewPCG(opts.Faults.Seed, 0xd0)),
		burst: opts.Faults.Burst,
	}
	if opts.StateFile != "" {
		b, err := os.ReadFile(opts.StateFile)
		switch {
		case err == nil:
			if err := json.Unmarshal(b, s.st); err != nil {
				return nil, fmt.Errorf("reading simulator state %s: %w", opts.StateFile, err)
			}
			s.st.init()
		case !os.IsNotExist(err):
			return nil, err
		}
	}
	if opts.LogFile != "" {
		f, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		s.logF = f
	}
	return s, nil
}

// Close waits for real servers still being built, then flushes the state
// and the request log.
func (s *Server) Close() error {
	s.work.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.saveLocked()
	if s.logF != nil {
		if cerr := s.logF.Close(); err == nil {
			err = cerr
		}
		s.logF = nil
	}
	return err
}

// SetFaults changes the failures injected from now on, so that a test can
// seed its resources in calm and then let the storm in.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Faults, s.burst = f, f.Burst
	s.rng = rand.New(rand.NewPCG(f.Seed, 0xd0))
}

// Requests returns the request log so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Handler serves the API under /v2, as api.digitalocean.com does: give
// godo the server's root URL as its base.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := uuid.NewString()
		w.Header().Set("x-request-id", id)
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		s.serve(rec, r.WithContext(withRequestID(r.Context(), id)), mux)
		s.record(r, rec.status, id)
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "The request body could not be read.")
		return
	}
	if !s.authenticated(r) {
		s.fail(w, r, http.StatusUnauthorized, "unauthorized", "Unable to authenticate you")
		return
	}
	if code := s.countAndFault(w); code != 0 {
		id, msg := faultBody(code)
		s.fail(w, r, code, id, msg)
		return
	}
	inner := r.Clone(r.Context())
	inner.Body = io.NopCloser(bytes.NewReader(body))
	mux.ServeHTTP(w, inner)
}

func (s *Server) authenticated(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.Token)) == 1
}

// countAndFault spends one request of the hour's budget, writes the
// RateLimit-* headers (an injected 429 carries them too, as DigitalOcean's
// do) and says which failure to inject, if any.
func (s *Server) countAndFault(w http.ResponseWriter) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.window.IsZero() || !now.Before(s.window.Add(time.Hour)) {
		s.window, s.used = now, 0
	}
	s.used++
	code := 0
	if s.burst > 0 {
		s.burst--
		code = http.StatusTooManyRequests
	} else if f := s.opts.Faults; f.Rate > 0 && len(f.Codes) > 0 && s.rng.Float64() < f.Rate {
		code = f.Codes[s.rng.IntN(len(f.Codes))]
	}
	remaining := max(RateLimit-s.used, 0)
	if code == http.StatusTooManyRequests {
		remaining = 0
	}
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(RateLimit))
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(s.window.Add(time.Hour).Unix(), 10))
	if code == http.StatusTooManyRequests {
		h.Set("Retry-After", "1")
	}
	return code
}

func faultBody(code int) (string, string) {
	switch code {
	case http.StatusTooManyRequests:
		return "too_many_requests", "API Rate limit exceeded."
	case http.StatusServiceUnavailable:
		return "service_unavailable", "The service is temporarily unavailable. Please try again later."
	}
	return "server_error", "Server was unable to give you a response."
}

func (s *Server) record(r *http.Request, status int, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{Time: s.now(), Method: r.Method, Path: r.URL.RequestURI(), Status: status, RequestID: id}
	s.log = append(s.log, req)
	if s.logF != nil {
		b, _ := json.Marshal(req)
		s.logF.Write(append(b, '\n'))
	}
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// apiError is DigitalOcean's error body; godo reads message and
// request_id from it.
type apiError struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, id, message string) {
	writeJSON(w, code, apiError{ID: id, Message: message, RequestID: requestID(r)})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
}

func (s *Server) unprocessable(w http.ResponseWriter, r *http.Request, format string, args ...any) {
	s.fail(w, r, http.StatusUnprocessableEntity, "unprocessable_entity", fmt.Sprintf(format, args...))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

// noContent answers a delete, as DigitalOcean does: 204 and no body.
func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			s.fail(w, r, http.StatusBadRequest, "bad_request", "The request body is empty: a JSON object is required.")
			return false
		}
		s.fail(w, r, http.StatusBadRequest, "bad_request", "The request body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

// saveLocked writes the records; callers hold s.mu.
func (s *Server) saveLocked() error {
	if s.opts.StateFile == "" {
		return nil
	}
	b, err := json.MarshalIndent(s.st, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.opts.StateFile + ".tmp"
	if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.opts.StateFile)
}

// save writes the records, reporting a failure behind the API: the
// request itself has succeeded.
func (s *Server) save() {
	if err := s.saveLocked(); err != nil {
		s.logf("saving state: %v", err)
	}
}

func (s *Server) now() time.Time { return s.opts.Clock().UTC() }

func (s *Server) logf(format string, args ...any) {
	if s.opts.ErrorLog != nil {
		fmt.Fprintf(s.opts.ErrorLog, "%s digitalocean: "+format+"\n", append([]any{s.now().Format(time.RFC3339)}, args...)...)
	}
}
