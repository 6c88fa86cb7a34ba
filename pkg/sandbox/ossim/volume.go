package ossim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

func (s *Server) volumeRoutes(mux *http.ServeMux) {
	rs := routeSet{mux, s, volume}
	rs.open("GET /volume", s.volumeVersions)
	rs.open("GET /volume/{$}", s.volumeVersions)
	rs.open("GET /volume/v3", s.volumeVersions)
	rs.open("GET /volume/v3/{$}", s.volumeVersions)
	const p = "/volume/v3/{project}"
	// gophercloud asks the project's endpoint itself for its microversions.
	rs.open("GET "+p+"/{$}", s.volumeVersions)
	rs.api("GET "+p+"/volumes", s.listVolumes)
	rs.api("GET "+p+"/volumes/detail", s.listVolumes)
	rs.api("POST "+p+"/volumes", s.createVolume)
	rs.api("GET "+p+"/volumes/{id}", s.getVolume)
	rs.api("PUT "+p+"/volumes/{id}", s.updateVolume)
	rs.api("DELETE "+p+"/volumes/{id}", s.deleteVolume)
	rs.api("POST "+p+"/volumes/{id}/action", s.volumeAction)
	rs.api("GET "+p+"/limits", s.volumeLimits)
	rs.open("/volume/", func(c *call) { c.fail(http.StatusNotFound, "The resource could not be found.") })
}

func (s *Server) volumeVersions(c *call) {
	c.json(http.StatusOK, map[string]any{"versions": []map[string]any{{
		"id": "v3.0", "status": "CURRENT", "version": cinderMax.String(), "min_version": cinderMin.String(), "updated": "2023-08-31T00:00:00Z",
		"links":       []map[string]string{{"rel": "self", "href": c.base() + "/volume/v3/"}},
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}},
	}}})
}

// project checks the project in a Cinder URL: it must be the token's.
func (s *Server) project(c *call) bool {
	if c.r.PathValue("project") != c.tok.Project {
		c.fail(http.StatusBadRequest, "Malformed request url")
		return false
	}
	return true
}

// defaultVolumeType is the one volume type, as a new Cinder names it.
const defaultVolumeType = "__DEFAULT__"

func (s *Server) volumeType(c *call, name string) bool {
	if name != "" && name != defaultVolumeType {
		c.failf(http.StatusNotFound, "Volume type with name %s could not be found.", name)
		return false
	}
	return true
}

func (s *Server) quotas() Quotas {
	q, d := s.opts.Quotas, DefaultQuotas
	if q.Instances == 0 {
		q.Instances = d.Instances
	}
	if q.Cores == 0 {
		q.Cores = d.Cores
	}
	if q.RAMMB == 0 {
		q.RAMMB = d.RAMMB
	}
	if q.Keypairs == 0 {
		q.Keypairs = d.Keypairs
	}
	if q.Volumes == 0 {
		q.Volumes = d.Volumes
	}
	if q.Gigabytes == 0 {
		q.Gigabytes = d.Gigabytes
	}
	return q
}

func (s *Server) volumeUsage() (count, gb int) {
	for _, v := range s.st.Volumes {
		count++
		gb += max(v.Size, v.NewSize)
	}
	return
}

// volumeQuota answers Cinder's 413 when count more volumes of gb more
// gigabytes do not fit. Nova passes it on with Nova's fault key.
func (s *Server) volumeQuota(c *call, count, gb int) bool {
	q := s.quotas()
	used, usedGB := s.volumeUsage()
	switch {
	case used+count > q.Volumes:
		c.failf(http.StatusRequestEntityTooLarge, "VolumeLimitExceeded: Maximum number of volumes allowed (%d) exceeded for quota 'volumes'.", q.Volumes)
		return false
	case usedGB+gb > q.Gigabytes:
		c.failf(http.StatusRequestEntityTooLarge, "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested %dG, quota is %dG and %dG has been consumed.", gb, q.Gigabytes, usedGB)
		return false
	}
	return true
}

