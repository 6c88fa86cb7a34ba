// Package ossim is a simulator of the OpenStack APIs that cosocial uses
// on an OpenStack cloud (VEXXHOST's ca-ymq-1 by default), speaking the
// wire format gophercloud expects: Keystone v3 tokens with a service
// catalog, Nova, Cinder, Neutron, Glance and Designate under one port,
// each with its own error body, version documents, microversion headers,
// asynchronous statuses (BUILD → ACTIVE, creating → available, PENDING →
// ACTIVE), 404 after delete, and optional injected 429 and 5xx answers.
// Keystone's EC2 credentials reach the sandbox's S3 server through Ceph's
// gateway (see ObjectBackend), so what the simulator hands out can be used.
package ossim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
)

// Credentials are what the simulated Keystone accepts: one user in one
// project, by password or by application credential.
type Credentials struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	ProjectName string `json:"project_name"`
	// DomainName holds both the user and the project ("Default").
	DomainName                  string `json:"domain_name"`
	ApplicationCredentialID     string `json:"application_credential_id"`
	ApplicationCredentialSecret string `json:"application_credential_secret"`
}

// Timing says how long each asynchronous step takes. Tests make them
// short; the sandbox keeps them long enough to be seen. A zero step is
// over at the next request.
type Timing struct {
	ServerBuild  time.Duration
	ServerDelete time.Duration
	ServerResize time.Duration
	VolumeCreate time.Duration
	// VolumeChange is attaching, detaching and extending.
	VolumeChange time.Duration
	VolumeDelete time.Duration
	// DNSChange is a zone or a record set being pushed to the name
	// servers (PENDING).
	DNSChange time.Duration
}

// Faults injects the failures a real cloud produces under load. They fall
// on authenticated API calls only: issuing a token and the version
// documents always answer.
type Faults = simcore.Faults

// DefaultRegion is the region simulated when Options name none.
const DefaultRegion = "ca-ymq-1"

// Options configure a simulator.
type Options struct {
	Credentials Credentials
	// Operator and Region pick the flavors offered from the catalog's
	// OpenStack operators; they default to VEXXHOST's ca-ymq-1.
	Operator string
	Region   string
	Catalog  *catalog.Catalog
	Timing   Timing
	Faults   Faults
	// Quotas limit the project; zero fields take DefaultQuotas'.
	Quotas Quotas
	Clock  func() time.Time
	// StateFile, when set, is where the simulator keeps its records
	// between runs. It holds EC2 secrets, because Keystone shows them on
	// every read, and the key that signs tokens; it is written with mode
	// 0600.
	StateFile string
	// LogFile, when set, gets one JSON line per request.
	LogFile string
	// ErrorLog, when set, gets what went wrong behind the API (a backend
	// that failed), which the API itself only reports as a status.
	ErrorLog io.Writer
	// Objects is the S3 server behind EC2 credentials; nil leaves S3 out
	// of the catalog, and the credentials then reach nothing.
	Objects ObjectBackend
	// Machines, when set, plays each server the simulator makes.
	Machines simcore.Machines
}

// ObjectBackend is the object store that EC2 credentials reach: Ceph's
// gateway (package rgw) in front of a real S3 server, which asks the
// simulator for the credentials (EC2Key).
type ObjectBackend interface {
	// Endpoint is the S3 endpoint URL clients use.
	Endpoint() string
	// Own makes an existing bucket one of a project's.
	Own(bucket, project string) error
}

// Request is one line of the request log. Bodies are not kept: they carry
// passwords and user data.
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
	region *catalog.Region
	mu     sync.Mutex
	st     *state
	faults *simcore.Injector
	log    *simcore.Log[Request]
	// revoked holds the audit IDs of tokens revoked since start. A real
	// Keystone keeps revocations for the tokens' lifetime; a restarted
	// sandbox forgets them, which is the one way it is more lenient.
	revoked map[string]bool
}

