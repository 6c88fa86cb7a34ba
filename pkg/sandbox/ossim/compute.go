package ossim

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cosocial/cosocial/pkg/catalog"
)

func (s *Server) computeRoutes(mux *http.ServeMux) {
	rs := routeSet{mux, s, compute}
	rs.open("GET /compute", s.computeVersions)
	rs.open("GET /compute/{$}", s.computeVersions)
	rs.open("GET /compute/v2.1", s.computeVersion)
	rs.open("GET /compute/v2.1/{$}", s.computeVersion)
	const p = "/compute/v2.1"
	rs.api("GET "+p+"/flavors", s.listFlavors)
	rs.api("GET "+p+"/flavors/detail", s.listFlavors)
	rs.api("GET "+p+"/flavors/{id}", s.getFlavor)
	rs.api("GET "+p+"/limits", s.limits)
	rs.api("GET "+p+"/os-keypairs", s.listKeypairs)
	rs.api("POST "+p+"/os-keypairs", s.createKeypair)
	rs.api("GET "+p+"/os-keypairs/{name}", s.getKeypair)
	rs.api("DELETE "+p+"/os-keypairs/{name}", s.deleteKeypair)
	rs.api("GET "+p+"/servers", s.listServers)
	rs.api("GET "+p+"/servers/detail", s.listServers)
	rs.api("POST "+p+"/servers", s.createServer)
	rs.api("GET "+p+"/servers/{id}", s.getServer)
	rs.api("DELETE "+p+"/servers/{id}", s.deleteServer)
	rs.api("POST "+p+"/servers/{id}/action", s.serverAction)
	rs.api("GET "+p+"/servers/{id}/os-volume_attachments", s.listAttachments)
	rs.api("POST "+p+"/servers/{id}/os-volume_attachments", s.attachVolume)
	rs.api("GET "+p+"/servers/{id}/os-volume_attachments/{vid}", s.getAttachment)
	rs.api("DELETE "+p+"/servers/{id}/os-volume_attachments/{vid}", s.detachVolume)
	rs.open("/compute/", func(c *call) { c.fail(http.StatusNotFound, "The resource could not be found.") })
}

func (c *call) novaVersionJSON() map[string]any {
	return map[string]any{
		"id": "v2.1", "status": "CURRENT", "version": novaMax.String(), "min_version": novaMin.String(), "updated": "2013-07-23T11:33:21Z",
		"links":       []map[string]string{{"rel": "self", "href": c.base() + "/compute/v2.1/"}},
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}},
	}
}

func (s *Server) computeVersions(c *call) {
	c.json(http.StatusOK, map[string]any{"versions": []any{c.novaVersionJSON()}})
}

func (s *Server) computeVersion(c *call) {
	c.json(http.StatusOK, map[string]any{"version": c.novaVersionJSON()})
}

// Quotas are the project's limits.
type Quotas struct {
	Instances int
	Cores     int
	RAMMB     int
	Keypairs  int
	Volumes   int
	Gigabytes int
}

// DefaultQuotas are Nova's and Cinder's defaults, with room for the
// largest database volume the catalog allows.
var DefaultQuotas = Quotas{Instances: 10, Cores: 20, RAMMB: 51200, Keypairs: 100, Volumes: 10, Gigabytes: 10000}

// flavor finds a flavor of the region by ID. The simulator's flavor IDs
// are their names, which Nova allows and some clouds do.
func (s *Server) flavor(id string) *catalog.Flavor { return s.region.Flavor(id) }

func ramMB(f *catalog.Flavor) int { return int(f.RAMGB * 1024) }

