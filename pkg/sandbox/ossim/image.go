package ossim

import (
	"net/http"
	"strings"
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
