package ossim

import (
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The one network: public, shared and external, as a public cloud gives
// its servers, with an IPv4 and an IPv6 subnet.
const publicNetworkName = "public"

var (
	publicNetworkID = stableID("network", publicNetworkName)
	subnetV4ID      = stableID("subnet", publicNetworkName, "v4")
	subnetV6ID      = stableID("subnet", publicNetworkName, "v6")
)

func (s *Server) networkRoutes(mux *http.ServeMux) {
	rs := routeSet{mux, s, network}
	rs.open("GET /network", s.networkVersions)
	rs.open("GET /network/{$}", s.networkVersions)
	const p = "/network/v2.0"
	rs.api("GET "+p+"/networks", s.listNetworks)
	rs.api("GET "+p+"/networks/{id}", s.getNetwork)
	rs.api("GET "+p+"/subnets", s.listSubnets)
	rs.api("GET "+p+"/subnets/{id}", s.getSubnet)
	rs.api("GET "+p+"/ports", s.listPorts)
	rs.api("GET "+p+"/ports/{id}", s.getPort)
	rs.api("GET "+p+"/security-groups", s.listGroups)
	rs.api("POST "+p+"/security-groups", s.createGroup)
	rs.api("GET "+p+"/security-groups/{id}", s.getGroup)
	rs.api("PUT "+p+"/security-groups/{id}", s.updateGroup)
	rs.api("DELETE "+p+"/security-groups/{id}", s.deleteGroup)
	rs.api("GET "+p+"/security-group-rules", s.listRules)
	rs.api("POST "+p+"/security-group-rules", s.createRule)
	rs.api("GET "+p+"/security-group-rules/{id}", s.getRule)
	rs.api("DELETE "+p+"/security-group-rules/{id}", s.deleteRule)
	rs.open("/network/", func(c *call) { c.neutron(http.StatusNotFound, "HTTPNotFound", "The resource could not be found.") })
}

func (s *Server) networkVersions(c *call) {
	c.json(http.StatusOK, map[string]any{"versions": []map[string]any{{
		"id": "v2.0", "status": "CURRENT", "links": []map[string]string{{"rel": "self", "href": c.base() + "/network/v2.0/"}},
	}}})
}

// match applies Neutron's filters: every query parameter that names a
// field must equal it (one of its values, when repeated). Paging and
// field selection are not filters.
func match(c *call, item map[string]any) bool {
	for k, want := range c.r.URL.Query() {
		switch k {
		case "limit", "marker", "page_reverse", "sort_key", "sort_dir", "fields":
			continue
		}
		got, ok := item[k]
		if !ok {
			continue
		}
		var s string
		switch v := got.(type) {
		case string:
			s = v
		case bool:
			s = strconv.FormatBool(v)
		case int:
			s = strconv.Itoa(v)
		case nil:
			s = ""
		default:
			continue
		}
		if !slices.Contains(want, s) {
			return false
		}
	}
	return true
}

// list answers a Neutron collection: filtered, paged, with its links.
func (s *Server) list(c *call, key string, ids []string, render func(id string) map[string]any) {
	var kept []string
	for _, id := range ids {
		if match(c, render(id)) {
			kept = append(kept, id)
		}
	}
	kept, next, ok := c.page(kept)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, id := range kept {
		out = append(out, render(id))
	}
	body := map[string]any{key: out}
	if next != "" {
		body[key+"_links"] = links(next)
	}
	c.json(http.StatusOK, body)
}

func bySeq[V any](m map[string]V, seq func(V) int64) []string {
	ids := sortedKeys(m)
	slices.SortStableFunc(ids, func(a, b string) int { return int(seq(m[a]) - seq(m[b])) })
	return ids
}

func (c *call) networkJSON() map[string]any {
	return map[string]any{
		"id": publicNetworkID, "name": publicNetworkName, "description": "", "status": "ACTIVE", "admin_state_up": true,
		"subnets": []string{subnetV4ID, subnetV6ID}, "tenant_id": "", "project_id": "", "shared": true,
		"router:external": true, "mtu": 1500, "port_security_enabled": true, "availability_zone_hints": []string{},
		"availability_zones": []string{"nova"}, "ipv4_address_scope": nil, "ipv6_address_scope": nil,
		"tags": []string{}, "revision_number": 1, "created_at": isoZ(imageEpoch), "updated_at": isoZ(imageEpoch),
	}
}

func (s *Server) listNetworks(c *call) {
	s.list(c, "networks", []string{publicNetworkID}, func(string) map[string]any { return c.networkJSON() })
}

func (s *Server) getNetwork(c *call) {
	if c.r.PathValue("id") != publicNetworkID {
		c.neutron(http.StatusNotFound, "NetworkNotFound", "Network "+c.r.PathValue("id")+" could not be found.")
		return
	}
	c.json(http.StatusOK, map[string]any{"network": c.networkJSON()})
}

func subnetJSON(id string) map[string]any {
	out := map[string]any{
		"id": id, "network_id": publicNetworkID, "tenant_id": "", "project_id": "", "enable_dhcp": true,
		"dns_nameservers": []string{}, "host_routes": []any{}, "tags": []string{}, "description": "", "revision_number": 0,
		"created_at": isoZ(imageEpoch), "updated_at": isoZ(imageEpoch), "subnetpool_id": nil, "service_types": []string{},
	}
	if id == subnetV4ID {
		out["name"], out["ip_version"], out["cidr"], out["gateway_ip"] = "public-v4", 4, "203.0.113.0/24", "203.0.113.1"
		out["allocation_pools"] = []map[string]string{{"start": "203.0.113.2", "end": "203.0.113.254"}}
		out["ipv6_ra_mode"], out["ipv6_address_mode"] = nil, nil
	} else {
		out["name"], out["ip_version"], out["cidr"], out["gateway_ip"] = "public-v6", 6, "2001:db8:ca:1::/64", "2001:db8:ca:1::1"
		out["allocation_pools"] = []map[string]string{{"start": "2001:db8:ca:1::2", "end": "2001:db8:ca:1:ffff:ffff:ffff:ffff"}}
		out["ipv6_ra_mode"], out["ipv6_address_mode"] = "slaac", "slaac"
	}
	return out
}

func (s *Server) listSubnets(c *call) {
	s.list(c, "subnets", []string{subnetV4ID, subnetV6ID}, subnetJSON)
}

func (s *Server) getSubnet(c *call) {
	id := c.r.PathValue("id")
	if id != subnetV4ID && id != subnetV6ID {
		c.neutron(http.StatusNotFound, "SubnetNotFound", "Subnet "+id+" could not be found.")
		return
	}
	c.json(http.StatusOK, map[string]any{"subnet": subnetJSON(id)})
}

func (s *Server) portJSON(c *call, p *portRec) map[string]any {
	status := "DOWN"
	if sv := s.st.Servers[p.Server]; sv != nil && sv.Phase.Status == "ACTIVE" {
		status = "ACTIVE"
	}
	return map[string]any{
		"id": p.ID, "name": "", "network_id": publicNetworkID, "description": "", "admin_state_up": true, "status": status,
		"mac_address": p.MAC, "tenant_id": c.tok.Project, "project_id": c.tok.Project,
		"device_owner": "compute:nova", "device_id": p.Server, "security_groups": p.SecurityGroups,
		"fixed_ips":             []map[string]string{{"subnet_id": subnetV4ID, "ip_address": p.IPv4}, {"subnet_id": subnetV6ID, "ip_address": p.IPv6}},
		"allowed_address_pairs": []any{}, "extra_dhcp_opts": []any{}, "binding:vnic_type": "normal",
		"port_security_enabled": true, "tags": []string{}, "revision_number": 1,
		"created_at": isoZ(p.Created), "updated_at": isoZ(p.Created),
	}
}

func (s *Server) listPorts(c *call) {
	ids := bySeq(s.st.Ports, func(p *portRec) int64 { return p.Seq })
	s.list(c, "ports", ids, func(id string) map[string]any { return s.portJSON(c, s.st.Ports[id]) })
}

func (s *Server) getPort(c *call) {
	p := s.st.Ports[c.r.PathValue("id")]
	if p == nil {
		c.neutron(http.StatusNotFound, "PortNotFound", "Port "+c.r.PathValue("id")+" could not be found.")
		return
	}
	c.json(http.StatusOK, map[string]any{"port": s.portJSON(c, p)})
}

// Security groups.

func (s *Server) groupByNameOrID(ref string) *groupRec {
	if g := s.st.Groups[ref]; g != nil {
		return g
	}
	for _, id := range sortedKeys(s.st.Groups) {
		if s.st.Groups[id].Name == ref {
			return s.st.Groups[id]
		}
	}
	return nil
}

func (s *Server) groupJSON(c *call, g *groupRec) map[string]any {
	rules := []map[string]any{}
	for _, id := range bySeq(s.st.Rules, func(r *ruleRec) int64 { return r.Seq }) {
		if r := s.st.Rules[id]; r.Group == g.ID {
			rules = append(rules, s.ruleJSON(c, r))
		}
	}
	return map[string]any{
		"id": g.ID, "name": g.Name, "description": g.Description, "stateful": g.Stateful,
		"tenant_id": c.tok.Project, "project_id": c.tok.Project, "security_group_rules": rules, "shared": false,
		"tags": []string{}, "revision_number": g.Revision, "created_at": isoZ(g.Created), "updated_at": isoZ(g.Updated),
	}
}

func (s *Server) ruleJSON(c *call, r *ruleRec) map[string]any {
	out := map[string]any{
		"id": r.ID, "security_group_id": r.Group, "direction": r.Direction, "ethertype": r.EtherType,
		"protocol": nil, "port_range_min": nil, "port_range_max": nil, "remote_ip_prefix": nil, "remote_group_id": nil,
		"remote_address_group_id": nil, "description": r.Description, "normalized_cidr": nil, "belongs_to_default_sg": nil,
		"tenant_id": c.tok.Project, "project_id": c.tok.Project, "tags": []string{}, "revision_number": 0,
		"created_at": isoZ(r.Created), "updated_at": isoZ(r.Created),
	}
	if r.Protocol != nil {
		out["protocol"] = *r.Protocol
	}
	if r.PortMin != nil {
		out["port_range_min"] = *r.PortMin
	}
	if r.PortMax != nil {
		out["port_range_max"] = *r.PortMax
	}
	if r.RemoteIP != nil {
		out["remote_ip_prefix"], out["normalized_cidr"] = *r.RemoteIP, *r.RemoteIP
	}
	if r.RemoteGroup != nil {
		out["remote_group_id"] = *r.RemoteGroup
	}
	return out
}

func (s *Server) listGroups(c *call) {
	ids := bySeq(s.st.Groups, func(g *groupRec) int64 { return g.Seq })
	s.list(c, "security_groups", ids, func(id string) map[string]any { return s.groupJSON(c, s.st.Groups[id]) })
}

func (s *Server) groupOr404(c *call) *groupRec {
	g := s.st.Groups[c.r.PathValue("id")]
	if g == nil {
		c.neutron(http.StatusNotFound, "SecurityGroupNotFound", "Security group "+c.r.PathValue("id")+" does not exist")
	}
	return g
}

func (s *Server) getGroup(c *call) {
	if g := s.groupOr404(c); g != nil {
		c.json(http.StatusOK, map[string]any{"security_group": s.groupJSON(c, g)})
	}
}

func (s *Server) createGroup(c *call) {
	var body struct {
		Group *struct {
			Name        string `json:"name"`
			Description string `json:"description"`
			Stateful    *bool  `json:"stateful"`
			ProjectID   string `json:"project_id"`
			TenantID    string `json:"tenant_id"`
		} `json:"security_group"`
	}
	if !c.decode(&body) {
		return
	}
	req := body.Group
	switch {
	case req == nil:
		c.neutron(http.StatusBadRequest, "HTTPBadRequest", "Resource body required")
		return
	case req.Name == "default":
		c.neutron(http.StatusConflict, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
		return
	case len(req.Name) > 255:
		c.neutron(http.StatusBadRequest, "HTTPBadRequest", "Invalid input for name. Reason: '"+req.Name+"' exceeds maximum length of 255.")
		return
	case req.ProjectID != "" && req.ProjectID != c.tok.Project || req.TenantID != "" && req.TenantID != c.tok.Project:
		c.neutron(http.StatusForbidden, "PolicyNotAuthorized", "(rule:create_security_group and rule:create_security_group:tenant_id) is disallowed by policy")
		return
	}
	now := s.now()
	g := &groupRec{ID: newUUID(), Seq: s.next(), Name: req.Name, Description: req.Description, Stateful: req.Stateful == nil || *req.Stateful, Revision: 1, Created: now, Updated: now}
	s.st.Groups[g.ID] = g
	// Neutron gives a new group its two egress rules.
	for _, eth := range []string{"IPv4", "IPv6"} {
		r := &ruleRec{ID: newUUID(), Seq: s.next(), Group: g.ID, Direction: "egress", EtherType: eth, Created: now}
		s.st.Rules[r.ID] = r
	}
	s.save()
	c.json(http.StatusCreated, map[string]any{"security_group": s.groupJSON(c, g)})
}

func (s *Server) updateGroup(c *call) {
	var body struct {
		Group *struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
		} `json:"security_group"`
	}
	if !c.decode(&body) {
		return
	}
	g := s.groupOr404(c)
	if g == nil {
		return
	}
	if body.Group == nil {
		c.neutron(http.StatusBadRequest, "HTTPBadRequest", "Resource body required")
		return
	}
	if n := body.Group.Name; n != nil {
		if g.Name == "default" || *n == "default" {
			c.neutron(http.StatusConflict, "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
			return
		}
		g.Name = *n
	}
	if d := body.Group.Description; d != nil {
		g.Description = *d
	}
	g.Revision++
	g.Updated = s.now()
	s.save()
	c.json(http.StatusOK, map[string]any{"security_group": s.groupJSON(c, g)})
}

func (s *Server) deleteGroup(c *call) {
	g := s.groupOr404(c)
	if g == nil {
		return
	}
	if g.Name == "default" {
		c.neutron(http.StatusConflict, "SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.")
		return
	}
	for _, id := range sortedKeys(s.st.Ports) {
		if slices.Contains(s.st.Ports[id].SecurityGroups, g.ID) {
			c.neutron(http.StatusConflict, "SecurityGroupInUse", "Security Group "+g.ID+" in use.")
			return
		}
	}
	for id, r := range s.st.Rules {
		if r.Group == g.ID {
			delete(s.st.Rules, id)
		}
	}
	delete(s.st.Groups, g.ID)
	s.save()
	c.empty(http.StatusNoContent)
}

func (s *Server) listRules(c *call) {
	ids := bySeq(s.st.Rules, func(r *ruleRec) int64 { return r.Seq })
	s.list(c, "security_group_rules", ids, func(id string) map[string]any { return s.ruleJSON(c, s.st.Rules[id]) })
}

func (s *Server) ruleOr404(c *call) *ruleRec {
	r := s.st.Rules[c.r.PathValue("id")]
	if r == nil {
		c.neutron(http.StatusNotFound, "SecurityGroupRuleNotFound", "Security group rule "+c.r.PathValue("id")+" does not exist")
	}
	return r
}

func (s *Server) getRule(c *call) {
	if r := s.ruleOr404(c); r != nil {
		c.json(http.StatusOK, map[string]any{"security_group_rule": s.ruleJSON(c, r)})
	}
}

// protocols are the names Neutron takes for a rule's protocol.
var protocols = []string{"ah", "dccp", "egp", "esp", "gre", "hopopt", "icmp", "icmpv6", "igmp", "ipip", "ipv6-encap", "ipv6-frag", "ipv6-icmp", "ipv6-nonxt", "ipv6-opts", "ipv6-route", "ospf", "pgm", "rsvp", "sctp", "tcp", "udp", "udplite", "vrrp"}

func (s *Server) createRule(c *call) {
	var body struct {
		Rule *struct {
			Direction      string  `json:"direction"`
			EtherType      string  `json:"ethertype"`
			SecGroupID     string  `json:"security_group_id"`
			Protocol       *string `json:"protocol"`
			PortRangeMin   *int    `json:"port_range_min"`
			PortRangeMax   *int    `json:"port_range_max"`
			RemoteIPPrefix *string `json:"remote_ip_prefix"`
			RemoteGroupID  *string `json:"remote_group_id"`
			Description    string  `json:"description"`
		} `json:"security_group_rule"`
	}
	if !c.decode(&body) {
		return
	}
	req := body.Rule
	bad := func(typ, msg string) { c.neutron(http.StatusBadRequest, typ, msg) }
	if req == nil {
		bad("HTTPBadRequest", "Resource body required")
		return
	}
	if req.EtherType == "" {
		req.EtherType = "IPv4"
	}
	switch {
	case req.Direction != "ingress" && req.Direction != "egress":
		bad("HTTPBadRequest", "Invalid input for direction. Reason: '"+req.Direction+"' is not in ['ingress', 'egress'].")
		return
	case req.EtherType != "IPv4" && req.EtherType != "IPv6":
		bad("SecurityGroupInvalidEtherType", "Invalid ethertype "+req.EtherType+" for protocol.")
		return
	}
	g := s.st.Groups[req.SecGroupID]
	if g == nil {
		c.neutron(http.StatusNotFound, "SecurityGroupNotFound", "Security group "+req.SecGroupID+" does not exist")
		return
	}
	r := &ruleRec{Group: g.ID, Direction: req.Direction, EtherType: req.EtherType, Description: req.Description}
	if p := req.Protocol; p != nil && *p != "" && strings.ToLower(*p) != "any" {
		proto := strings.ToLower(*p)
		if n, err := strconv.Atoi(proto); err == nil {
			if n < 0 || n > 255 {
				bad("SecurityGroupRuleInvalidProtocol", "Security group rule protocol "+proto+" not supported. Only protocol values [None, "+strings.Join(protocols, ", ")+"] and integer representations [0 to 255] are supported.")
				return
			}
		} else if !slices.Contains(protocols, proto) {
			bad("SecurityGroupRuleInvalidProtocol", "Security group rule protocol "+proto+" not supported. Only protocol values [None, "+strings.Join(protocols, ", ")+"] and integer representations [0 to 255] are supported.")
			return
		}
		r.Protocol = &proto
	}
	if req.PortRangeMin != nil || req.PortRangeMax != nil {
		if r.Protocol == nil {
			bad("SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
			return
		}
		lo, hi := req.PortRangeMin, req.PortRangeMax
		switch *r.Protocol {
		case "tcp", "udp", "dccp", "sctp", "udplite", "6", "17", "33", "132", "136":
			if lo == nil || hi == nil {
				// Neutron takes one end as the whole range.
				if lo == nil {
					lo = hi
				} else {
					hi = lo
				}
			}
			for _, v := range []int{*lo, *hi} {
				if v < 1 || v > 65535 {
					bad("SecurityGroupInvalidPortValue", "Invalid value for port "+strconv.Itoa(v)+".")
					return
				}
			}
			if *lo > *hi {
				bad("SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max")
				return
			}
		case "icmp", "icmpv6", "ipv6-icmp", "1", "58":
			for _, v := range []*int{lo, hi} {
				if v != nil && (*v < 0 || *v > 255) {
					bad("SecurityGroupInvalidIcmpValue", "Invalid value for ICMP field (type or code): "+strconv.Itoa(*v)+". It must be 0 to 255.")
					return
				}
			}
		default:
			bad("SecurityGroupInvalidProtocolForPortRange", "Invalid protocol "+*r.Protocol+" for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.")
			return
		}
		r.PortMin, r.PortMax = lo, hi
	}
	if req.RemoteIPPrefix != nil && req.RemoteGroupID != nil && *req.RemoteIPPrefix != "" && *req.RemoteGroupID != "" {
		bad("SecurityGroupRemoteGroupAndRemoteIpPrefix", "Only remote_ip_prefix or remote_group_id may be provided.")
		return
	}
	if p := req.RemoteIPPrefix; p != nil && *p != "" {
		cidr := *p
		if !strings.Contains(cidr, "/") {
			if ip := net.ParseIP(cidr); ip != nil && ip.To4() != nil {
				cidr += "/32"
			} else {
				cidr += "/128"
			}
		}
		_, ipnet, err := net.ParseCIDR(cidr)
		if err != nil {
			bad("HTTPBadRequest", "Invalid input for remote_ip_prefix. Reason: '"+*p+"' is not a valid IP subnet.")
			return
		}
		if (ipnet.IP.To4() != nil) != (r.EtherType == "IPv4") {
			bad("SecurityGroupRuleParameterConflict", "Conflicting value ethertype "+r.EtherType+" for CIDR "+*p)
			return
		}
		norm := ipnet.String()
		r.RemoteIP = &norm
	}
	if rg := req.RemoteGroupID; rg != nil && *rg != "" {
		if s.st.Groups[*rg] == nil {
			c.neutron(http.StatusNotFound, "SecurityGroupNotFound", "Security group "+*rg+" does not exist")
			return
		}
		r.RemoteGroup = rg
	}
	for _, id := range sortedKeys(s.st.Rules) {
		if o := s.st.Rules[id]; sameRule(o, r) {
			c.neutron(http.StatusConflict, "SecurityGroupRuleExists", "Security group rule already exists. Rule id is "+o.ID+".")
			return
		}
	}
	r.ID, r.Seq, r.Created = newUUID(), s.next(), s.now()
	s.st.Rules[r.ID] = r
	g.Revision++
	g.Updated = r.Created
	s.save()
	c.json(http.StatusCreated, map[string]any{"security_group_rule": s.ruleJSON(c, r)})
}

func sameRule(a, b *ruleRec) bool {
	eq := func(x, y *string) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	eqi := func(x, y *int) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	return a.Group == b.Group && a.Direction == b.Direction && a.EtherType == b.EtherType && eq(a.Protocol, b.Protocol) &&
		eqi(a.PortMin, b.PortMin) && eqi(a.PortMax, b.PortMax) && eq(a.RemoteIP, b.RemoteIP) && eq(a.RemoteGroup, b.RemoteGroup)
}

func (s *Server) deleteRule(c *call) {
	r := s.ruleOr404(c)
	if r == nil {
		return
	}
	delete(s.st.Rules, r.ID)
	if g := s.st.Groups[r.Group]; g != nil {
		g.Revision++
		g.Updated = s.now()
	}
	s.save()
	c.empty(http.StatusNoContent)
}

func itoa(n int) string { return strconv.Itoa(n) }