func (c *call) flavorJSON(f *catalog.Flavor, detail bool) map[string]any {
	out := map[string]any{
		"id": f.Name, "name": f.Name,
		"links": []map[string]string{
			{"rel": "self", "href": c.base() + "/compute/v2.1/flavors/" + f.Name},
			{"rel": "bookmark", "href": c.base() + "/compute/flavors/" + f.Name},
		},
	}
	if c.mv.atLeast(55) {
		out["description"] = nil
	}
	if detail {
		out["ram"], out["vcpus"], out["disk"] = ramMB(f), f.VCPU, f.DiskGB
		out["OS-FLV-EXT-DATA:ephemeral"], out["OS-FLV-DISABLED:disabled"], out["os-flavor-access:is_public"] = 0, false, true
		out["rxtx_factor"] = 1.0
		if c.mv.atLeast(75) {
			out["swap"] = 0
		} else {
			out["swap"] = ""
		}
		if c.mv.atLeast(61) {
			out["extra_specs"] = map[string]string{}
		}
	}
	return out
}

func (s *Server) listFlavors(c *call) {
	detail := strings.HasSuffix(c.r.URL.Path, "/detail")
	var ids []string
	for _, f := range s.region.Flavors {
		ids = append(ids, f.Name)
	}
	ids, next, ok := c.page(ids)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, id := range ids {
		out = append(out, c.flavorJSON(s.flavor(id), detail))
	}
	c.json(http.StatusOK, map[string]any{"flavors": out, "flavors_links": links(next)})
}

func (s *Server) getFlavor(c *call) {
	f := s.flavor(c.r.PathValue("id"))
	if f == nil {
		c.failf(http.StatusNotFound, "Flavor %s could not be found.", c.r.PathValue("id"))
		return
	}
	c.json(http.StatusOK, map[string]any{"flavor": c.flavorJSON(f, true)})
}

// usage counts what the project's servers take from its quotas.
func (s *Server) usage() (instances, cores, ram int) {
	for _, sv := range s.st.Servers {
		instances++
		if f := s.flavor(sv.Flavor); f != nil {
			cores += f.VCPU
			ram += ramMB(f)
		}
	}
	return
}

func (s *Server) limits(c *call) {
	q := s.quotas()
	instances, cores, ram := s.usage()
	c.json(http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": map[string]any{
		"maxTotalInstances": q.Instances, "maxTotalCores": q.Cores, "maxTotalRAMSize": q.RAMMB, "maxTotalKeypairs": q.Keypairs,
		"maxServerMeta": 128, "maxImageMeta": 128, "maxPersonality": 5, "maxPersonalitySize": 10240,
		"maxServerGroups": 10, "maxServerGroupMembers": 10, "maxSecurityGroups": -1, "maxSecurityGroupRules": -1,
		"maxTotalFloatingIps": -1, "totalFloatingIpsUsed": 0, "totalSecurityGroupsUsed": 0, "totalServerGroupsUsed": 0,
		"totalInstancesUsed": instances, "totalCoresUsed": cores, "totalRAMUsed": ram,
	}}})
}

// Keypairs.

var keypairName = regexp.MustCompile(`^[a-zA-Z0-9 _.@-]{1,255}$`)

func (c *call) keypairJSON(k *keypairRec, full bool) map[string]any {
	out := map[string]any{"name": k.Name, "public_key": k.PublicKey, "fingerprint": k.Fingerprint}
	if c.mv.atLeast(2) {
		out["type"] = k.Type
	}
	if full {
		out["user_id"], out["id"], out["deleted"] = c.tok.User, k.ID, false
		out["created_at"], out["updated_at"], out["deleted_at"] = micro(k.Created), nil, nil
	}
	return out
}

func (s *Server) listKeypairs(c *call) {
	names, next, ok := c.page(sortedKeys(s.st.Keypairs))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, n := range names {
		out = append(out, map[string]any{"keypair": c.keypairJSON(s.st.Keypairs[n], false)})
	}
	body := map[string]any{"keypairs": out}
	if c.mv.atLeast(35) {
		body["keypairs_links"] = links(next)
	}
	c.json(http.StatusOK, body)
}

