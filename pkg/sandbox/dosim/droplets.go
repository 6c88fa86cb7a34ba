package dosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/cosocial/cosocial/pkg/catalog"
)

// image is a public distribution image every simulated region offers.
type image struct {
	ID           int64
	Slug         string
	Name         string
	Distribution string
	MinDiskGB    int
}

var images = []image{
	{ID: 153010021, Slug: "debian-12-x64", Name: "12 x64", Distribution: "Debian", MinDiskGB: 15},
	{ID: 153010022, Slug: "debian-11-x64", Name: "11 x64", Distribution: "Debian", MinDiskGB: 15},
	{ID: 153010023, Slug: "ubuntu-24-04-x64", Name: "24.04 (LTS) x64", Distribution: "Ubuntu", MinDiskGB: 15},
	{ID: 153010024, Slug: "ubuntu-22-04-x64", Name: "22.04 (LTS) x64", Distribution: "Ubuntu", MinDiskGB: 15},
	{ID: 153010025, Slug: "rockylinux-9-x64", Name: "9 x64", Distribution: "Rocky Linux", MinDiskGB: 15},
}

func imageSlugs() string {
	slugs := make([]string, len(images))
	for i, im := range images {
		slugs[i] = im.Slug
	}
	return strings.Join(slugs, ", ")
}

func findImage(slug string) *image {
	for i := range images {
		if images[i].Slug == slug {
			return &images[i]
		}
	}
	return nil
}

func (s *Server) operator() *catalog.Operator {
	return s.opts.Catalog.Operator("digitalocean")
}

func (s *Server) region(slug string) *catalog.Region {
	r := s.operator().Region(slug)
	if r == nil || !strings.EqualFold(r.Code, slug) {
		return nil
	}
	return r
}

func (s *Server) regionSlugs() string { return strings.Join(s.operator().RegionCodes(), ", ") }

func regionJSON(r *catalog.Region) map[string]any {
	features := []string{"backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"}
	return map[string]any{"slug": r.Code, "name": r.City + " 1", "sizes": r.FlavorNames(), "available": true, "features": features}
}

func imageJSON(im *image, region string) map[string]any {
	return map[string]any{
		"id": im.ID, "name": im.Name, "distribution": im.Distribution, "slug": im.Slug, "public": true,
		"regions": []string{region}, "created_at": "2025-01-15T00:00:00Z", "type": "base",
		"min_disk_size": im.MinDiskGB, "size_gigabytes": 0.5, "description": im.Distribution + " " + im.Name,
		"tags": []string{}, "status": "available", "error_message": "",
	}
}

func sizeJSON(f *catalog.Flavor, region string) map[string]any {
	out := map[string]any{
		"slug": f.Name, "memory": int(f.RAMGB * 1024), "vcpus": f.VCPU, "disk": f.DiskGB,
		"transfer": 1.0, "available": true, "regions": []string{region}, "description": "Basic",
	}
	if f.Price != nil {
		out["price_monthly"] = f.Price.Amount
		out["price_hourly"] = f.Price.Amount / 672
	}
	return out
}

