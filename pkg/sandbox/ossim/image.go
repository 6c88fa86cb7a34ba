package ossim

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

func (s *Server) imageRoutes(mux *http.ServeMux) {
	rs := routeSet{mux, s, image}
	rs.open("GET /image", s.imageVersions)
	rs.open("GET /image/{$}", s.imageVersions)
	rs.api("GET /image/v2/images", s.listImages)
	rs.api("GET /image/v2/images/{id}", s.getImage)
	rs.open("/image/", func(c *call) { c.fail(http.StatusNotFound, "The resource could not be found.") })
}

func (s *Server) imageVersions(c *call) {
	var out []map[string]any
	for _, v := range []string{"v2.16", "v2.15", "v2.9", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"} {
		status := "SUPPORTED"
		if v == "v2.16" {
			status = "CURRENT"
		}
		out = append(out, map[string]any{"id": v, "status": status, "links": []map[string]string{{"rel": "self", "href": c.base() + "/image/v2/"}}})
	}
	c.json(http.StatusMultipleChoices, map[string]any{"versions": out})
}

func (s *Server) imageJSON(c *call, im *imageDef) map[string]any {
	id := imageID(im)
	return map[string]any{
		"id": id, "name": im.Name, "status": "active", "visibility": "public", "protected": false, "os_hidden": false,
		"container_format": "bare", "disk_format": "qcow2", "min_disk": im.MinDisk, "min_ram": 0,
		"size": im.Size, "virtual_size": im.Virtual, "checksum": im.checksum(), "os_hash_algo": "sha512", "os_hash_value": nil,
		"owner": stableID("project", "image-owner"), "tags": []string{}, "os_distro": im.Distro, "os_version": im.Version,
		"hw_disk_bus": "scsi", "hw_scsi_model": "virtio-scsi",
		"created_at": isoZ(imageEpoch), "updated_at": isoZ(imageEpoch),
		"self": "/v2/images/" + id, "file": "/v2/images/" + id + "/file", "schema": "/v2/schemas/image",
	}
}

// listImages is Glance's list with its filters on name, status and
// visibility, and its marker paging ("next" as a path).
func (s *Server) listImages(c *call) {
	q := c.r.URL.Query()
	var ids []string
	for i := range images {
		im := &images[i]
		if n := q.Get("name"); n != "" && n != im.Name {
			continue
		}
		if st := q.Get("status"); st != "" && st != "active" {
			continue
		}
		if v := q.Get("visibility"); v != "" && v != "public" && v != "all" {
			continue
		}
		ids = append(ids, imageID(im))
	}
	ids, next, ok := c.page(ids)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, id := range ids {
		out = append(out, s.imageJSON(c, findImage(id)))
	}
	body := map[string]any{"images": out, "first": "/v2/images", "schema": "/v2/schemas/images"}
	if next != "" {
		body["next"] = strings.TrimPrefix(next, c.base()+"/image")
	}
	c.json(http.StatusOK, body)
}

func (s *Server) getImage(c *call) {
	im := findImage(c.r.PathValue("id"))
	if im == nil {
		c.fail(http.StatusNotFound, "No image found with ID "+c.r.PathValue("id"))
		return
	}
	c.json(http.StatusOK, s.imageJSON(c, im))
}

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