func (s *Server) createKeypair(c *call) {
	var body struct {
		Keypair *struct {
			Name      string `json:"name"`
			PublicKey string `json:"public_key"`
			Type      string `json:"type"`
			UserID    string `json:"user_id"`
		} `json:"keypair"`
	}
	if !c.decode(&body) {
		return
	}
	k := body.Keypair
	switch {
	case k == nil:
		c.fail(http.StatusBadRequest, "Invalid input for field/attribute keypair. Value: None. 'keypair' is a required property")
		return
	case !keypairName.MatchString(k.Name):
		c.fail(http.StatusBadRequest, "Keypair data is invalid: Keypair name contains unsafe characters")
		return
	case s.st.Keypairs[k.Name] != nil:
		c.failf(http.StatusConflict, "Key pair '%s' already exists.", k.Name)
		return
	case len(s.st.Keypairs) >= s.quotas().Keypairs:
		c.fail(http.StatusForbidden, "Quota exceeded, too many key pairs.")
		return
	case k.Type != "" && k.Type != "ssh":
		c.failf(http.StatusBadRequest, "Keypair data is invalid: key type %s is not simulated (ssh only)", k.Type)
		return
	case k.UserID != "" && k.UserID != c.tok.User:
		c.fail(http.StatusForbidden, "Policy doesn't allow os_compute_api:os-keypairs:create to be performed.")
		return
	case k.PublicKey == "" && c.mv.atLeast(92):
		c.fail(http.StatusBadRequest, "Invalid input for field/attribute keypair. Value: None. 'public_key' is a required property")
		return
	}
	rec := &keypairRec{ID: s.next(), Name: k.Name, Type: "ssh", Created: s.now()}
	private := ""
	if k.PublicKey == "" {
		// Nova makes the pair and shows the private key this once.
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			c.fail(http.StatusInternalServerError, "Unexpected API Error.")
			return
		}
		pub, _ := ssh.NewPublicKey(&key.PublicKey)
		rec.PublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " Generated-by-Nova"
		rec.Fingerprint = ssh.FingerprintLegacyMD5(pub)
		private = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	} else {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey))
		if err != nil {
			c.fail(http.StatusBadRequest, "Keypair data is invalid: failed to generate fingerprint")
			return
		}
		rec.PublicKey, rec.Fingerprint = k.PublicKey, ssh.FingerprintLegacyMD5(pub)
	}
	s.st.Keypairs[rec.Name] = rec
	s.save()
	out := c.keypairJSON(rec, false)
	out["user_id"] = c.tok.User
	if private != "" {
		out["private_key"] = private
	}
	code := http.StatusOK
	if c.mv.atLeast(2) {
		code = http.StatusCreated
	}
	c.json(code, map[string]any{"keypair": out})
}

func (s *Server) keypairOr404(c *call) *keypairRec {
	k := s.st.Keypairs[c.r.PathValue("name")]
	if k == nil {
		c.failf(http.StatusNotFound, "Keypair %s not found for user %s", c.r.PathValue("name"), c.tok.User)
	}
	return k
}

func (s *Server) getKeypair(c *call) {
	if k := s.keypairOr404(c); k != nil {
		c.json(http.StatusOK, map[string]any{"keypair": c.keypairJSON(k, true)})
	}
}

func (s *Server) deleteKeypair(c *call) {
	k := s.keypairOr404(c)
	if k == nil {
		return
	}
	delete(s.st.Keypairs, k.Name)
	s.save()
	if c.mv.atLeast(2) {
		c.empty(http.StatusNoContent)
	} else {
		c.empty(http.StatusAccepted)
	}
}

// Servers.

// vmState is Nova's vm_state and power_state behind each status.
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
type blockDevice struct {
	SourceType          string          `json:"source_type"`
	DestinationType     string          `json:"destination_type"`
	UUID                string          `json:"uuid"`
	BootIndex           json.RawMessage `json:"boot_index"`
	VolumeSize          int             `json:"volume_size"`
	DeleteOnTermination bool            `json:"delete_on_termination"`
	Tag                 string          `json:"tag"`
	VolumeType          string          `json:"volume_type"`
}