func (s *Server) dropletJSON(d *droplet) map[string]any {
	regionOut := map[string]any{"slug": d.Region}
	var flavor *catalog.Flavor
	if reg := s.region(d.Region); reg != nil {
		regionOut, flavor = regionJSON(reg), reg.Flavor(d.Size)
	}
	imageOut := map[string]any{"slug": d.Image}
	if im := findImage(d.Image); im != nil {
		imageOut = imageJSON(im, d.Region)
	}
	status := "active"
	networks := map[string]any{"v4": []any{}, "v6": []any{}}
	// DigitalOcean assigns addresses while the droplet is built: a new
	// droplet has none yet.
	if s.now().Before(d.ActiveAt) {
		status = "new"
	} else {
		v4 := []map[string]any{
			{"ip_address": d.PrivateIPv4, "netmask": "255.255.240.0", "gateway": "10.118.0.1", "type": "private"},
			{"ip_address": d.PublicIPv4, "netmask": "255.255.255.0", "gateway": "203.0.113.1", "type": "public"},
		}
		networks["v4"] = v4
		if d.IPv6 != "" {
			networks["v6"] = []map[string]any{{"ip_address": d.IPv6, "netmask": 64, "gateway": "2001:db8::1", "type": "public"}}
		}
	}
	out := map[string]any{
		"id": d.ID, "name": d.Name, "locked": false, "status": status, "created_at": d.Created.Format("2006-01-02T15:04:05Z"),
		"features": []string{"private_networking"}, "backup_ids": []int{}, "next_backup_window": nil, "snapshot_ids": []int{},
		"image": imageOut, "volume_ids": []string{}, "size_slug": d.Size,
		"networks": networks, "region": regionOut, "tags": d.Tags, "vpc_uuid": d.VPC, "kernel": nil,
	}
	if flavor != nil {
		out["memory"], out["vcpus"], out["disk"] = int(flavor.RAMGB*1024), flavor.VCPU, flavor.DiskGB
		out["size"] = sizeJSON(flavor, d.Region)
	}
	return out
}

