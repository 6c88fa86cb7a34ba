package ossim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"

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
	// `openstack flavor list` and `flavor show` read each flavor's
	// extra specs; a public cloud's flavors carry none the CLI needs.
	rs.api("GET "+p+"/flavors/{id}/os-extra_specs", s.flavorExtraSpecs)
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

func (s *Server) flavorExtraSpecs(c *call) {
	if s.flavor(c.r.PathValue("id")) == nil {
		c.failf(http.StatusNotFound, "Flavor %s could not be found.", c.r.PathValue("id"))
		return
	}
	c.json(http.StatusOK, map[string]any{"extra_specs": map[string]string{}})
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