// bootIndex reads boot_index: a number (or a string holding one), and -1
// for none or a negative one, which means not bootable.
func (b blockDevice) bootIndex() int {
	var v any
	if json.Unmarshal(b.BootIndex, &v) != nil {
		return -1
	}
	switch t := v.(type) {
	case float64:
		return int(t)
	case string:
		if n, err := strconv.Atoi(t); err == nil {
			return n
		}
	}
	return -1
}

type createServerBody struct {
	Server *struct {
		Name           string            `json:"name"`
		FlavorRef      string            `json:"flavorRef"`
		ImageRef       string            `json:"imageRef"`
		KeyName        string            `json:"key_name"`
		UserData       *string           `json:"user_data"`
		Metadata       map[string]string `json:"metadata"`
		SecurityGroups []struct {
			Name string `json:"name"`
		} `json:"security_groups"`
		Networks    json.RawMessage `json:"networks"`
		BlockDevice []blockDevice   `json:"block_device_mapping_v2"`
		MinCount    int             `json:"min_count"`
		MaxCount    int             `json:"max_count"`
	} `json:"server"`
}

// plannedVolume is a volume a server create makes or takes.
type plannedVolume struct {
	existing *volumeRec
	size     int
	image    string
	att      attachment
}

func (s *Server) createServer(c *call) {
	var body createServerBody
	if !c.decode(&body) {
		return
	}
	req := body.Server
	if req == nil {
		c.fail(http.StatusBadRequest, "Invalid input for field/attribute server. Value: None. 'server' is a required property")
		return
	}
	if strings.TrimSpace(req.Name) == "" || len(req.Name) > 255 {
		c.failf(http.StatusBadRequest, "Invalid input for field/attribute name. Value: %s. '%s' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'", req.Name, req.Name)
		return
	}
	if req.MinCount > 1 || req.MaxCount > 1 {
		c.fail(http.StatusBadRequest, "Creating several servers in one request is not simulated: send min_count and max_count of 1.")
		return
	}
	f := s.flavor(flavorID(req.FlavorRef))
	if f == nil {
		c.failf(http.StatusBadRequest, "Flavor %s could not be found.", flavorID(req.FlavorRef))
		return
	}
	planned, imageRef, ok := s.planVolumes(c, req.ImageRef, req.BlockDevice)
	if !ok {
		return
	}
	if imageRef != "" && f.DiskGB == 0 {
		c.fail(http.StatusForbidden, "Only volume-backed servers are allowed for flavors with zero disk.")
		return
	}
	if req.KeyName != "" && s.st.Keypairs[req.KeyName] == nil {
		c.fail(http.StatusBadRequest, "Invalid key_name provided.")
		return
	}
	if req.UserData != nil {
		raw, err := base64.StdEncoding.DecodeString(*req.UserData)
		if err != nil {
			c.fail(http.StatusBadRequest, "User data needs to be valid base 64.")
			return
		}
		if len(*req.UserData) > 65535 {
			c.failf(http.StatusBadRequest, "User data too large. User data must be no larger than 65535 bytes once base64 encoded. Your data is %d bytes", len(raw))
			return
		}
	}
	groupNames := []string{}
	var groupIDs []string
	for _, g := range req.SecurityGroups {
		grp := s.groupByNameOrID(g.Name)
		if grp == nil {
			c.failf(http.StatusBadRequest, "Unable to find security_group with name or id '%s'", g.Name)
			return
		}
		groupNames, groupIDs = append(groupNames, g.Name), append(groupIDs, grp.ID)
	}
	if len(groupIDs) == 0 {
		groupNames, groupIDs = []string{"default"}, []string{stableID("security-group", s.ProjectID(), "default")}
	}
	withPort, ok := s.networks(c, req.Networks)
	if !ok {
		return
	}
	q := s.quotas()
	instances, cores, ram := s.usage()
	switch {
	case instances+1 > q.Instances:
		c.failf(http.StatusForbidden, "Quota exceeded for instances: Requested 1, but already used %d of %d instances", instances, q.Instances)
		return
	case cores+f.VCPU > q.Cores:
		c.failf(http.StatusForbidden, "Quota exceeded for cores: Requested %d, but already used %d of %d cores", f.VCPU, cores, q.Cores)
		return
	case ram+ramMB(f) > q.RAMMB:
		c.failf(http.StatusForbidden, "Quota exceeded for ram: Requested %d, but already used %d of %d ram", ramMB(f), ram, q.RAMMB)
		return
	}
	newGB, newCount := 0, 0
	for _, p := range planned {
		if p.existing == nil {
			newGB, newCount = newGB+p.size, newCount+1
		}
	}
	if !s.volumeQuota(c, newCount, newGB) {
		return
	}

	now := s.now()
	sv := &serverRec{
		ID: newUUID(), Seq: s.next(), Name: req.Name, Flavor: f.Name, Image: imageRef, KeyName: req.KeyName,
		SecurityGroups: groupNames, HasUserData: req.UserData != nil, Metadata: req.Metadata,
		Created: now, Updated: now, Ports: []string{}, Volumes: []attachment{},
	}
	sv.Phase.set("BUILD", "ACTIVE", s.opts.Timing.ServerBuild, now)
	for _, p := range planned {
		v := p.existing
		if v == nil {
			v = &volumeRec{ID: newUUID(), Seq: s.next(), Size: p.size, Image: p.image, Created: now, Metadata: map[string]string{}}
			// A volume Nova makes for a server is ready when the server is.
			v.Phase.set("creating", "in-use", min(s.opts.Timing.VolumeCreate, s.opts.Timing.ServerBuild), now)
			s.st.Volumes[v.ID] = v
		} else {
			v.Phase.set("attaching", "in-use", s.opts.Timing.VolumeChange, now)
		}
		v.Attachment = &volAttachment{ID: newUUID(), Server: sv.ID, Device: p.att.Device, Attached: now}
		p.att.Volume = v.ID
		sv.Volumes = append(sv.Volumes, p.att)
	}
	if withPort {
		n := s.next()
		port := &portRec{
			ID: newUUID(), Seq: n, Server: sv.ID, SecurityGroups: groupIDs, Created: now,
			MAC:  fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", byte(n>>16), byte(n>>8), byte(n)),
			IPv4: fmt.Sprintf("203.0.113.%d", 2+n%250), IPv6: fmt.Sprintf("2001:db8:ca:1::%x", n),
		}
		if n >= 250 {
			port.IPv4 = fmt.Sprintf("198.51.100.%d", 2+n%250)
		}
		s.st.Ports[port.ID] = port
		sv.Ports = append(sv.Ports, port.ID)
	}
	s.st.Servers[sv.ID] = sv
	s.save()
	out := s.serverJSON(c, sv, false)
	out["OS-DCF:diskConfig"] = "MANUAL"
	out["adminPass"] = adminPass()
	sg := []map[string]string{}
	for _, g := range groupNames {
		sg = append(sg, map[string]string{"name": g})
	}
	out["security_groups"] = sg
	c.w.Header().Set("Location", c.base()+"/compute/v2.1/servers/"+sv.ID)
	c.json(http.StatusAccepted, map[string]any{"server": out})
}