// New returns a simulator, loading its records from StateFile if it exists.
func New(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Catalog == nil {
		opts.Catalog = catalog.Default()
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	c := opts.Credentials
	if c.Username == "" || c.Password == "" || c.ProjectName == "" {
		return nil, errors.New("ossim: a user name, a password and a project name are required")
	}
	if opts.Credentials.DomainName == "" {
		opts.Credentials.DomainName = "Default"
	}
	if opts.Operator == "" {
		opts.Operator = "vexxhost"
	}
	op := opts.Catalog.Operator(opts.Operator)
	if op == nil {
		return nil, fmt.Errorf("ossim: no operator %q in the catalog", opts.Operator)
	}
	region := op.Region(opts.Region)
	if region == nil {
		return nil, fmt.Errorf("ossim: %s has no region %q (regions: %s)", op.Name, opts.Region, strings.Join(op.RegionCodes(), ", "))
	}
	s := &Server{
		opts:    opts,
		region:  region,
		st:      newState(),
		faults:  simcore.NewInjector(opts.Faults, 0x05),
		revoked: map[string]bool{},
	}
	if err := simcore.Load(opts.StateFile, s.st); err != nil {
		return nil, err
	}
	s.st.init(s.projectID(), s.now())
	// A state saved before the gateway kept owners lists the project's
	// buckets here.
	if opts.Objects != nil && len(s.st.Buckets) > 0 {
		for _, b := range s.st.Buckets {
			if err := opts.Objects.Own(b, s.projectID()); err != nil {
				return nil, err
			}
		}
		s.st.Buckets = nil
	}
	var err error
	if s.log, err = simcore.OpenLog[Request](opts.LogFile); err != nil {
		return nil, err
	}
	// The first run makes the token key and the default security group;
	// keep them at once so that a crash does not change them.
	if err := s.saveLocked(); err != nil {
		s.log.Close()
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

// SetFaults changes the failures injected from now on, so that a test can
// seed its resources in calm and then let the storm in.
func (s *Server) SetFaults(f Faults) { s.faults.Set(f) }

// Requests returns the request log so far.
func (s *Server) Requests() []Request { return s.log.All() }

// Region is the region the simulator serves, as its catalog names it.
func (s *Server) Region() string { return s.region.Code }

// UserID and ProjectID are the IDs Keystone gives the one user and
// project; they stay the same from run to run.
func (s *Server) UserID() string {
	return strings.ReplaceAll(stableID("user", s.opts.Credentials.Username), "-", "")
}
func (s *Server) ProjectID() string { return s.projectID() }

// projectID is a Keystone ID: 32 hexadecimal digits.
func (s *Server) projectID() string {
	return strings.ReplaceAll(stableID("project", s.opts.Credentials.ProjectName), "-", "")
}

// Handler serves every API under one root: /identity, /compute,
// /volume, /network, /image and /dns, as a DevStack cloud lays them out.
// Give gophercloud <root>/identity/v3 as the auth URL.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := "req-" + uuid.NewString()
		w.Header().Set("X-Openstack-Request-Id", id)
		status := simcore.Answered(w, func(w http.ResponseWriter) { mux.ServeHTTP(w, r) })
		s.log.Add(Request{Time: s.now(), Method: r.Method, Path: r.URL.RequestURI(), Status: status, RequestID: id})
	})
}

func (s *Server) routes(mux *http.ServeMux) {
	s.identityRoutes(mux)
	s.computeRoutes(mux)
	s.volumeRoutes(mux)
	s.networkRoutes(mux)
	s.imageRoutes(mux)
	s.dnsRoutes(mux)
	s.readOnlyRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		(&call{w: w, r: r, s: s, svc: identity}).fail(http.StatusNotFound, "The resource could not be found.")
	})
}

// service names the API a request is for: each has its own error body.
type service int

const (
	identity service = iota
	compute
	volume
	network
	image
	dns
)

// call is one request being answered.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	s    *Server
	svc  service
	tok  *token // nil on routes open to all
	body []byte
	// mv is the microversion asked for (Nova and Cinder).
	mv version
}

type handlerFunc func(c *call)

// routeSet registers handlers for one service.
type routeSet struct {
	mux *http.ServeMux
	s   *Server
	svc service
}

// api registers a handler that needs a valid token and may meet an
// injected fault.
func (rs routeSet) api(pattern string, f handlerFunc) { rs.handle(pattern, true, f) }

// open registers a handler that answers without a token: issuing one,
// and the version documents.
func (rs routeSet) open(pattern string, f handlerFunc) { rs.handle(pattern, false, f) }

func (rs routeSet) handle(pattern string, auth bool, f handlerFunc) {
	s, svc := rs.s, rs.svc
	rs.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, s: s, svc: svc}
		body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			c.fail(http.StatusBadRequest, "The request body could not be read.")
			return
		}
		c.body = body
		r.Body = io.NopCloser(bytes.NewReader(body))
		// Every route runs alone: the simulator's records are one
		// consistent state, brought up to the present first.
		s.mu.Lock()
		defer s.mu.Unlock()
		if auth {
			if c.tok = s.verify(r.Header.Get("X-Auth-Token")); c.tok == nil {
				c.unauthorized()
				return
			}
			if code := s.faults.Next(); code != 0 {
				c.fault(code)
				return
			}
		}
		if !c.microversion() {
			return
		}
		s.advance(s.now())
		f(c)
	})
}

