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
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
)

// Timing says how long each asynchronous step takes. Tests make them
// short; the sandbox keeps them long enough to be seen.
type Timing struct {
	DropletBuild   time.Duration
	DatabaseCreate time.Duration
	DatabaseResize time.Duration
}

// Faults injects the failures a real API produces under load. They fall
// on authenticated requests only.
type Faults = simcore.Faults

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
	// Machines, when set, plays each server the simulator makes.
	Machines simcore.Machines
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
	opts   Options
	mu     sync.Mutex
	st     *state
	faults *simcore.Injector
	log    *simcore.Log[Request]
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
		opts:   opts,
		st:     newState(),
		faults: simcore.NewInjector(opts.Faults, 0xd0),
	}
	if err := simcore.Load(opts.StateFile, s.st); err != nil {
		return nil, err
	}
	s.st.init()
	var err error
	if s.log, err = simcore.OpenLog[Request](opts.LogFile); err != nil {
		return nil, err
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
	if cerr := s.log.Close(); err == nil {
		err = cerr
	}
	return err
}

// SetFaults changes the failures injected from now on, so that a test can
// seed its resources in calm and then let the storm in.
func (s *Server) SetFaults(f Faults) { s.faults.Set(f) }

// Requests returns the request log so far.
func (s *Server) Requests() []Request {
	return s.log.All()
}

// Handler serves the API under /v2, as api.digitalocean.com does: give
// godo the server's root URL as its base.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := uuid.NewString()
		w.Header().Set("x-request-id", id)
		inner := r.WithContext(withRequestID(r.Context(), id))
		status := simcore.Answered(w, func(w http.ResponseWriter) { s.serve(w, inner, mux) })
		s.log.Add(Request{Time: s.now(), Method: r.Method, Path: r.URL.RequestURI(), Status: status, RequestID: id})
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
	code := s.faults.Next()
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
func (s *Server) saveLocked() error { return simcore.Save(s.opts.StateFile, s.st) }

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
