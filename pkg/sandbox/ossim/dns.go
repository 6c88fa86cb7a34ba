package ossim

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

func (s *Server) dnsRoutes(mux *http.ServeMux) {
	rs := routeSet{mux, s, dns}
	rs.open("GET /dns", s.dnsVersions)
	rs.open("GET /dns/{$}", s.dnsVersions)
	const p = "/dns/v2"
	rs.api("GET "+p+"/zones", s.listZones)
	rs.api("POST "+p+"/zones", s.createZone)
	rs.api("GET "+p+"/zones/{id}", s.getZone)
	rs.api("PATCH "+p+"/zones/{id}", s.updateZone)
	rs.api("DELETE "+p+"/zones/{id}", s.deleteZone)
	rs.api("GET "+p+"/zones/{id}/recordsets", s.listRecordSets)
	rs.api("POST "+p+"/zones/{id}/recordsets", s.createRecordSet)
	rs.api("GET "+p+"/zones/{id}/recordsets/{rid}", s.getRecordSet)
	rs.api("PUT "+p+"/zones/{id}/recordsets/{rid}", s.updateRecordSet)
	rs.api("DELETE "+p+"/zones/{id}/recordsets/{rid}", s.deleteRecordSet)
	rs.open("/dns/", func(c *call) { c.designate(http.StatusNotFound, "not_found", "Not Found") })
}

func (s *Server) dnsVersions(c *call) {
	c.json(http.StatusOK, map[string]any{"versions": []map[string]any{{
		"id": "v2.0", "status": "CURRENT", "links": []map[string]string{{"rel": "self", "href": c.base() + "/dns/v2"}},
	}}})
}

// Name servers of the simulated zones: names under .invalid, which never
// resolve.
var nameServers = []string{"ns1.sandbox.invalid.", "ns2.sandbox.invalid."}

const defaultZoneTTL = 3600

func (s *Server) zoneJSON(c *call, z *zoneRec) map[string]any {
	return map[string]any{
		"id": z.ID, "pool_id": stableID("pool", "default"), "project_id": c.tok.Project, "name": z.Name, "email": z.Email,
		"description": z.Description, "ttl": z.TTL, "serial": z.Serial, "status": z.Phase.Status, "action": z.Action,
		"version": z.Version, "attributes": map[string]string{}, "type": "PRIMARY", "masters": []string{}, "shared": false,
		"created_at": micro(z.Created), "updated_at": microOrNull(z.Updated), "transferred_at": nil,
		"links": map[string]string{"self": c.base() + "/dns/v2/zones/" + z.ID},
	}
}

func (s *Server) recordSetJSON(c *call, rs *recordSetRec) map[string]any {
	z := s.st.Zones[rs.Zone]
	var ttl any
	if rs.TTL != nil {
		ttl = *rs.TTL
	}
	var desc any
	if rs.Description != "" {
		desc = rs.Description
	}
	return map[string]any{
		"id": rs.ID, "zone_id": rs.Zone, "zone_name": z.Name, "project_id": c.tok.Project, "name": rs.Name, "type": rs.Type,
		"records": rs.Records, "ttl": ttl, "status": rs.Phase.Status, "action": rs.Action, "description": desc,
		"version": rs.Version, "created_at": micro(rs.Created), "updated_at": microOrNull(rs.Updated),
		"links": map[string]string{"self": c.base() + "/dns/v2/zones/" + rs.Zone + "/recordsets/" + rs.ID},
	}
}

// designateList answers a Designate collection: its own paging, with
// links.next when the page is full and metadata.total_count.
func (s *Server) designateList(c *call, key string, ids []string, render func(string) map[string]any) {
	q := c.r.URL.Query()
	var kept []string
	for _, id := range ids {
		item := render(id)
		ok := true
		for _, f := range []string{"name", "type", "status", "email", "ttl", "description"} {
			if want := q.Get(f); want != "" && !strings.EqualFold(fmt.Sprint(item[f]), want) {
				ok = false
			}
		}
		if ok {
			kept = append(kept, id)
		}
	}
	total := len(kept)
	kept, next, ok := c.page(kept)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, id := range kept {
		out = append(out, render(id))
	}
	lk := map[string]string{"self": c.base() + c.r.URL.RequestURI()}
	if next != "" {
		lk["next"] = next
	}
	c.json(http.StatusOK, map[string]any{key: out, "links": lk, "metadata": map[string]int{"total_count": total}})
}

