package ossim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

func vmState(status string) (string, int) {
	switch status {
	case "BUILD":
		return "building", 0
	case "VERIFY_RESIZE":
		return "resized", 1
	case "SHUTOFF":
		return "stopped", 4
	}
	return "active", 1
}

func taskState(p phase) any {
	switch {
	case p.deleting():
		return "deleting"
	case p.Status == "BUILD":
		return "spawning"
	case p.Status == "RESIZE":
		return "resize_migrating"
	case p.Status == "REVERT_RESIZE":
		return "resize_reverting"
	}
	return nil
}

func (s *Server) serverJSON(c *call, sv *serverRec, detail bool) map[string]any {
	base := c.base()
	out := map[string]any{
		"id": sv.ID, "name": sv.Name,
		"links": []map[string]string{
			{"rel": "self", "href": base + "/compute/v2.1/servers/" + sv.ID},
			{"rel": "bookmark", "href": base + "/compute/servers/" + sv.ID},
		},
	}
	if !detail {
		return out
	}
	vm, power := vmState(sv.Phase.Status)
	var img any = ""
	if sv.Image != "" {
		img = map[string]any{"id": sv.Image, "links": []map[string]string{{"rel": "bookmark", "href": base + "/compute/images/" + sv.Image}}}
	}
	var flavor any = map[string]any{"id": sv.Flavor, "links": []map[string]string{{"rel": "bookmark", "href": base + "/compute/flavors/" + sv.Flavor}}}
	if f := s.flavor(sv.Flavor); f != nil && c.mv.atLeast(47) {
		flavor = map[string]any{"original_name": f.Name, "vcpus": f.VCPU, "ram": ramMB(f), "disk": f.DiskGB, "ephemeral": 0, "swap": 0, "extra_specs": map[string]string{}}
	}
	addresses := map[string]any{}
	if sv.Phase.Status != "BUILD" {
		var addrs []map[string]any
		for _, pid := range sv.Ports {
			if p := s.st.Ports[pid]; p != nil {
				addrs = append(addrs,
					map[string]any{"version": 4, "addr": p.IPv4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": p.MAC},
					map[string]any{"version": 6, "addr": p.IPv6, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": p.MAC})
			}
		}
		if len(addrs) > 0 {
			addresses[publicNetworkName] = addrs
		}
	}
	groups := []map[string]string{}
	for _, g := range sv.SecurityGroups {
		groups = append(groups, map[string]string{"name": g})
	}
	vols := []map[string]any{}
	for _, a := range sv.Volumes {
		v := map[string]any{"id": a.Volume}
		if c.mv.atLeast(3) {
			v["delete_on_termination"] = a.DeleteOnTermination
		}
		vols = append(vols, v)
	}
	var launched any
	if !sv.Launched.IsZero() {
		launched = micro(sv.Launched)
	}
	progress := 0
	if sv.Phase.Status == "ACTIVE" {
		progress = 100
	}
	hostID := sha256.Sum224([]byte(c.tok.Project + "/sandbox-host"))
	meta := sv.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	var keyName any
	if sv.KeyName != "" {
		keyName = sv.KeyName
	}
	more := map[string]any{
		"status": sv.Phase.Status, "tenant_id": c.tok.Project, "user_id": c.tok.User, "metadata": meta,
		"hostId": hex.EncodeToString(hostID[:]), "image": img, "flavor": flavor,
		"created": isoZ(sv.Created), "updated": isoZ(sv.Updated), "addresses": addresses,
		"accessIPv4": "", "accessIPv6": "", "key_name": keyName, "config_drive": "", "progress": progress,
		"OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": "nova",
		"OS-EXT-STS:vm_state": vm, "OS-EXT-STS:power_state": power, "OS-EXT-STS:task_state": taskState(sv.Phase),
		"OS-SRV-USG:launched_at": launched, "OS-SRV-USG:terminated_at": nil,
		"os-extended-volumes:volumes_attached": vols, "security_groups": groups,
	}
	if len(groups) == 0 {
		delete(more, "security_groups")
	}
	for k, v := range more {
		out[k] = v
	}
	if c.mv.atLeast(9) {
		out["locked"] = false
	}
	if c.mv.atLeast(26) {
		out["tags"] = []string{}
	}
	return out
}

func (s *Server) listServers(c *call) {
	detail := strings.HasSuffix(c.r.URL.Path, "/detail")
	q := c.r.URL.Query()
	var name *regexp.Regexp
	if v := q.Get("name"); v != "" {
		re, err := regexp.Compile(v)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(v))
		}
		name = re
	}
	var all []*serverRec
	for _, sv := range s.st.Servers {
		if name != nil && !name.MatchString(sv.Name) {
			continue
		}
		if st := q.Get("status"); st != "" && !strings.EqualFold(st, sv.Phase.Status) {
			continue
		}
		if f := q.Get("flavor"); f != "" && f != sv.Flavor {
			continue
		}
		if im := q.Get("image"); im != "" && im != sv.Image {
			continue
		}
		all = append(all, sv)
	}
	// Nova lists the newest first.
	slices.SortFunc(all, func(a, b *serverRec) int { return int(b.Seq - a.Seq) })
	ids := make([]string, len(all))
	for i, sv := range all {
		ids[i] = sv.ID
	}
	ids, next, ok := c.page(ids)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, id := range ids {
		out = append(out, s.serverJSON(c, s.st.Servers[id], detail))
	}
	body := map[string]any{"servers": out}
	if next != "" {
		body["servers_links"] = links(next)
	}
	c.json(http.StatusOK, body)
}

func (s *Server) serverOr404(c *call) *serverRec {
	sv := s.st.Servers[c.r.PathValue("id")]
	if sv == nil {
		c.failf(http.StatusNotFound, "Instance %s could not be found.", c.r.PathValue("id"))
	}
	return sv
}

func (s *Server) getServer(c *call) {
	if sv := s.serverOr404(c); sv != nil {
		c.json(http.StatusOK, map[string]any{"server": s.serverJSON(c, sv, true)})
	}
}

// blockDevice is one entry of block_device_mapping_v2.

func (s *Server) deleteServer(c *call) {
	sv := s.serverOr404(c)
	if sv == nil {
		return
	}
	if !sv.Phase.deleting() {
		sv.Phase.set(sv.Phase.Status, gone, s.opts.Timing.ServerDelete, s.now())
		s.save()
		if s.opts.Machines != nil {
			if err := s.opts.Machines.Halt(c.r.Context(), sv.ID); err != nil {
				s.logf("server %s: stopping its machine: %v", sv.ID, err)
			}
		}
	}
	c.empty(http.StatusNoContent)
}

// conflict answers Nova's 409 for an action the server's state forbids.
func conflict(c *call, sv *serverRec, action string) {
	vm, _ := vmState(sv.Phase.Status)
	if t, ok := taskState(sv.Phase).(string); ok {
		c.failf(http.StatusConflict, "Cannot '%s' instance %s while it is in task_state %s", action, sv.ID, t)
		return
	}
	c.failf(http.StatusConflict, "Cannot '%s' instance %s while it is in vm_state %s", action, sv.ID, vm)
}

func (s *Server) serverAction(c *call) {
	sv := s.serverOr404(c)
	if sv == nil {
		return
	}
	var body map[string]json.RawMessage
	if !c.decode(&body) {
		return
	}
	if len(body) != 1 {
		c.fail(http.StatusBadRequest, "Malformed request body")
		return
	}
	now := s.now()
	for action, raw := range body {
		switch action {
		case "resize":
			var r struct {
				FlavorRef string `json:"flavorRef"`
			}
			json.Unmarshal(raw, &r)
			if sv.Phase.Next != "" || sv.Phase.Status != "ACTIVE" && sv.Phase.Status != "SHUTOFF" {
				conflict(c, sv, "resize")
				return
			}
			f := s.flavor(flavorID(r.FlavorRef))
			if f == nil {
				c.fail(http.StatusBadRequest, "Unable to locate requested flavor.")
				return
			}
			if f.Name == sv.Flavor {
				c.fail(http.StatusBadRequest, "When resizing, instances must change flavor!")
				return
			}
			old := s.flavor(sv.Flavor)
			_, cores, ram := s.usage()
			q := s.quotas()
			if old != nil && cores-old.VCPU+f.VCPU > q.Cores {
				c.failf(http.StatusForbidden, "Quota exceeded for cores: Requested %d, but already used %d of %d cores", f.VCPU-old.VCPU, cores, q.Cores)
				return
			}
			if old != nil && ram-ramMB(old)+ramMB(f) > q.RAMMB {
				c.failf(http.StatusForbidden, "Quota exceeded for ram: Requested %d, but already used %d of %d ram", ramMB(f)-ramMB(old), ram, q.RAMMB)
				return
			}
			sv.OldFlavor, sv.Flavor = sv.Flavor, f.Name
			sv.Phase.set("RESIZE", "VERIFY_RESIZE", s.opts.Timing.ServerResize, now)
		case "confirmResize":
			if sv.Phase.Status != "VERIFY_RESIZE" || sv.Phase.Next != "" {
				conflict(c, sv, "confirmResize")
				return
			}
			sv.OldFlavor, sv.Phase = "", phase{Status: "ACTIVE"}
			sv.Updated = now
			s.save()
			c.empty(http.StatusNoContent)
			return
		case "revertResize":
			if sv.Phase.Status != "VERIFY_RESIZE" || sv.Phase.Next != "" {
				conflict(c, sv, "revertResize")
				return
			}
			sv.Phase.set("REVERT_RESIZE", "ACTIVE", s.opts.Timing.ServerResize, now)
		case "os-stop":
			if sv.Phase.Next != "" || sv.Phase.Status != "ACTIVE" {
				conflict(c, sv, "stop")
				return
			}
			sv.Phase = phase{Status: "SHUTOFF"}
		case "os-start":
			if sv.Phase.Next != "" || sv.Phase.Status != "SHUTOFF" {
				conflict(c, sv, "start")
				return
			}
			sv.Phase = phase{Status: "ACTIVE"}
		case "reboot":
			if sv.Phase.Next != "" || sv.Phase.Status != "ACTIVE" && sv.Phase.Status != "SHUTOFF" {
				conflict(c, sv, "reboot")
				return
			}
			sv.Phase = phase{Status: "ACTIVE"}
		default:
			c.failf(http.StatusBadRequest, "There is no such action: %s", action)
			return
		}
	}
	sv.Updated = now
	s.save()
	c.empty(http.StatusAccepted)
}

// Volume attachments, as Nova shows them.