// base is the root URL the client reached the simulator at; the catalog
// and links are built on it so that they work behind any port.
func (c *call) base() string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.r.Host
}

func (c *call) json(code int, v any) {
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	c.w.WriteHeader(code)
	if v != nil {
		json.NewEncoder(c.w).Encode(v)
	}
}

// empty answers with a status and no body (202 and 204 of deletes and
// actions).
func (c *call) empty(code int) {
	if code != http.StatusNoContent {
		c.w.Header().Set("Content-Length", "0")
	}
	c.w.WriteHeader(code)
}

// decode reads the JSON body into v, answering 400 in the service's
// words when it is not JSON.
func (c *call) decode(v any) bool {
	if len(bytes.TrimSpace(c.body)) == 0 {
		c.fail(http.StatusBadRequest, "The request body is empty: a JSON object is required.")
		return false
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		switch c.svc {
		case compute, volume:
			c.fail(http.StatusBadRequest, "Malformed request body")
		case network:
			c.neutron(http.StatusBadRequest, "HTTPBadRequest", "Malformed request body: "+err.Error())
		default:
			c.fail(http.StatusBadRequest, "Malformed request body: "+err.Error())
		}
		return false
	}
	return true
}

// fail answers an error in the service's own body.
func (c *call) fail(code int, message string) {
	switch c.svc {
	case identity:
		c.json(code, map[string]any{"error": map[string]any{"code": code, "title": http.StatusText(code), "message": message}})
	case compute, volume:
		c.json(code, map[string]any{novaFault(code): map[string]any{"code": code, "message": message}})
	case network:
		c.neutron(code, neutronType(code), message)
	case dns:
		c.designate(code, designateType(code), message)
	case image:
		// Glance answers errors as webob's plain text.
		c.w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		c.w.WriteHeader(code)
		fmt.Fprintf(c.w, "%d %s\n\n%s\n\n   ", code, http.StatusText(code), message)
	}
}

func (c *call) failf(code int, format string, args ...any) {
	c.fail(code, fmt.Sprintf(format, args...))
}

// neutron answers Neutron's error, whose type names the exception.
func (c *call) neutron(code int, typ, message string) {
	c.json(code, map[string]any{"NeutronError": map[string]any{"type": typ, "message": message, "detail": ""}})
}

// designate answers Designate's flat error, which repeats the request ID.
func (c *call) designate(code int, typ, message string) {
	c.json(code, map[string]any{"code": code, "type": typ, "message": message, "request_id": c.w.Header().Get("X-Openstack-Request-Id")})
}

// unauthorized is keystonemiddleware's answer, the same before every
// service.
func (c *call) unauthorized() {
	c.w.Header().Set("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", c.base()+"/identity"))
	c.json(http.StatusUnauthorized, map[string]any{"error": map[string]any{
		"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication.",
	}})
}

func (c *call) fault(code int) {
	if code == http.StatusTooManyRequests {
		c.w.Header().Set("Retry-After", "1")
	}
	var msg string
	switch code {
	case http.StatusTooManyRequests:
		msg = "This request was rate-limited."
	case http.StatusServiceUnavailable:
		msg = "The server is currently unavailable. Please try again at a later time."
	default:
		msg = "An unexpected error prevented the server from fulfilling your request."
	}
	c.fail(code, msg)
}

// novaFault is the key Nova's and Cinder's fault bodies put the error
// under.
func novaFault(code int) string {
	switch code {
	case 400:
		return "badRequest"
	case 401:
		return "unauthorized"
	case 403:
		return "forbidden"
	case 404:
		return "itemNotFound"
	case 405:
		return "badMethod"
	case 406:
		return "notAcceptable"
	case 409:
		return "conflictingRequest"
	case 413, 429:
		return "overLimit"
	case 501:
		return "notImplemented"
	case 503:
		return "serviceUnavailable"
	}
	return "computeFault"
}

func neutronType(code int) string {
	switch code {
	case 400:
		return "HTTPBadRequest"
	case 403:
		return "HTTPForbidden"
	case 404:
		return "HTTPNotFound"
	case 409:
		return "HTTPConflict"
	case 429:
		return "HTTPTooManyRequests"
	case 503:
		return "HTTPServiceUnavailable"
	}
	return "HTTPInternalServerError"
}

func designateType(code int) string {
	switch code {
	case 400:
		return "bad_request"
	case 403:
		return "forbidden"
	case 404:
		return "not_found"
	case 409:
		return "duplicate"
	case 429:
		return "over_quota"
	case 503:
		return "service_unavailable"
	}
	return "internal_server_error"
}

