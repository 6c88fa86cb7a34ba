package dosim

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/google/uuid"
)

func (s *Server) routes(root *http.ServeMux) {
	// Every route runs alone: the simulator's records are one consistent
	// state.
	mux := handlers{root, s}
	mux.HandleFunc("GET /v2/account", s.account)

	mux.HandleFunc("GET /v2/sizes", s.listSizes)
	mux.HandleFunc("GET /v2/droplets", s.listDroplets)
	mux.HandleFunc("POST /v2/droplets", s.createDroplet)
	mux.HandleFunc("GET /v2/droplets/{id}", s.getDroplet)
	mux.HandleFunc("DELETE /v2/droplets/{id}", s.deleteDroplet)

	mux.HandleFunc("GET /v2/databases", s.listDatabases)
	mux.HandleFunc("POST /v2/databases", s.createDatabase)
	mux.HandleFunc("GET /v2/databases/{id}", s.getDatabase)
	mux.HandleFunc("DELETE /v2/databases/{id}", s.deleteDatabase)
	mux.HandleFunc("PUT /v2/databases/{id}/resize", s.resizeDatabase)

	mux.HandleFunc("GET /v2/domains", s.listDomains)
	mux.HandleFunc("POST /v2/domains", s.createDomain)
	mux.HandleFunc("GET /v2/domains/{name}", s.getDomain)
	mux.HandleFunc("DELETE /v2/domains/{name}", s.deleteDomain)
	mux.HandleFunc("GET /v2/domains/{name}/records", s.listRecords)
	mux.HandleFunc("POST /v2/domains/{name}/records", s.createRecord)
	mux.HandleFunc("GET /v2/domains/{name}/records/{id}", s.getRecord)
	mux.HandleFunc("PUT /v2/domains/{name}/records/{id}", s.updateRecord)
	mux.HandleFunc("PATCH /v2/domains/{name}/records/{id}", s.updateRecord)
	mux.HandleFunc("DELETE /v2/domains/{name}/records/{id}", s.deleteRecord)

	mux.HandleFunc("GET /v2/spaces/keys", s.listKeys)
	mux.HandleFunc("POST /v2/spaces/keys", s.createKey)
	mux.HandleFunc("GET /v2/spaces/keys/{access}", s.getKey)
	mux.HandleFunc("PUT /v2/spaces/keys/{access}", s.updateKey)
	mux.HandleFunc("DELETE /v2/spaces/keys/{access}", s.deleteKey)

	// Unknown paths, and known paths with another method, are 404 with
	// DigitalOcean's body.
	root.HandleFunc("/", s.notFound)
}

type handlers struct {
	mux *http.ServeMux
	s   *Server
}

func (h handlers) HandleFunc(pattern string, f http.HandlerFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		h.s.mu.Lock()
		defer h.s.mu.Unlock()
		f(w, r)
	})
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	id := uuid.NewSHA1(uuid.NameSpaceOID, []byte("cosocial-sandbox")).String()
	writeJSON(w, http.StatusOK, map[string]any{"account": map[string]any{
		"droplet_limit": 25, "floating_ip_limit": 3, "reserved_ip_limit": 3, "volume_limit": 100,
		"email": "sandbox@cosocial.invalid", "name": "cosocial sandbox", "uuid": id, "email_verified": true,
		"status": "active", "status_message": "",
		"team": map[string]any{"uuid": id, "name": "cosocial sandbox"},
	}})
}

type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

// Page sizes, as DigitalOcean's API sets them.
const (
	DefaultPerPage = 20
	MaxPerPage     = 200
)

// paging is one page of a list: items [lo, hi) of total.
type paging struct {
	lo, hi int
	links  map[string]any
	meta   map[string]any
}

// paginate reads ?page= and ?per_page= and builds links.pages the way
// DigitalOcean does: absolute URLs, first and prev from page 2 on, next
// and last before the last page, no pages at all when one page holds
// everything. Other query parameters (filters) are kept in the links.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, total int) (paging, bool) {
	q := r.URL.Query()
	page, perPage := 1, DefaultPerPage
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.unprocessable(w, r, "page must be a whole number from 1, not %q", v)
			return paging{}, false
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.unprocessable(w, r, "per_page must be a whole number from 1 to %d, not %q", MaxPerPage, v)
			return paging{}, false
		}
		perPage = min(n, MaxPerPage)
	}
	last := max((total+perPage-1)/perPage, 1)
	p := paging{lo: min((page-1)*perPage, total), links: map[string]any{}, meta: map[string]any{"total": total}}
	p.hi = min(p.lo+perPage, total)
	link := func(n int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(n))
		v.Set("per_page", strconv.Itoa(perPage))
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return (&url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawQuery: v.Encode()}).String()
	}
	pages := map[string]string{}
	if page > 1 {
		pages["first"] = link(1)
		pages["prev"] = link(min(page-1, last))
	}
	if page < last {
		pages["next"] = link(page + 1)
		pages["last"] = link(last)
	}
	if len(pages) > 0 {
		p.links["pages"] = pages
	}
	return p, true
}

func sortedKeys[K ~string | ~int64, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
