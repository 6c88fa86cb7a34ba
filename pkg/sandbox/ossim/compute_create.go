package ossim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

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
	if s.opts.Machines != nil && req.UserData != nil {
		raw, _ := base64.StdEncoding.DecodeString(*req.UserData)
		public := ""
		for _, id := range sv.Ports {
			public = s.st.Ports[id].IPv4
		}
		if err := s.opts.Machines.Boot(c.r.Context(), sv.ID, public, string(raw)); err != nil {
			s.logf("server %s: its machine: %v", sv.ID, err)
			for _, id := range sv.Ports {
				delete(s.st.Ports, id)
			}
			c.fail(http.StatusInternalServerError, "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.")
			return
		}
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
