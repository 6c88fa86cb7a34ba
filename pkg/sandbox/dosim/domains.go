package dosim

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// DefaultTTL is the TTL DigitalOcean gives a domain and the records that
// do not name one.
const DefaultTTL = 1800

// nameServers are DigitalOcean's, which every domain it holds lists.
var nameServers = []string{"ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com"}

var domainName = regexp.MustCompile(`^(?i:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

func (d *domain) zoneFile() string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s.\n$TTL %d\n", d.Name, d.TTL)
	for _, id := range sortedKeys(d.Records) {
		rec := d.Records[id]
		name := rec.Name
		data := rec.Data
		switch rec.Type {
		case "SOA":
			data = fmt.Sprintf("%s. hostmaster.%s. %d 10800 3600 604800 %s", nameServers[0], d.Name, 1500000000+id, rec.Data)
		case "MX":
			data = fmt.Sprintf("%d %s", deref(rec.Priority), rec.Data)
		case "SRV":
			data = fmt.Sprintf("%d %d %d %s", deref(rec.Priority), deref(rec.Weight), deref(rec.Port), rec.Data)
		case "CAA":
			data = fmt.Sprintf("%d %s %q", deref(rec.Flags), derefString(rec.Tag), rec.Data)
		case "TXT":
			data = strconv.Quote(rec.Data)
		}
		fmt.Fprintf(&b, "%s %d IN %s %s\n", name, rec.TTL, rec.Type, data)
	}
	return b.String()
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func domainJSON(d *domain) map[string]any {
	return map[string]any{"name": d.Name, "ttl": d.TTL, "zone_file": d.zoneFile()}
}

func (s *Server) domainOr404(w http.ResponseWriter, r *http.Request) *domain {
	d := s.st.Domains[strings.ToLower(r.PathValue("name"))]
	if d == nil {
		s.notFound(w, r)
	}
	return d
}

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) {
	names := sortedKeys(s.st.Domains)
	p, ok := s.paginate(w, r, len(names))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, name := range names[p.lo:p.hi] {
		out = append(out, domainJSON(s.st.Domains[name]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"domains": out, "links": p.links, "meta": p.meta})
}

func (s *Server) createDomain(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name      string `json:"name"`
		IPAddress string `json:"ip_address"`
	}
	if !s.decode(w, r, &body) {
		return
	}
	name := strings.ToLower(strings.TrimSuffix(body.Name, "."))
	if !domainName.MatchString(name) {
		s.unprocessable(w, r, "name %q is not a valid domain name", body.Name)
		return
	}
	if s.st.Domains[name] != nil {
		s.unprocessable(w, r, "domain %s already exists", name)
		return
	}
	ip := net.ParseIP(body.IPAddress)
	if body.IPAddress != "" && ip == nil {
		s.unprocessable(w, r, "ip_address %q is not an IP address", body.IPAddress)
		return
	}
	d := &domain{Name: name, TTL: DefaultTTL, Records: map[int64]*record{}}
	add := func(typ, data string) {
		id := s.nextID()
		d.Records[id] = &record{ID: id, Type: typ, Name: "@", Data: data, TTL: DefaultTTL}
	}
	add("SOA", strconv.Itoa(DefaultTTL))
	for _, ns := range nameServers {
		add("NS", ns)
	}
	if ip != nil {
		if ip.To4() != nil {
			add("A", ip.String())
		} else {
			add("AAAA", ip.String())
		}
	}
	s.st.Domains[name] = d
	s.save()
	// DigitalOcean answers a new domain before its zone file is written.
	writeJSON(w, http.StatusCreated, map[string]any{"domain": map[string]any{"name": d.Name, "ttl": d.TTL, "zone_file": nil}})
}

func (s *Server) getDomain(w http.ResponseWriter, r *http.Request) {
	if d := s.domainOr404(w, r); d != nil {
		writeJSON(w, http.StatusOK, map[string]any{"domain": domainJSON(d)})
	}
}

func (s *Server) deleteDomain(w http.ResponseWriter, r *http.Request) {
	d := s.domainOr404(w, r)
	if d == nil {
		return
	}
	delete(s.st.Domains, d.Name)
	s.save()
	noContent(w)
}

// fqdn is a record's full name, as the list's name filter takes it.
func fqdn(d *domain, rec *record) string {
	if rec.Name == "@" {
		return d.Name
	}
	return rec.Name + "." + d.Name
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) {
	d := s.domainOr404(w, r)
	if d == nil {
		return
	}
	q := r.URL.Query()
	var recs []*record
	for _, id := range sortedKeys(d.Records) {
		rec := d.Records[id]
		if t := q.Get("type"); t != "" && !strings.EqualFold(t, rec.Type) {
			continue
		}
		if n := q.Get("name"); n != "" && !strings.EqualFold(strings.TrimSuffix(n, "."), fqdn(d, rec)) {
			continue
		}
		recs = append(recs, rec)
	}
	p, ok := s.paginate(w, r, len(recs))
	if !ok {
		return
	}
	out := recs[p.lo:p.hi]
	if out == nil {
		out = []*record{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"domain_records": out, "links": p.links, "meta": p.meta})
}

// recordBody is a record as create and update requests carry it. godo
// always sends the numeric fields, zero when unused.
type recordBody struct {
	Type     string  `json:"type"`
	Name     string  `json:"name"`
	Data     string  `json:"data"`
	Priority *int    `json:"priority"`
	Port     *int    `json:"port"`
	TTL      int     `json:"ttl"`
	Weight   *int    `json:"weight"`
	Flags    *int    `json:"flags"`
	Tag      *string `json:"tag"`
}

// apply copies what the body sets onto rec; only the fields that the
// record's type uses are kept.
func (b recordBody) apply(d *domain, rec *record) {
	if b.Type != "" {
		rec.Type = strings.ToUpper(b.Type)
	}
	if b.Name != "" {
		rec.Name = relativeName(d, b.Name)
	}
	if b.Data != "" {
		rec.Data = b.Data
	}
	if b.TTL != 0 {
		rec.TTL = b.TTL
	}
	pick := func(dst **int, src *int, used bool) {
		switch {
		case !used:
			*dst = nil
		case src != nil:
			v := *src
			*dst = &v
		case *dst == nil:
			zero := 0
			*dst = &zero
		}
	}
	pick(&rec.Priority, b.Priority, rec.Type == "MX" || rec.Type == "SRV")
	pick(&rec.Port, b.Port, rec.Type == "SRV")
	pick(&rec.Weight, b.Weight, rec.Type == "SRV")
	pick(&rec.Flags, b.Flags, rec.Type == "CAA")
	switch {
	case rec.Type != "CAA":
		rec.Tag = nil
	case b.Tag != nil:
		t := *b.Tag
		rec.Tag = &t
	}
}

// relativeName turns "www.example.ca" or "example.ca." into the names
// DigitalOcean keeps: "www", "@".
func relativeName(d *domain, name string) string {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	if n == d.Name {
		return "@"
	}
	if rel, ok := strings.CutSuffix(n, "."+d.Name); ok && strings.HasSuffix(name, ".") {
		return rel
	}
	return name
}

var recordLabel = regexp.MustCompile(`^(@|\*|(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*)$`)

// hostTarget is a host name a record may point to: "@", or a name with or
// without the final dot.
var hostTarget = regexp.MustCompile(`^(@|(?i:[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.(?i:[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?))*\.?)$`)

// check says what is wrong with a record, or "".
func check(rec *record) string {
	switch rec.Type {
	case "A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA":
	case "SOA":
		return "SOA records are managed by DigitalOcean and cannot be created"
	case "":
		return "type is required"
	default:
		return fmt.Sprintf("type %q is invalid (A, AAAA, CAA, CNAME, MX, NS, SRV, TXT)", rec.Type)
	}
	if rec.Name == "" {
		return "name is required (\"@\" for the domain itself)"
	}
	if !recordLabel.MatchString(rec.Name) {
		return fmt.Sprintf("name %q is invalid", rec.Name)
	}
	if rec.Data == "" {
		return "data is required"
	}
	ip := net.ParseIP(rec.Data)
	switch rec.Type {
	case "A":
		if ip == nil || ip.To4() == nil {
			return fmt.Sprintf("data %q is not an IPv4 address, which an A record needs", rec.Data)
		}
	case "AAAA":
		if ip == nil || ip.To4() != nil {
			return fmt.Sprintf("data %q is not an IPv6 address, which an AAAA record needs", rec.Data)
		}
	case "CNAME", "MX", "NS", "SRV":
		if !hostTarget.MatchString(rec.Data) {
			return fmt.Sprintf("data %q is not a host name, which a %s record needs", rec.Data, rec.Type)
		}
	case "CAA":
		switch t := derefString(rec.Tag); t {
		case "issue", "issuewild", "iodef":
		default:
			return fmt.Sprintf("tag %q is invalid for a CAA record (issue, issuewild, iodef)", t)
		}
		if f := deref(rec.Flags); f < 0 || f > 255 {
			return fmt.Sprintf("flags %d is invalid for a CAA record (0 to 255)", f)
		}
	}
	for what, p := range map[string]*int{"priority": rec.Priority, "port": rec.Port, "weight": rec.Weight} {
		if v := deref(p); v < 0 || v > 65535 {
			return fmt.Sprintf("%s %d is invalid (0 to 65535)", what, v)
		}
	}
	if rec.TTL < 30 {
		return fmt.Sprintf("ttl %d is too low: the least DigitalOcean accepts is 30 seconds", rec.TTL)
	}
	return ""
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) {
	var body recordBody
	if !s.decode(w, r, &body) {
		return
	}
	d := s.domainOr404(w, r)
	if d == nil {
		return
	}
	rec := &record{TTL: DefaultTTL}
	body.apply(d, rec)
	if msg := check(rec); msg != "" {
		s.unprocessable(w, r, "%s", msg)
		return
	}
	rec.ID = s.nextID()
	d.Records[rec.ID] = rec
	s.save()
	writeJSON(w, http.StatusCreated, map[string]any{"domain_record": rec})
}

func (s *Server) recordOr404(w http.ResponseWriter, r *http.Request) (*domain, *record) {
	d := s.domainOr404(w, r)
	if d == nil {
		return nil, nil
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	rec := d.Records[id]
	if err != nil || rec == nil {
		s.notFound(w, r)
		return nil, nil
	}
	return d, rec
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) {
	if _, rec := s.recordOr404(w, r); rec != nil {
		writeJSON(w, http.StatusOK, map[string]any{"domain_record": rec})
	}
}

func (s *Server) updateRecord(w http.ResponseWriter, r *http.Request) {
	var body recordBody
	if !s.decode(w, r, &body) {
		return
	}
	d, rec := s.recordOr404(w, r)
	if rec == nil {
		return
	}
	if rec.Type == "SOA" || (rec.Type == "NS" && rec.Name == "@" && contains(nameServers, rec.Data)) {
		s.unprocessable(w, r, "the %s record of %s is managed by DigitalOcean", rec.Type, d.Name)
		return
	}
	updated := *rec
	body.apply(d, &updated)
	if msg := check(&updated); msg != "" {
		s.unprocessable(w, r, "%s", msg)
		return
	}
	*rec = updated
	s.save()
	writeJSON(w, http.StatusOK, map[string]any{"domain_record": rec})
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) {
	d, rec := s.recordOr404(w, r)
	if rec == nil {
		return
	}
	if rec.Type == "SOA" {
		s.unprocessable(w, r, "the SOA record of %s is managed by DigitalOcean", d.Name)
		return
	}
	delete(d.Records, rec.ID)
	s.save()
	noContent(w)
}
