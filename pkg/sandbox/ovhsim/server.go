// Package ovhsim is a simulator of the part of the OVHcloud API that
// cosocial uses, speaking the real wire protocol the way go-ovh expects it:
// /auth/time, a signature checked on every signed call, JSON errors with a
// class and a message, bare ID lists where the API has them, asynchronous
// statuses (BUILD → ACTIVE, CREATING → READY, UPDATING on resize), 404
// after delete, and optional injected 429 and 5xx answers. Managed
// databases and buckets are backed by real servers (see Backends), so what
// the simulator hands out can be used.
package ovhsim

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
)

// Credentials are one application's keys, as OVHcloud issues them.
type Credentials struct {
	ApplicationKey    string `json:"application_key"`
	ApplicationSecret string `json:"application_secret"`
	ConsumerKey       string `json:"consumer_key"`
}

// Timing says how long each asynchronous step takes. Tests make them
// short; the sandbox keeps them long enough to be seen.
type Timing struct {
	InstanceBuild  time.Duration
	InstanceDelete time.Duration
	DatabaseCreate time.Duration
	DatabaseUpdate time.Duration
	DatabaseDelete time.Duration
	UserCreate     time.Duration
}

// Faults injects the failures a real API produces under load. They fall
// on signed requests only: /auth/time always answers.
type Faults = simcore.Faults

// Options configure a simulator.
type Options struct {
	Credentials Credentials
	// Projects the simulator knows; requests for any other are 404.
	Projects []string
	// Zones are the DNS zones the account holds.
	Zones   []string
	Catalog *catalog.Catalog
	Timing  Timing
	Faults  Faults
	Clock   func() time.Time
	// StateFile, when set, is where the simulator keeps its records
	// between runs (no secrets: the backends hold those).
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
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
}

// Server is a running simulator.
type Server struct {
	opts   Options
	mu     sync.Mutex
	st     *state
	faults *simcore.Injector
	log    *simcore.Log[Request]
	// query numbers responses; handlers answer errors while holding mu, so
	// it is not under mu.
	query atomic.Int64
}

// New returns a simulator, loading its records from StateFile if it exists.
func New(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Catalog == nil {
		opts.Catalog = catalog.Default()
	}
	s := &Server{
		opts:   opts,
		st:     newState(),
		faults: simcore.NewInjector(opts.Faults, 0x0c05),
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

// Close flushes the state and the request log.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.saveLocked()
	if cerr := s.log.Close(); err == nil {
		err = cerr
	}
	return err
}

// Requests returns the request log so far.
func (s *Server) Requests() []Request {
	return s.log.All()
}

// Handler serves the API under /1.0 (and its alias /v1).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := simcore.Answered(w, func(w http.ResponseWriter) { s.serve(w, r, mux) })
		s.log.Add(Request{Time: s.now(), Method: r.Method, Path: r.URL.RequestURI(), Status: status})
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/1.0/"):
		path = strings.TrimPrefix(path, "/1.0")
	case strings.HasPrefix(path, "/v1/"):
		path = strings.TrimPrefix(path, "/v1")
	default:
		s.fail(w, http.StatusNotFound, "Client::NotFound", "Got an invalid (or empty) URL")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Client::BadRequest", "cannot read body")
		return
	}
	// OVHcloud's public routes take no signature.
	if public := path == "/auth/time" || strings.HasPrefix(path, "/order/catalog/public/"); !public {
		if code, class, msg := s.authenticate(r, body); code != 0 {
			e := apiError{Class: class, Message: msg, HTTPCode: fmt.Sprintf("%d %s", code, http.StatusText(code))}
			switch msg {
			case credentialUnknown:
				e.ErrorCode = "NOT_CREDENTIAL"
			}
			w.Header().Set("X-Ovh-QueryID", s.queryID())
			writeJSON(w, code, e)
			return
		}
		if code := s.faults.Next(); code != 0 {
			s.fail(w, code, faultClass(code), http.StatusText(code))
			return
		}
	}
	inner := r.Clone(r.Context())
	inner.URL.Path = path
	inner.Body = io.NopCloser(bytes.NewReader(body))
	if s.faults.LoseAnswer(r.Method, path) {
		mux.ServeHTTP(lostAnswer{header: http.Header{}}, inner)
		s.fail(w, http.StatusBadGateway, "Server::BadGateway", "Bad Gateway")
		return
	}
	mux.ServeHTTP(w, inner)
}

// lostAnswer takes a request's answer and drops it: what the request did
// is done, but the client hears only the gateway's 502.
type lostAnswer struct{ header http.Header }

func (l lostAnswer) Header() http.Header         { return l.header }
func (l lostAnswer) Write(b []byte) (int, error) { return len(b), nil }
func (l lostAnswer) WriteHeader(int)             {}

