package ovhsim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// recordTypes are the record types the simulated zones take.
var recordTypes = []string{"A", "AAAA", "CAA", "CNAME", "MX", "NS", "SRV", "TXT"}

func (s *Server) zone(w http.ResponseWriter, r *http.Request) (string, map[string]*DNSRecord) {
	zone := strings.ToLower(r.PathValue("zone"))
	for _, z := range s.opts.Zones {
		if strings.EqualFold(z, zone) {
			recs := s.st.Records[zone]
			if recs == nil {
				recs = map[string]*DNSRecord{}
				s.st.Records[zone] = recs
			}
			return zone, recs
		}
	}
	s.fail(w, http.StatusNotFound, "Client::NotFound", "This service does not exist")
	return "", nil
}

func (s *Server) getZone(w http.ResponseWriter, r *http.Request) {
	zone, recs := s.zone(w, r)
	if recs == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": zone, "dnssecSupported": true, "hasDnsAnycast": false, "nameServers": []string{"dns200.anycast.me", "ns200.anycast.me"}, "lastUpdate": s.now()})
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) {
	_, recs := s.zone(w, r)
	if recs == nil {
		return
	}
	q := r.URL.Query()
	ids := []int64{}
	for _, rec := range recs {
		if t := q.Get("fieldType"); t != "" && !strings.EqualFold(t, rec.FieldType) {
			continue
		}
		if sub, set := q["subDomain"]; set && !strings.EqualFold(sub[0], rec.SubDomain) {
			continue
		}
		ids = append(ids, rec.ID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	writeJSON(w, http.StatusOK, ids)
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) {
	var body struct {
		FieldType string `json:"fieldType"`
		SubDomain string `json:"subDomain"`
		Target    string `json:"target"`
		TTL       int    `json:"ttl"`
	}
	if !decode(w, r, s, &body) {
		return
	}
	zone, recs := s.zone(w, r)
	if recs == nil {
		return
	}
	known := false
	for _, t := range recordTypes {
		known = known || t == body.FieldType
	}
	switch {
	case !known:
		s.badRequest(w, "Invalid fieldType %q", body.FieldType)
		return
	case body.Target == "":
		s.badRequest(w, "Missing parameter: target")
		return
	}
	rec := &DNSRecord{ID: s.nextID(), Zone: zone, FieldType: body.FieldType, SubDomain: body.SubDomain, Target: body.Target, TTL: body.TTL}
	recs[itoa(rec.ID)] = rec
	s.saveLocked()
	writeJSON(w, http.StatusOK, rec)
}

func (s *Server) record1(w http.ResponseWriter, r *http.Request) (map[string]*DNSRecord, *DNSRecord) {
	_, recs := s.zone(w, r)
	if recs == nil {
		return nil, nil
	}
	rec := recs[r.PathValue("id")]
	if rec == nil {
		s.notFound(w, "id = "+r.PathValue("id"))
	}
	return recs, rec
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) {
	if _, rec := s.record1(w, r); rec != nil {
		writeJSON(w, http.StatusOK, rec)
	}
}

func (s *Server) updateRecord(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SubDomain *string `json:"subDomain"`
		Target    *string `json:"target"`
		TTL       *int    `json:"ttl"`
		FieldType *string `json:"fieldType"`
	}
	if !decode(w, r, s, &body) {
		return
	}
	_, rec := s.record1(w, r)
	if rec == nil {
		return
	}
	if body.FieldType != nil && *body.FieldType != rec.FieldType {
		s.badRequest(w, "fieldType cannot be changed")
		return
	}
	if body.SubDomain != nil {
		rec.SubDomain = *body.SubDomain
	}
	if body.Target != nil {
		rec.Target = *body.Target
	}
	if body.TTL != nil {
		rec.TTL = *body.TTL
	}
	s.saveLocked()
	ok(w)
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) {
	recs, rec := s.record1(w, r)
	if rec == nil {
		return
	}
	delete(recs, strconv.FormatInt(rec.ID, 10))
	s.saveLocked()
	ok(w)
}

// refreshZone publishes the zone: until then, changes are recorded but not
// what the name servers answer, as at OVHcloud.
func (s *Server) refreshZone(w http.ResponseWriter, r *http.Request) {
	zone, recs := s.zone(w, r)
	if recs == nil {
		return
	}
	pub := []DNSRecord{}
	for _, id := range sortedKeys(recs) {
		pub = append(pub, *recs[id])
	}
	s.st.Published[zone] = pub
	s.saveLocked()
	ok(w)
}

// Published returns the records a zone's name servers answer with: those
// of the last refresh.
func (s *Server) Published(zone string) []DNSRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]DNSRecord(nil), s.st.Published[strings.ToLower(zone)]...)
}