func (s *Server) volumeJSON(c *call, v *volumeRec, detail bool) map[string]any {
	self := c.base() + "/volume/v3/" + c.tok.Project + "/volumes/" + v.ID
	out := map[string]any{
		"id": v.ID, "name": v.Name,
		"links": []map[string]string{{"rel": "self", "href": self}, {"rel": "bookmark", "href": strings.Replace(self, "/v3/", "/", 1)}},
	}
	if !detail {
		return out
	}
	attachments := []map[string]any{}
	if a := v.Attachment; a != nil && v.Phase.Status != "attaching" {
		attachments = append(attachments, map[string]any{
			"id": v.ID, "attachment_id": a.ID, "volume_id": v.ID, "server_id": a.Server, "host_name": nil,
			"device": a.Device, "attached_at": micro(a.Attached),
		})
	}
	bootable := "false"
	if v.Image != "" {
		bootable = "true"
	}
	meta := v.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	more := map[string]any{
		"status": v.Phase.Status, "size": v.Size, "availability_zone": "nova", "description": v.Description,
		"created_at": micro(v.Created), "updated_at": microOrNull(v.Updated), "attachments": attachments,
		"volume_type": defaultVolumeType, "snapshot_id": nil, "source_volid": nil, "backup_id": nil, "metadata": meta,
		"user_id": c.tok.User, "bootable": bootable, "encrypted": false, "replication_status": nil, "consistencygroup_id": nil,
		"multiattach": false, "migration_status": nil, "os-vol-tenant-attr:tenant_id": c.tok.Project,
	}
	if v.Image != "" {
		if im := findImage(v.Image); im != nil {
			more["volume_image_metadata"] = map[string]string{"image_id": v.Image, "image_name": im.Name, "min_disk": itoa(im.MinDisk), "os_distro": im.Distro}
		}
	}
	if c.mv.atLeast(13) {
		more["group_id"] = nil
	}
	if c.mv.atLeast(48) {
		more["shared_targets"] = false
	}
	if c.mv.atLeast(63) {
		more["volume_type_id"] = stableID("volume-type", defaultVolumeType)
	}
	if c.mv.atLeast(65) {
		more["consumes_quota"] = true
	}
	for k, val := range more {
		out[k] = val
	}
	return out
}

func (s *Server) listVolumes(c *call) {
	if !s.project(c) {
		return
	}
	detail := strings.HasSuffix(c.r.URL.Path, "/detail")
	q := c.r.URL.Query()
	var all []*volumeRec
	for _, v := range s.st.Volumes {
		if n := q.Get("name"); n != "" && n != v.Name {
			continue
		}
		if st := q.Get("status"); st != "" && st != v.Phase.Status {
			continue
		}
		all = append(all, v)
	}
	// Cinder lists the newest first.
	slices.SortFunc(all, func(a, b *volumeRec) int { return int(b.Seq - a.Seq) })
	ids := make([]string, len(all))
	for i, v := range all {
		ids[i] = v.ID
	}
	ids, next, ok := c.page(ids)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, id := range ids {
		out = append(out, s.volumeJSON(c, s.st.Volumes[id], detail))
	}
	body := map[string]any{"volumes": out}
	if next != "" {
		body["volumes_links"] = links(next)
	}
	c.json(http.StatusOK, body)
}

func (s *Server) createVolume(c *call) {
	if !s.project(c) {
		return
	}
	var body struct {
		Volume *struct {
			Size        int               `json:"size"`
			Name        string            `json:"name"`
			Description string            `json:"description"`
			ImageRef    string            `json:"imageRef"`
			VolumeType  string            `json:"volume_type"`
			Metadata    map[string]string `json:"metadata"`
			SnapshotID  string            `json:"snapshot_id"`
			SourceVolID string            `json:"source_volid"`
			BackupID    string            `json:"backup_id"`
		} `json:"volume"`
	}
	if !c.decode(&body) {
		return
	}
	req := body.Volume
	switch {
	case req == nil:
		c.fail(http.StatusBadRequest, "Missing required element 'volume' in request body.")
		return
	case req.SnapshotID != "":
		c.failf(http.StatusNotFound, "Snapshot %s could not be found.", req.SnapshotID)
		return
	case req.BackupID != "":
		c.failf(http.StatusNotFound, "Backup %s could not be found.", req.BackupID)
		return
	case req.SourceVolID != "":
		c.fail(http.StatusBadRequest, "Cloning a volume is not simulated.")
		return
	case req.Size <= 0:
		c.failf(http.StatusBadRequest, "Invalid input for field/attribute size. Value: %d. %d is less than the minimum of 1", req.Size, req.Size)
		return
	}
	if !s.volumeType(c, req.VolumeType) {
		return
	}
	if req.ImageRef != "" {
		im := findImage(req.ImageRef)
		if im == nil {
			c.fail(http.StatusBadRequest, "Invalid image identifier or unable to access requested image.")
			return
		}
		if req.Size < im.MinDisk {
			c.failf(http.StatusBadRequest, "Invalid input received: Volume size %dGB cannot be smaller than the image minDisk size %dGB.", req.Size, im.MinDisk)
			return
		}
	}
	if !s.volumeQuota(c, 1, req.Size) {
		return
	}
	now := s.now()
	v := &volumeRec{ID: newUUID(), Seq: s.next(), Name: req.Name, Description: req.Description, Size: req.Size, Image: req.ImageRef, Metadata: req.Metadata, Created: now}
	v.Phase.set("creating", "available", s.opts.Timing.VolumeCreate, now)
	s.st.Volumes[v.ID] = v
	s.save()
	c.json(http.StatusAccepted, map[string]any{"volume": s.volumeJSON(c, v, true)})
}