// flavorID reads a flavorRef, which may be an ID or a flavor's URL.
func flavorID(ref string) string {
	if i := strings.LastIndex(ref, "/flavors/"); i >= 0 {
		return ref[i+len("/flavors/"):]
	}
	return ref
}

// planVolumes checks block_device_mapping_v2 and says which volumes the
// server gets, and which image it boots from its own disk ("" when it
// boots from a volume).
func (s *Server) planVolumes(c *call, imageRef string, bdms []blockDevice) ([]plannedVolume, string, bool) {
	if imageRef != "" && findImage(imageRef) == nil {
		c.failf(http.StatusBadRequest, "Image %s could not be found.", imageRef)
		return nil, "", false
	}
	var planned []plannedVolume
	bootFromVolume := false
	devices := 0
	device := func(boot bool) string {
		if boot {
			return "/dev/vda"
		}
		devices++
		return "/dev/vd" + string(rune('a'+devices))
	}
	for _, b := range bdms {
		boot := b.bootIndex() == 0
		dest := b.DestinationType
		if dest == "" {
			dest = "local"
			if b.SourceType == "volume" {
				dest = "volume"
			}
		}
		switch {
		case b.SourceType == "image" && dest == "local":
			if !boot || findImage(b.UUID) == nil || imageRef != "" && imageRef != b.UUID {
				c.fail(http.StatusBadRequest, "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.")
				return nil, "", false
			}
			imageRef = b.UUID
		case b.SourceType == "image" && dest == "volume":
			im := findImage(b.UUID)
			if im == nil {
				c.failf(http.StatusBadRequest, "Image %s could not be found.", b.UUID)
				return nil, "", false
			}
			if b.VolumeSize <= 0 {
				c.fail(http.StatusBadRequest, "Images with destination_type 'volume' need to have a non-zero size specified")
				return nil, "", false
			}
			if b.VolumeSize < im.MinDisk {
				c.failf(http.StatusBadRequest, "Volume is smaller than the minimum size specified in image metadata. Volume size is %d bytes, minimum size is %d bytes.", b.VolumeSize<<30, im.MinDisk<<30)
				return nil, "", false
			}
			if !s.volumeType(c, b.VolumeType) {
				return nil, "", false
			}
			planned = append(planned, plannedVolume{size: b.VolumeSize, image: b.UUID, att: attachment{Device: device(boot), DeleteOnTermination: b.DeleteOnTermination, Tag: b.Tag}})
			bootFromVolume = bootFromVolume || boot
		case b.SourceType == "blank" && dest == "volume":
			if b.VolumeSize <= 0 {
				c.fail(http.StatusBadRequest, "Blank volumes need to have a non-zero size specified")
				return nil, "", false
			}
			if !s.volumeType(c, b.VolumeType) {
				return nil, "", false
			}
			planned = append(planned, plannedVolume{size: b.VolumeSize, att: attachment{Device: device(boot), DeleteOnTermination: b.DeleteOnTermination, Tag: b.Tag}})
			bootFromVolume = bootFromVolume || boot
		case b.SourceType == "volume" && dest == "volume":
			v := s.st.Volumes[b.UUID]
			if v == nil {
				c.failf(http.StatusBadRequest, "Block Device Mapping is Invalid: failed to get volume %s.", b.UUID)
				return nil, "", false
			}
			if v.Phase.Status != "available" || v.Phase.Next != "" {
				c.failf(http.StatusBadRequest, "Invalid volume: Volume %s status must be available or downloading to reserve, but the current status is %s.", v.ID, v.Phase.Status)
				return nil, "", false
			}
			planned = append(planned, plannedVolume{existing: v, att: attachment{Device: device(boot), DeleteOnTermination: b.DeleteOnTermination, Tag: b.Tag}})
			bootFromVolume = bootFromVolume || boot
		default:
			c.failf(http.StatusBadRequest, "Block Device Mapping is Invalid: source_type %q with destination_type %q is not simulated.", b.SourceType, dest)
			return nil, "", false
		}
	}
	if bootFromVolume {
		imageRef = ""
	}
	if imageRef == "" && !bootFromVolume {
		c.fail(http.StatusBadRequest, "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.")
		return nil, "", false
	}
	// The boot volume comes first, as /dev/vda.
	slices.SortStableFunc(planned, func(a, b plannedVolume) int { return strings.Compare(a.att.Device, b.att.Device) })
	return planned, imageRef, true
}