// version is a microversion, as Nova and Cinder negotiate them.
type version struct{ major, minor int }

func (v version) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

func (v version) atLeast(minor int) bool { return v.minor >= minor }

// The microversions served: Nova of 2024.1 and Cinder of 2024.1.
var (
	novaMin, novaMax     = version{2, 1}, version{2, 96}
	cinderMin, cinderMax = version{3, 0}, version{3, 70}
)

// microversion reads the version a Nova or Cinder request asks for,
// answers 406 for one out of range, and says which was used in the
// response headers, as both services do.
func (c *call) microversion() bool {
	var name, legacy string
	var lo, hi version
	switch c.svc {
	case compute:
		name, legacy, lo, hi = "compute", "X-OpenStack-Nova-API-Version", novaMin, novaMax
	case volume:
		name, legacy, lo, hi = "volume", "X-OpenStack-Volume-API-Version", cinderMin, cinderMax
	default:
		return true
	}
	asked := c.r.Header.Get(legacy)
	for _, h := range c.r.Header.Values("OpenStack-API-Version") {
		if svc, v, ok := strings.Cut(strings.TrimSpace(h), " "); ok && svc == name {
			asked = strings.TrimSpace(v)
		}
	}
	c.mv = lo
	switch asked {
	case "":
	case "latest":
		c.mv = hi
	default:
		maj, min, ok := strings.Cut(asked, ".")
		a, err1 := strconv.Atoi(maj)
		b, err2 := strconv.Atoi(min)
		if !ok || err1 != nil || err2 != nil {
			c.failf(http.StatusBadRequest, "API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", asked)
			return false
		}
		v := version{a, b}
		if a != lo.major || b < lo.minor || b > hi.minor {
			c.failf(http.StatusNotAcceptable, "Version %s is not supported by the API. Minimum is %s and maximum is %s.", v, lo, hi)
			return false
		}
		c.mv = v
	}
	h := c.w.Header()
	h.Set("OpenStack-API-Version", name+" "+c.mv.String())
	h.Set(legacy, c.mv.String())
	h.Add("Vary", "OpenStack-API-Version, "+legacy)
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
		fmt.Fprintf(s.opts.ErrorLog, "%s openstack: "+format+"\n", append([]any{s.now().Format(time.RFC3339)}, args...)...)
	}
}

var idNamespace = uuid.MustParse("5b0b1c1e-8a52-4d0e-9f4a-0c05c1a10057")

// stableID is the same UUID for the same parts on every run, for what the
// cloud has before anyone asks (users, images, the public network).
func stableID(parts ...string) string {
	return uuid.NewSHA1(idNamespace, []byte(strings.Join(parts, "/"))).String()
}

// Timestamps as the services write them: Nova and Neutron in RFC 3339,
// Cinder, Designate and Keystone with microseconds and (Cinder,
// Designate) no zone.
func isoZ(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
func micro(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}

// microOrNull is a Cinder or Designate timestamp, or null for one that
// never happened.
func microOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micro(t)
}

// maxLimit is the most items a list answers at once, as Nova's, Cinder's
// and Neutron's max_limit.
const maxLimit = 1000

// page cuts one page out of ids, in the order the API lists them, by
// ?limit= and ?marker=. next is the link to the following page, or ""
// when this one is not full: Nova, Cinder and Neutron give a next link
// whenever a page is full, so the last one may be empty.
func (c *call) page(ids []string) (out []string, next string, ok bool) {
	q := c.r.URL.Query()
	limit := maxLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.failf(http.StatusBadRequest, "Invalid input for query parameters limit. Value: %s. %q does not match '^[0-9]*$'", v, v)
			return nil, "", false
		}
		limit = min(n, maxLimit)
	}
	lo := 0
	if m := q.Get("marker"); m != "" {
		i := slices.Index(ids, m)
		if i < 0 {
			c.failf(http.StatusBadRequest, "marker [%s] not found", m)
			return nil, "", false
		}
		lo = i + 1
	}
	out = ids[lo:min(lo+limit, len(ids))]
	if limit > 0 && len(out) == limit {
		q.Set("marker", out[len(out)-1])
		next = c.base() + c.r.URL.Path + "?" + q.Encode()
	}
	return out, next, true
}

// links is the "<collection>_links" list of Nova, Cinder and Neutron.
func links(next string) []map[string]string {
	if next == "" {
		return []map[string]string{}
	}
	return []map[string]string{{"rel": "next", "href": next}}
}