func (s *Server) listZones(c *call) {
	ids := bySeq(s.st.Zones, func(z *zoneRec) int64 { return z.Seq })
	s.designateList(c, "zones", ids, func(id string) map[string]any { return s.zoneJSON(c, s.st.Zones[id]) })
}

var (
	domainName = regexp.MustCompile(`^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)$`)
	emailRe    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

func (c *call) invalid(schema, message string) {
	c.designate(http.StatusBadRequest, "invalid_object", "Provided object does not match schema '"+schema+"': "+message)
}

func validTTL(ttl int) bool { return ttl >= 1 && ttl <= 2147483647 }

func (s *Server) createZone(c *call) {
	var req struct {
		Name        string          `json:"name"`
		Email       string          `json:"email"`
		TTL         *int            `json:"ttl"`
		Description string          `json:"description"`
		Type        string          `json:"type"`
		Masters     []string        `json:"masters"`
		Attributes  json.RawMessage `json:"attributes"`
	}
	if !c.decode(&req) {
		return
	}
	name := strings.ToLower(req.Name)
	switch {
	case req.Name == "":
		c.invalid("zone", "'name' is a required property")
		return
	case !domainName.MatchString(name) || strings.Count(name, ".") < 2 || len(name) > 255:
		c.invalid("zone", fmt.Sprintf("'%s' is not a 'domainname'", req.Name))
		return
	case req.Type != "" && req.Type != "PRIMARY":
		c.designate(http.StatusBadRequest, "bad_request", "Secondary zones are not simulated.")
		return
	case req.Email == "":
		c.invalid("zone", "'email' is a required property")
		return
	case !emailRe.MatchString(req.Email):
		c.invalid("zone", fmt.Sprintf("'%s' is not a 'email'", req.Email))
		return
	case req.TTL != nil && !validTTL(*req.TTL):
		c.invalid("zone", fmt.Sprintf("%d is less than the minimum of 1", *req.TTL))
		return
	}
	for _, z := range s.st.Zones {
		if z.Name == name {
			c.designate(http.StatusConflict, "duplicate_zone", "Duplicate Zone")
			return
		}
	}
	now := s.now()
	z := &zoneRec{ID: newUUID(), Seq: s.next(), Name: name, Email: req.Email, TTL: defaultZoneTTL, Description: req.Description,
		Serial: now.Unix(), Version: 1, Action: "CREATE", Created: now}
	if req.TTL != nil {
		z.TTL = *req.TTL
	}
	z.Phase.set("PENDING", "ACTIVE", s.opts.Timing.DNSChange, now)
	s.st.Zones[z.ID] = z
	// Designate makes the zone's SOA and NS record sets itself.
	soa := fmt.Sprintf("%s %s %d 3584 600 86400 3600", nameServers[0], strings.Replace(req.Email, "@", ".", 1)+".", z.Serial)
	for _, rs := range []*recordSetRec{
		{Type: "SOA", Records: []string{soa}},
		{Type: "NS", Records: slices.Clone(nameServers)},
	} {
		rs.ID, rs.Seq, rs.Zone, rs.Name, rs.Managed, rs.Version, rs.Action, rs.Created = newUUID(), s.next(), z.ID, name, true, 1, "CREATE", now
		rs.Phase.set("PENDING", "ACTIVE", s.opts.Timing.DNSChange, now)
		s.st.RecordSets[rs.ID] = rs
	}
	s.save()
	c.json(http.StatusAccepted, s.zoneJSON(c, z))
}

func (s *Server) zoneOr404(c *call) *zoneRec {
	z := s.st.Zones[c.r.PathValue("id")]
	if z == nil {
		c.designate(http.StatusNotFound, "zone_not_found", "Could not find Zone")
	}
	return z
}

func (s *Server) getZone(c *call) {
	if z := s.zoneOr404(c); z != nil {
		c.json(http.StatusOK, s.zoneJSON(c, z))
	}
}

// touch marks a zone changed: a new serial, pushed to the name servers
// (PENDING) unless it is still being created or deleted.
func (s *Server) touch(z *zoneRec) {
	now := s.now()
	z.Serial = max(z.Serial+1, now.Unix())
	z.Version++
	z.Updated = now
	if z.Phase.Next == "" {
		z.Action = "UPDATE"
		z.Phase.set("PENDING", "ACTIVE", s.opts.Timing.DNSChange, now)
	}
}

func (s *Server) updateZone(c *call) {
	var req struct {
		Email       *string `json:"email"`
		TTL         *int    `json:"ttl"`
		Description *string `json:"description"`
	}
	if !c.decode(&req) {
		return
	}
	z := s.zoneOr404(c)
	if z == nil {
		return
	}
	if z.Phase.deleting() {
		c.designate(http.StatusBadRequest, "bad_request", "Can not update a deleting zone")
		return
	}
	if req.Email != nil {
		if !emailRe.MatchString(*req.Email) {
			c.invalid("zone", fmt.Sprintf("'%s' is not a 'email'", *req.Email))
			return
		}
		z.Email = *req.Email
	}
	if req.TTL != nil {
		if !validTTL(*req.TTL) {
			c.invalid("zone", fmt.Sprintf("%d is less than the minimum of 1", *req.TTL))
			return
		}
		z.TTL = *req.TTL
	}
	if req.Description != nil {
		z.Description = *req.Description
	}
	s.touch(z)
	s.save()
	c.json(http.StatusAccepted, s.zoneJSON(c, z))
}

func (s *Server) deleteZone(c *call) {
	z := s.zoneOr404(c)
	if z == nil {
		return
	}
	if !z.Phase.deleting() {
		z.Action, z.Updated = "DELETE", s.now()
		z.Phase.set("PENDING", gone, s.opts.Timing.DNSChange, s.now())
		s.save()
	}
	c.json(http.StatusAccepted, s.zoneJSON(c, z))
}

func (s *Server) listRecordSets(c *call) {
	z := s.zoneOr404(c)
	if z == nil {
		return
	}
	var ids []string
	for _, id := range bySeq(s.st.RecordSets, func(r *recordSetRec) int64 { return r.Seq }) {
		if s.st.RecordSets[id].Zone == z.ID {
			ids = append(ids, id)
		}
	}
	s.designateList(c, "recordsets", ids, func(id string) map[string]any { return s.recordSetJSON(c, s.st.RecordSets[id]) })
}

// recordTypes are the types Designate takes.
var recordTypes = []string{"A", "AAAA", "CNAME", "MX", "SRV", "TXT", "SPF", "NS", "PTR", "SSHFP", "SOA", "NAPTR", "CAA", "CERT"}

// checkRecords says what is wrong with a record set's records, or "".
func checkRecords(typ string, records []string) string {
	if len(records) == 0 {
		return "[] is too short"
	}
	for _, r := range records {
		switch typ {
		case "A":
			if ip := net.ParseIP(r); ip == nil || ip.To4() == nil {
				return fmt.Sprintf("'%s' is not a 'ipv4'", r)
			}
		case "AAAA":
			if ip := net.ParseIP(r); ip == nil || ip.To4() != nil {
				return fmt.Sprintf("'%s' is not a 'ipv6'", r)
			}
		case "CNAME", "NS", "PTR":
			if !domainName.MatchString(strings.ToLower(r)) {
				return fmt.Sprintf("'%s' is not a 'domainname'", r)
			}
		case "MX":
			var pref int
			var host string
			if n, _ := fmt.Sscanf(r, "%d %s", &pref, &host); n != 2 || !domainName.MatchString(strings.ToLower(host)) {
				return fmt.Sprintf("'%s' is not a 'mxrecord'", r)
			}
		}
	}
	if typ == "CNAME" && len(records) > 1 {
		return "CNAME record sets may have only one record"
	}
	return ""
}

func (s *Server) createRecordSet(c *call) {
	var req struct {
		Name        string   `json:"name"`
		Type        string   `json:"type"`
		Records     []string `json:"records"`
		TTL         *int     `json:"ttl"`
		Description string   `json:"description"`
	}
	if !c.decode(&req) {
		return
	}
	z := s.zoneOr404(c)
	if z == nil {
		return
	}
	name, typ := strings.ToLower(req.Name), strings.ToUpper(req.Type)
	switch {
	case z.Phase.deleting():
		c.designate(http.StatusBadRequest, "bad_request", "Can not update a deleting zone")
		return
	case req.Name == "":
		c.invalid("recordset", "'name' is a required property")
		return
	case !domainName.MatchString(name):
		c.invalid("recordset", fmt.Sprintf("'%s' is not a 'hostname'", req.Name))
		return
	case !slices.Contains(recordTypes, typ):
		c.invalid("recordset", fmt.Sprintf("'%s' is not one of %s", req.Type, strings.Join(recordTypes, ", ")))
		return
	case typ == "SOA":
		c.designate(http.StatusForbidden, "forbidden", "Managed records may not be created")
		return
	case name != z.Name && !strings.HasSuffix(name, "."+z.Name):
		c.designate(http.StatusBadRequest, "invalid_recordset_location", "RecordSet is not contained within it's parent zone")
		return
	case typ == "CNAME" && name == z.Name:
		c.designate(http.StatusBadRequest, "invalid_recordset_location", "CNAME recordsets may not be created at the zone apex")
		return
	case req.TTL != nil && !validTTL(*req.TTL):
		c.invalid("recordset", fmt.Sprintf("%d is less than the minimum of 1", *req.TTL))
		return
	}
	if msg := checkRecords(typ, req.Records); msg != "" {
		c.invalid("recordset", msg)
		return
	}
	for _, o := range s.st.RecordSets {
		if o.Zone != z.ID || o.Name != name {
			continue
		}
		if o.Type == typ {
			c.designate(http.StatusConflict, "duplicate_recordset", "Duplicate RecordSet")
			return
		}
		if o.Type == "CNAME" || typ == "CNAME" {
			c.designate(http.StatusBadRequest, "invalid_recordset_location", "CNAME recordsets may not share a name with any other records")
			return
		}
	}
	now := s.now()
	rs := &recordSetRec{ID: newUUID(), Seq: s.next(), Zone: z.ID, Name: name, Type: typ, Records: req.Records, TTL: req.TTL,
		Description: req.Description, Version: 1, Action: "CREATE", Created: now}
	rs.Phase.set("PENDING", "ACTIVE", s.opts.Timing.DNSChange, now)
	s.st.RecordSets[rs.ID] = rs
	s.touch(z)
	s.save()
	c.json(http.StatusAccepted, s.recordSetJSON(c, rs))
}

func (s *Server) recordSetOr404(c *call) (*zoneRec, *recordSetRec) {
	z := s.zoneOr404(c)
	if z == nil {
		return nil, nil
	}
	rs := s.st.RecordSets[c.r.PathValue("rid")]
	if rs == nil || rs.Zone != z.ID {
		c.designate(http.StatusNotFound, "recordset_not_found", "Could not find RecordSet")
		return nil, nil
	}
	return z, rs
}

func (s *Server) getRecordSet(c *call) {
	if _, rs := s.recordSetOr404(c); rs != nil {
		c.json(http.StatusOK, s.recordSetJSON(c, rs))
	}
}

func (s *Server) updateRecordSet(c *call) {
	var req struct {
		Records     []string        `json:"records"`
		TTL         json.RawMessage `json:"ttl"`
		Description *string         `json:"description"`
	}
	if !c.decode(&req) {
		return
	}
	z, rs := s.recordSetOr404(c)
	if rs == nil {
		return
	}
	if rs.Managed && rs.Type == "SOA" {
		c.designate(http.StatusForbidden, "forbidden", "Managed records may not be updated")
		return
	}
	if rs.Phase.deleting() {
		c.designate(http.StatusBadRequest, "bad_request", "Can not update a deleting record set")
		return
	}
	if req.Records != nil {
		if msg := checkRecords(rs.Type, req.Records); msg != "" {
			c.invalid("recordset", msg)
			return
		}
		rs.Records = req.Records
	}
	// A ttl of null goes back to the zone's.
	switch t := strings.TrimSpace(string(req.TTL)); t {
	case "":
	case "null":
		rs.TTL = nil
	default:
		var ttl int
		if json.Unmarshal(req.TTL, &ttl) != nil || !validTTL(ttl) {
			c.invalid("recordset", t+" is not a valid ttl")
			return
		}
		rs.TTL = &ttl
	}
	if req.Description != nil {
		rs.Description = *req.Description
	}
	now := s.now()
	rs.Version++
	rs.Updated, rs.Action = now, "UPDATE"
	rs.Phase.set("PENDING", "ACTIVE", s.opts.Timing.DNSChange, now)
	s.touch(z)
	s.save()
	c.json(http.StatusAccepted, s.recordSetJSON(c, rs))
}

func (s *Server) deleteRecordSet(c *call) {
	z, rs := s.recordSetOr404(c)
	if rs == nil {
		return
	}
	if rs.Managed {
		c.designate(http.StatusForbidden, "forbidden", "Managed records may not be deleted")
		return
	}
	if !rs.Phase.deleting() {
		rs.Action, rs.Updated = "DELETE", s.now()
		rs.Phase.set("PENDING", gone, s.opts.Timing.DNSChange, s.now())
		s.touch(z)
		s.save()
	}
	c.json(http.StatusAccepted, s.recordSetJSON(c, rs))
}