func (s *Server) listDroplets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var all []*droplet
	for _, id := range sortedKeys(s.st.Droplets) {
		d := s.st.Droplets[id]
		if name := q.Get("name"); name != "" && !strings.EqualFold(name, d.Name) {
			continue
		}
		if tag := q.Get("tag_name"); tag != "" && !contains(d.Tags, tag) {
			continue
		}
		all = append(all, d)
	}
	p, ok := s.paginate(w, r, len(all))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, d := range all[p.lo:p.hi] {
		out = append(out, s.dropletJSON(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"droplets": out, "links": p.links, "meta": p.meta})
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// hostname is what DigitalOcean accepts as a droplet name.
var hostname = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$`)

func (s *Server) createDroplet(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name     string          `json:"name"`
		Names    []string        `json:"names"`
		Region   string          `json:"region"`
		Size     string          `json:"size"`
		Image    json.RawMessage `json:"image"`
		IPv6     bool            `json:"ipv6"`
		UserData string          `json:"user_data"`
		Tags     []string        `json:"tags"`
		VPC      string          `json:"vpc_uuid"`
	}
	if !s.decode(w, r, &body) {
		return
	}
	// One name, or up to ten in "names": the same droplet several times,
	// answered as "droplets" with one create action each.
	names := body.Names
	switch {
	case len(names) > 0 && body.Name != "":
		s.unprocessable(w, r, "Name and names cannot both be given.")
		return
	case len(names) > 10:
		s.unprocessable(w, r, "You can create at most 10 Droplets in one request.")
		return
	case len(names) == 0 && body.Name == "":
		s.unprocessable(w, r, "Name is required.")
		return
	case len(names) == 0:
		names = []string{body.Name}
	}
	for _, name := range names {
		if !hostname.MatchString(name) {
			s.unprocessable(w, r, "Name is invalid: only letters, digits, periods and dashes, not starting or ending with a period or dash.")
			return
		}
	}
	reg := s.region(body.Region)
	if reg == nil {
		s.unprocessable(w, r, "You specified an invalid region for Droplet creation: %q (available: %s).", body.Region, s.regionSlugs())
		return
	}
	if reg.Flavor(body.Size) == nil {
		s.unprocessable(w, r, "You specified an invalid size for Droplet creation: %q is not offered in %s (available: %s).", body.Size, reg.Code, strings.Join(reg.FlavorNames(), ", "))
		return
	}
	im := s.imageFrom(body.Image)
	if im == nil {
		s.unprocessable(w, r, "You specified an invalid image for Droplet creation: %s (available: %s).", string(body.Image), imageSlugs())
		return
	}
	if body.Tags == nil {
		body.Tags = []string{}
	}
	if body.VPC == "" {
		body.VPC = uuid.NewSHA1(uuid.NameSpaceOID, []byte("vpc/"+reg.Code)).String()
	}
	var made []map[string]any
	var actions []map[string]any
	for _, name := range names {
		n := s.nextID()
		id := 400000000 + n
		d := &droplet{
			ID: id, Name: name, Region: reg.Code, Size: body.Size, Image: im.Slug, Tags: body.Tags,
			UserData: body.UserData != "", Created: s.now(), ActiveAt: s.now().Add(s.opts.Timing.DropletBuild),
			// TEST-NET-2: apart from the OpenStack simulator's addresses, so
			// a migration's two sides never share one.
			PublicIPv4:  fmt.Sprintf("198.51.100.%d", 1+n%250),
			PrivateIPv4: fmt.Sprintf("10.118.%d.%d", (n/250)%16, 2+n%250),
			VPC:         body.VPC,
		}
		if body.IPv6 {
			d.IPv6 = fmt.Sprintf("2001:db8::%x", n)
		}
		if s.opts.Machines != nil && body.UserData != "" {
			if err := s.opts.Machines.Boot(r.Context(), strconv.FormatInt(id, 10), d.PublicIPv4, body.UserData); err != nil {
				s.logf("droplet %d: its machine: %v", id, err)
				writeJSON(w, http.StatusInternalServerError, map[string]any{"id": "server_error", "message": "Server Error"})
				return
			}
		}
		s.st.Droplets[id] = d
		actionID := 900000000 + n
		made = append(made, s.dropletJSON(d))
		actions = append(actions, map[string]any{"id": actionID, "rel": "create", "href": fmt.Sprintf("http://%s/v2/actions/%d", r.Host, actionID)})
	}
	s.save()
	if len(body.Names) == 0 {
		writeJSON(w, http.StatusAccepted, map[string]any{"droplet": made[0], "links": map[string]any{"actions": actions}})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"droplets": made, "links": map[string]any{"actions": actions}})
}

// imageFrom reads the image of a create request: a slug, or a numeric ID
// (godo sends the ID when no slug is given).
func (s *Server) imageFrom(raw json.RawMessage) *image {
	var slug string
	if json.Unmarshal(raw, &slug) == nil {
		return findImage(slug)
	}
	var id int64
	if json.Unmarshal(raw, &id) == nil {
		for i := range images {
			if images[i].ID == id {
				return &images[i]
			}
		}
	}
	return nil
}

func (s *Server) dropletOr404(w http.ResponseWriter, r *http.Request) *droplet {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return nil
	}
	d := s.st.Droplets[id]
	if d == nil {
		s.notFound(w, r)
	}
	return d
}

func (s *Server) getDroplet(w http.ResponseWriter, r *http.Request) {
	if d := s.dropletOr404(w, r); d != nil {
		writeJSON(w, http.StatusOK, map[string]any{"droplet": s.dropletJSON(d)})
	}
}

func (s *Server) deleteDroplet(w http.ResponseWriter, r *http.Request) {
	d := s.dropletOr404(w, r)
	if d == nil {
		return
	}
	delete(s.st.Droplets, d.ID)
	s.save()
	if s.opts.Machines != nil {
		if err := s.opts.Machines.Halt(r.Context(), strconv.FormatInt(d.ID, 10)); err != nil {
			s.logf("droplet %d: stopping its machine: %v", d.ID, err)
		}
	}
	noContent(w)
}

// listSizes is GET /v2/sizes: every size of the catalog's regions, once,
// with the regions that offer it and its USD prices, as DigitalOcean
// lists them (paginated).
func (s *Server) listSizes(w http.ResponseWriter, r *http.Request) {
	var order []string
	sizes := map[string]map[string]any{}
	for _, reg := range s.operator().Regions {
		for i := range reg.Flavors {
			f := &reg.Flavors[i]
			if out, ok := sizes[f.Name]; ok {
				out["regions"] = append(out["regions"].([]string), reg.Code)
				continue
			}
			order = append(order, f.Name)
			sizes[f.Name] = sizeJSON(f, reg.Code)
		}
	}
	p, ok := s.paginate(w, r, len(order))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, slug := range order[p.lo:p.hi] {
		out = append(out, sizes[slug])
	}
	writeJSON(w, http.StatusOK, map[string]any{"sizes": out, "links": p.links, "meta": p.meta})
}