func (s *Server) volumeOr404(c *call) *volumeRec {
	if !s.project(c) {
		return nil
	}
	v := s.st.Volumes[c.r.PathValue("id")]
	if v == nil {
		c.failf(http.StatusNotFound, "Volume %s could not be found.", c.r.PathValue("id"))
	}
	return v
}

func (s *Server) getVolume(c *call) {
	if v := s.volumeOr404(c); v != nil {
		c.json(http.StatusOK, map[string]any{"volume": s.volumeJSON(c, v, true)})
	}
}

func (s *Server) updateVolume(c *call) {
	var body struct {
		Volume *struct {
			Name        *string           `json:"name"`
			Description *string           `json:"description"`
			Metadata    map[string]string `json:"metadata"`
		} `json:"volume"`
	}
	if !c.decode(&body) {
		return
	}
	v := s.volumeOr404(c)
	if v == nil {
		return
	}
	if body.Volume == nil {
		c.fail(http.StatusBadRequest, "Missing required element 'volume' in request body.")
		return
	}
	if n := body.Volume.Name; n != nil {
		v.Name = *n
	}
	if d := body.Volume.Description; d != nil {
		v.Description = *d
	}
	if m := body.Volume.Metadata; m != nil {
		v.Metadata = m
	}
	v.Updated = s.now()
	s.save()
	c.json(http.StatusOK, map[string]any{"volume": s.volumeJSON(c, v, true)})
}

func (s *Server) deleteVolume(c *call) {
	v := s.volumeOr404(c)
	if v == nil {
		return
	}
	if v.Phase.deleting() {
		c.empty(http.StatusAccepted)
		return
	}
	if v.Phase.Status != "available" && v.Phase.Status != "error" || v.Phase.Next != "" || v.Attachment != nil {
		c.fail(http.StatusBadRequest, "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.")
		return
	}
	v.Phase.set("deleting", gone, s.opts.Timing.VolumeDelete, s.now())
	v.Updated = s.now()
	s.save()
	c.empty(http.StatusAccepted)
}

// volumeAction answers os-extend, the one action the simulator knows:
// growing a volume, in use too from microversion 3.42 as Cinder allows.
func (s *Server) volumeAction(c *call) {
	var body map[string]json.RawMessage
	if !c.decode(&body) {
		return
	}
	v := s.volumeOr404(c)
	if v == nil {
		return
	}
	raw, ok := body["os-extend"]
	if !ok || len(body) != 1 {
		for k := range body {
			c.failf(http.StatusBadRequest, "There is no such action: %s", k)
			return
		}
		c.fail(http.StatusBadRequest, "Malformed request body")
		return
	}
	var ext struct {
		NewSize int `json:"new_size"`
	}
	if json.Unmarshal(raw, &ext) != nil || ext.NewSize <= 0 {
		c.fail(http.StatusBadRequest, "Invalid input for field/attribute new_size. Value: None. 'new_size' is a required property")
		return
	}
	inUse := v.Phase.Status == "in-use" && v.Phase.Next == ""
	switch {
	case inUse && !c.mv.atLeast(42):
		c.failf(http.StatusBadRequest, "Invalid volume: Volume %s status must be 'available' to extend, but current status is: in-use. Extending an attached volume needs microversion 3.42 or later.", v.ID)
		return
	case !inUse && (v.Phase.Status != "available" || v.Phase.Next != ""):
		c.failf(http.StatusBadRequest, "Invalid volume: Volume %s status must be 'available' or 'in-use' to extend, but current status is: %s.", v.ID, v.Phase.Status)
		return
	case ext.NewSize <= v.Size:
		c.failf(http.StatusBadRequest, "Invalid input received: New size for extend must be greater than current size. (current: %d, extended: %d).", v.Size, ext.NewSize)
		return
	}
	if !s.volumeQuota(c, 0, ext.NewSize-v.Size) {
		return
	}
	v.NewSize = ext.NewSize
	v.Phase.set("extending", v.Phase.Status, s.opts.Timing.VolumeChange, s.now())
	v.Updated = s.now()
	s.save()
	c.empty(http.StatusAccepted)
}

func (s *Server) volumeLimits(c *call) {
	if !s.project(c) {
		return
	}
	q := s.quotas()
	count, gb := s.volumeUsage()
	c.json(http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": map[string]any{
		"maxTotalVolumes": q.Volumes, "maxTotalVolumeGigabytes": q.Gigabytes, "maxTotalSnapshots": 10, "maxTotalBackups": 10,
		"maxTotalBackupGigabytes": 1000, "totalVolumesUsed": count, "totalGigabytesUsed": gb,
		"totalSnapshotsUsed": 0, "totalBackupsUsed": 0, "totalBackupGigabytesUsed": 0,
	}}})
}
