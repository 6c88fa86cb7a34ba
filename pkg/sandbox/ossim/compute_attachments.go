package ossim

import (
	"net/http"
	"slices"
)

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