// credentialUnknown is OVHcloud's word for a consumer key it never issued
// (errorCode NOT_CREDENTIAL).
const credentialUnknown = "This credential does not exist"

// authenticate checks go-ovh's signature: "$1$" + sha1 hex of
// AS+CK+METHOD+URL+BODY+TS joined by "+", where URL is the full URL the
// client asked for, query included.
func (s *Server) authenticate(r *http.Request, body []byte) (int, string, string) {
	ak := r.Header.Get("X-Ovh-Application")
	sig := r.Header.Get("X-Ovh-Signature")
	ts := r.Header.Get("X-Ovh-Timestamp")
	ck := r.Header.Get("X-Ovh-Consumer")
	creds := s.opts.Credentials
	switch {
	case sig == "" || ts == "":
		return http.StatusUnauthorized, "Client::Unauthorized", "You must login first"
	case ak != creds.ApplicationKey:
		return http.StatusForbidden, "Client::Forbidden", "This application key is invalid"
	case ck != creds.ConsumerKey:
		return http.StatusForbidden, "Client::Forbidden", credentialUnknown
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	target := scheme + "://" + r.Host + r.RequestURI
	if strings.HasPrefix(r.RequestURI, "http://") || strings.HasPrefix(r.RequestURI, "https://") {
		target = r.RequestURI // a request in absolute form names the URL itself
	}
	h := sha1.Sum([]byte(creds.ApplicationSecret + "+" + ck + "+" + r.Method + "+" + target + "+" + string(body) + "+" + ts))
	if sig != "$1$"+hex.EncodeToString(h[:]) {
		return http.StatusBadRequest, "Client::BadRequest", "Invalid signature"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return http.StatusBadRequest, "Client::BadRequest", "Invalid timestamp"
	}
	// OVHcloud refuses requests signed too far from its own clock; go-ovh
	// corrects for that with /auth/time, so a drift here is a client bug.
	if d := s.opts.Clock().Unix() - sec; d > 300 || d < -300 {
		return http.StatusBadRequest, "Client::BadRequest", "Query out of time"
	}
	return 0, "", ""
}

func faultClass(code int) string {
	switch code {
	case http.StatusTooManyRequests:
		return "Client::TooManyRequests"
	case http.StatusServiceUnavailable:
		return "Server::ServiceUnavailable"
	}
	return "Server::InternalServerError"
}

// apiError is OVHcloud's error body. It never carries "code" or non-string
// details: go-ovh would read them as the status or lose the class. The
// authentication layer adds its own errorCode and httpCode
// ({"errorCode":"NOT_CREDENTIAL","httpCode":"403 Forbidden",…}).
type apiError struct {
	Class     string `json:"class,omitempty"`
	Message   string `json:"message"`
	ErrorCode string `json:"errorCode,omitempty"`
	HTTPCode  string `json:"httpCode,omitempty"`
}

func (s *Server) queryID() string {
	return fmt.Sprintf("CA.sandbox.%08x", s.query.Add(1))
}

func (s *Server) fail(w http.ResponseWriter, code int, class, message string) {
	w.Header().Set("X-Ovh-QueryID", s.queryID())
	writeJSON(w, code, apiError{Class: class, Message: message})
}

func (s *Server) notFound(w http.ResponseWriter, what string) {
	s.fail(w, http.StatusNotFound, "Client::NotFound", fmt.Sprintf("The requested object (%s) does not exist", what))
}

func (s *Server) badRequest(w http.ResponseWriter, format string, args ...any) {
	s.fail(w, http.StatusBadRequest, "Client::BadRequest", fmt.Sprintf(format, args...))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.WriteHeader(code)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

// ok answers a void call: 200 with the JSON null the API sends.
func ok(w http.ResponseWriter) { writeJSON(w, http.StatusOK, nil) }

func decode(w http.ResponseWriter, r *http.Request, s *Server, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		s.badRequest(w, "Invalid JSON body: %v", err)
		return false
	}
	return true
}

// saveLocked writes the records; callers hold s.mu.
func (s *Server) saveLocked() error { return simcore.Save(s.opts.StateFile, s.st) }

func (s *Server) project(w http.ResponseWriter, r *http.Request) (string, bool) {
	sn := r.PathValue("sn")
	if len(s.opts.Projects) == 0 {
		return sn, true
	}
	for _, p := range s.opts.Projects {
		if p == sn {
			return sn, true
		}
	}
	s.fail(w, http.StatusNotFound, "Client::NotFound", "This service does not exist")
	return "", false
}

func (s *Server) now() time.Time { return s.opts.Clock().UTC() }

func (s *Server) logf(format string, args ...any) {
	if s.opts.ErrorLog != nil {
		fmt.Fprintf(s.opts.ErrorLog, "%s "+format+"\n", append([]any{s.now().Format(time.RFC3339)}, args...)...)
	}
}