// networks reads a create's networks: "auto", "none", or a list naming
// the public network, the only one; required from microversion 2.37.
// It says whether the server gets a port.
func (s *Server) networks(c *call, raw json.RawMessage) (bool, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		if c.mv.atLeast(37) {
			c.fail(http.StatusBadRequest, "Invalid input for field/attribute server. Value: {...}. 'networks' is a required property")
			return false, false
		}
		return true, true
	}
	var word string
	if json.Unmarshal(raw, &word) == nil {
		switch word {
		case "auto":
			return true, true
		case "none":
			return false, true
		}
		c.failf(http.StatusBadRequest, "Invalid input for field/attribute networks. Value: %s. %q is not one of ['none', 'auto']", word, word)
		return false, false
	}
	var list []struct {
		UUID string `json:"uuid"`
		Port string `json:"port"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		c.fail(http.StatusBadRequest, "Invalid input for field/attribute networks: "+err.Error())
		return false, false
	}
	for _, n := range list {
		if n.Port != "" {
			c.failf(http.StatusBadRequest, "Port %s could not be found.", n.Port)
			return false, false
		}
		if n.UUID != publicNetworkID {
			c.failf(http.StatusBadRequest, "Network %s could not be found.", n.UUID)
			return false, false
		}
	}
	return len(list) > 0, true
}

func (s *Server) deleteServer(c *call) {
	sv := s.serverOr404(c)
	if sv == nil {
		return
	}
	if !sv.Phase.deleting() {
		sv.Phase.set(sv.Phase.Status, gone, s.opts.Timing.ServerDelete, s.now())
		s.save()
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

func (c *call) attachmentJSON(sv *serverRec, a attachment) map[string]any {
	out := map[string]any{"volumeId": a.Volume, "serverId": sv.ID, "device": a.Device}
	if !c.mv.atLeast(89) {
		out["id"] = a.Volume
	}
	if c.mv.atLeast(70) {
		out["tag"] = nil
		if a.Tag != "" {
			out["tag"] = a.Tag
		}
	}
	if c.mv.atLeast(79) {
		out["delete_on_termination"] = a.DeleteOnTermination
	}
	return out
}

func (s *Server) listAttachments(c *call) {
	sv := s.serverOr404(c)
	if sv == nil {
		return
	}
	out := []map[string]any{}
	for _, a := range sv.Volumes {
		out = append(out, c.attachmentJSON(sv, a))
	}
	c.json(http.StatusOK, map[string]any{"volumeAttachments": out})
}

func (s *Server) attachVolume(c *call) {
	sv := s.serverOr404(c)
	if sv == nil {
		return
	}
	var body struct {
		VolumeAttachment *struct {
			VolumeID            string `json:"volumeId"`
			Device              string `json:"device"`
			Tag                 string `json:"tag"`
			DeleteOnTermination bool   `json:"delete_on_termination"`
		} `json:"volumeAttachment"`
	}
	if !c.decode(&body) {
		return
	}
	req := body.VolumeAttachment
	if req == nil || req.VolumeID == "" {
		c.fail(http.StatusBadRequest, "Invalid input for field/attribute volumeAttachment. Value: None. 'volumeId' is a required property")
		return
	}
	if sv.Phase.Next != "" || sv.Phase.Status != "ACTIVE" && sv.Phase.Status != "SHUTOFF" {
		conflict(c, sv, "attach_volume")
		return
	}
	v := s.st.Volumes[req.VolumeID]
	if v == nil {
		c.failf(http.StatusNotFound, "Volume %s could not be found.", req.VolumeID)
		return
	}
	if v.Phase.Status != "available" || v.Phase.Next != "" {
		c.failf(http.StatusBadRequest, "Invalid volume: Volume %s status must be available or downloading to reserve, but the current status is %s.", v.ID, v.Phase.Status)
		return
	}
	used := map[string]bool{}
	for _, a := range sv.Volumes {
		used[a.Device] = true
	}
	dev := ""
	for l := 'b'; l <= 'z'; l++ {
		if d := "/dev/vd" + string(l); !used[d] {
			dev = d
			break
		}
	}
	if dev == "" {
		c.fail(http.StatusBadRequest, "No free disk device names for prefix 'vd'")
		return
	}
	now := s.now()
	a := attachment{Volume: v.ID, Device: dev, DeleteOnTermination: req.DeleteOnTermination, Tag: req.Tag}
	sv.Volumes = append(sv.Volumes, a)
	v.Attachment = &volAttachment{ID: newUUID(), Server: sv.ID, Device: dev, Attached: now}
	v.Phase.set("attaching", "in-use", s.opts.Timing.VolumeChange, now)
	v.Updated = now
	s.save()
	c.json(http.StatusOK, map[string]any{"volumeAttachment": c.attachmentJSON(sv, a)})
}

func (s *Server) attachmentOr404(c *call) (*serverRec, int) {
	sv := s.serverOr404(c)
	if sv == nil {
		return nil, -1
	}
	for i, a := range sv.Volumes {
		if a.Volume == c.r.PathValue("vid") {
			return sv, i
		}
	}
	c.failf(http.StatusNotFound, "Volume %s is not attached to %s", c.r.PathValue("vid"), sv.ID)
	return nil, -1
}

func (s *Server) getAttachment(c *call) {
	if sv, i := s.attachmentOr404(c); sv != nil {
		c.json(http.StatusOK, map[string]any{"volumeAttachment": c.attachmentJSON(sv, sv.Volumes[i])})
	}
}

func (s *Server) detachVolume(c *call) {
	sv, i := s.attachmentOr404(c)
	if sv == nil {
		return
	}
	a := sv.Volumes[i]
	if a.Device == "/dev/vda" && sv.Image == "" {
		c.fail(http.StatusBadRequest, "Cannot detach a root device volume")
		return
	}
	if sv.Phase.Next != "" || sv.Phase.Status != "ACTIVE" && sv.Phase.Status != "SHUTOFF" {
		conflict(c, sv, "detach_volume")
		return
	}
	v := s.st.Volumes[a.Volume]
	if v != nil && v.Phase.Next != "" {
		c.failf(http.StatusBadRequest, "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.")
		return
	}
	sv.Volumes = slices.Delete(sv.Volumes, i, i+1)
	if v != nil {
		v.Phase.set("detaching", "available", s.opts.Timing.VolumeChange, s.now())
		v.Updated = s.now()
	}
	s.save()
	c.empty(http.StatusAccepted)
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func adminPass() string {
	b := make([]byte, 9)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Images, shared by Glance and the services that take an imageRef.

type imageDef struct {
	Name, Distro, Version string
	MinDisk               int   // GB
	Size                  int64 // bytes of the qcow2 file
	Virtual               int64 // bytes once written to a disk
}

// images are the public images every simulated region offers.
var images = []imageDef{
	{Name: "Debian 12", Distro: "debian", Version: "12", MinDisk: 2, Size: 437_000_000, Virtual: 2 << 30},
	{Name: "Debian 11", Distro: "debian", Version: "11", MinDisk: 2, Size: 352_000_000, Virtual: 2 << 30},
	{Name: "Ubuntu 24.04", Distro: "ubuntu", Version: "24.04", MinDisk: 3, Size: 583_000_000, Virtual: 3584 << 20},
	{Name: "Ubuntu 22.04", Distro: "ubuntu", Version: "22.04", MinDisk: 3, Size: 651_000_000, Virtual: 2252 << 20},
}

func imageID(im *imageDef) string { return stableID("image", im.Name) }

func findImage(id string) *imageDef {
	if i := strings.LastIndex(id, "/images/"); i >= 0 {
		id = id[i+len("/images/"):]
	}
	for i := range images {
		if imageID(&images[i]) == id {
			return &images[i]
		}
	}
	return nil
}

func (im *imageDef) checksum() string {
	sum := md5.Sum([]byte(im.Name))
	return hex.EncodeToString(sum[:])
}

// imageEpoch is when the simulated images were uploaded.
var imageEpoch = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
