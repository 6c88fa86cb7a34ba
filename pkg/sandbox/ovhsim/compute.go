package ovhsim

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/google/uuid"

	"github.com/cosocial/cosocial/pkg/catalog"
)

// idNamespace makes flavor and image IDs stable across runs, as the real
// API's are: the same name in the same region has the same UUID.
var idNamespace = uuid.MustParse("6f1b1c0e-5b2a-4c55-9d1e-0c05c1a10000")

func stableID(parts ...string) string {
	return uuid.NewSHA1(idNamespace, []byte(strings.Join(parts, "/"))).String()
}

func newID() string { return uuid.NewString() }

// images are the operating systems every simulated region offers.
var images = []string{"Debian 12", "Debian 11", "Ubuntu 24.04", "Ubuntu 22.04", "Rocky Linux 9"}

func (s *Server) operator() *catalog.Operator {
	return s.opts.Catalog.Operator("ovhcloud")
}

func (s *Server) region(code string) *catalog.Region { return s.operator().Region(code) }

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	sn := r.PathValue("sn")
	writeJSON(w, http.StatusOK, map[string]any{
		"project_id": sn, "projectName": sn, "description": sn, "status": "ok",
		"creationDate": "2025-03-01T00:00:00Z", "planCode": "project.2018", "unleash": false,
	})
}

func (s *Server) listRegions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.operator().RegionCodes())
}

// getRegion is one region and the services it runs, all up.
func (s *Server) getRegion(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("region")
	reg := s.operator().Region(code)
	if reg == nil {
		s.notFound(w, code)
		return
	}
	services := []map[string]any{}
	for _, name := range []string{"image", "instance", "network", "storage", "volume", "workflow"} {
		services = append(services, map[string]any{"name": name, "status": "UP", "endpoint": nil})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": reg.Code, "type": "region", "status": "UP", "continentCode": "NA",
		"datacenterLocation": strings.TrimRight(reg.Code, "0123456789"), "countryCode": strings.ToLower(reg.Country),
		"ipCountries": []string{}, "services": services, "availabilityZones": []string{},
	})
}

func flavorJSON(region string, f catalog.Flavor) map[string]any {
	return map[string]any{
		"id": stableID("flavor", region, f.Name), "name": f.Name, "region": region,
		"vcpus": f.VCPU, "ram": int(f.RAMGB), "disk": f.DiskGB, "type": "ovh.ssd.eg", "osType": "linux",
		"available": true, "quota": 20, "inboundBandwidth": nil, "outboundBandwidth": nil,
		"capabilities": []map[string]any{
			{"name": "resize", "enabled": true}, {"name": "snapshot", "enabled": true},
			{"name": "volume", "enabled": true}, {"name": "failoverip", "enabled": true},
		},
		"planCodes": map[string]any{"hourly": f.Name + ".consumption", "monthly": f.Name + ".monthly.postpaid"},
	}
}

func imageJSON(region, name string) map[string]any {
	user := strings.ToLower(strings.Fields(name)[0])
	return map[string]any{
		"id": stableID("image", region, name), "name": name, "region": region, "type": "linux",
		"status": "active", "visibility": "public", "user": user, "minDisk": 0, "minRam": 0, "size": 2.3,
		"creationDate": "2025-01-01T00:00:00Z", "flavorType": nil, "planCode": nil, "tags": nil,
	}
}

// regionsFor is the regions a listing covers: the one asked for, or all.
func (s *Server) regionsFor(w http.ResponseWriter, r *http.Request) ([]*catalog.Region, bool) {
	if code := r.URL.Query().Get("region"); code != "" {
		reg := s.region(code)
		if reg == nil {
			s.badRequest(w, "Region %s not found", code)
			return nil, false
		}
		return []*catalog.Region{reg}, true
	}
	return s.operator().Regions, true
}

func (s *Server) listFlavors(w http.ResponseWriter, r *http.Request) {
	regions, ok := s.regionsFor(w, r)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, reg := range regions {
		for _, f := range reg.Flavors {
			out = append(out, flavorJSON(reg.Code, f))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// flavorByID finds a flavor by its UUID, in any region.
func (s *Server) flavorByID(id string) (string, *catalog.Flavor) {
	for _, reg := range s.operator().Regions {
		for i, f := range reg.Flavors {
			if stableID("flavor", reg.Code, f.Name) == id {
				return reg.Code, &reg.Flavors[i]
			}
		}
	}
	return "", nil
}

func (s *Server) getFlavor(w http.ResponseWriter, r *http.Request) {
	region, f := s.flavorByID(r.PathValue("id"))
	if f == nil {
		s.notFound(w, "flavorId = "+r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, flavorJSON(region, *f))
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	regions, ok := s.regionsFor(w, r)
	if !ok {
		return
	}
	if os := r.URL.Query().Get("osType"); os != "" && os != "linux" {
		writeJSON(w, http.StatusOK, []any{})
		return
	}
	out := []map[string]any{}
	for _, reg := range regions {
		for _, name := range images {
			out = append(out, imageJSON(reg.Code, name))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) imageByID(id string) (string, string) {
	for _, reg := range s.operator().Regions {
		for _, name := range images {
			if stableID("image", reg.Code, name) == id {
				return reg.Code, name
			}
		}
	}
	return "", ""
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request) {
	region, name := s.imageByID(r.PathValue("id"))
	if name == "" {
		s.notFound(w, "imageId = "+r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, imageJSON(region, name))
}

func sshKeyJSON(k *sshKey) map[string]any {
	return map[string]any{"id": k.ID, "name": k.Name, "publicKey": k.PublicKey, "regions": k.Regions, "fingerPrint": fingerprint(k.PublicKey)}
}

// fingerprint is the key's MD5 fingerprint in colon-separated hex, as
// ssh-keygen -E md5 prints it, which the API shows for a key.
func fingerprint(pub string) string {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	if err != nil {
		return ""
	}
	return ssh.FingerprintLegacyMD5(k)
}

func (s *Server) listSSHKeys(w http.ResponseWriter, r *http.Request) {
	out := []map[string]any{}
	for _, k := range sortedValues(s.st.SSHKeys, func(k *sshKey) string { return k.Name }) {
		out = append(out, sshKeyJSON(k))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createSSHKey(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name      string `json:"name"`
		PublicKey string `json:"publicKey"`
		Region    string `json:"region"`
	}
	if !decode(w, r, s, &body) {
		return
	}
	if body.Name == "" || !strings.HasPrefix(body.PublicKey, "ssh-") && !strings.HasPrefix(body.PublicKey, "ecdsa-") {
		s.badRequest(w, "Invalid SSH key: name and an OpenSSH public key are required")
		return
	}
	for _, k := range s.st.SSHKeys {
		if k.Name == body.Name {
			s.fail(w, http.StatusConflict, "Client::Conflict", fmt.Sprintf("SSH key %s already exists", body.Name))
			return
		}
	}
	k := &sshKey{ID: newID(), Name: body.Name, PublicKey: body.PublicKey, Regions: s.operator().RegionCodes()}
	s.st.SSHKeys[k.ID] = k
	s.saveLocked()
	writeJSON(w, http.StatusOK, sshKeyJSON(k))
}

func (s *Server) getSSHKey(w http.ResponseWriter, r *http.Request) {
	k := s.st.SSHKeys[r.PathValue("id")]
	if k == nil {
		s.notFound(w, "keyId = "+r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, sshKeyJSON(k))
}

func (s *Server) deleteSSHKey(w http.ResponseWriter, r *http.Request) {
	if s.st.SSHKeys[r.PathValue("id")] == nil {
		s.notFound(w, "keyId = "+r.PathValue("id"))
		return
	}
	delete(s.st.SSHKeys, r.PathValue("id"))
	s.saveLocked()
	ok(w)
}

// liveInstance returns an instance with its status brought up to date, or
// nil once it is gone. Callers hold s.mu.
func (s *Server) liveInstance(id string) *instance {
	in := s.st.Instances[id]
	if in == nil {
		return nil
	}
	if !in.Life.advance(s.now()) {
		delete(s.st.Instances, id)
		s.saveLocked()
		return nil
	}
	return in
}

// instanceOr404 finds the instance a request names, answering 404 when
// there is none.
func (s *Server) instanceOr404(w http.ResponseWriter, r *http.Request) *instance {
	in := s.liveInstance(r.PathValue("id"))
	if in == nil {
		s.notFound(w, "instanceId = "+r.PathValue("id"))
	}
	return in
}

func (s *Server) instanceJSON(in *instance, detail bool) map[string]any {
	addrs := []map[string]any{}
	if in.Life.Status != "BUILD" {
		addrs = append(addrs,
			map[string]any{"ip": in.IPv4, "type": "public", "version": 4, "networkId": stableID("net", in.Region), "gatewayIp": "192.0.2.254"},
			map[string]any{"ip": in.IPv6, "type": "public", "version": 6, "networkId": stableID("net", in.Region), "gatewayIp": nil},
		)
	}
	out := map[string]any{
		"id": in.ID, "name": in.Name, "region": in.Region, "status": in.Life.Status,
		"created": in.Created.Format(time.RFC3339), "ipAddresses": addrs,
		"monthlyBilling": nil, "planCode": nil, "operationIds": []string{}, "currentMonthOutgoingTraffic": nil,
	}
	region, flavor := s.flavorByID(in.FlavorID)
	_, imageName := s.imageByID(in.ImageID)
	if flavor != nil {
		out["planCode"] = flavor.Name + ".consumption"
	}
	if !detail {
		out["flavorId"], out["imageId"], out["sshKeyId"] = in.FlavorID, in.ImageID, nilIfEmpty(in.SSHKeyID)
		return out
	}
	if flavor != nil {
		out["flavor"] = flavorJSON(region, *flavor)
	}
	out["image"] = imageJSON(in.Region, imageName)
	out["sshKey"] = nil
	if k := s.st.SSHKeys[in.SSHKeyID]; k != nil {
		out["sshKey"] = sshKeyJSON(k)
	}
	out["rescuePassword"] = nil
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) {
	region := r.URL.Query().Get("region")
	out := []map[string]any{}
	for _, id := range sortedKeys(s.st.Instances) {
		in := s.liveInstance(id)
		if in != nil && (region == "" || strings.EqualFold(region, in.Region)) {
			out = append(out, s.instanceJSON(in, false))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createInstance(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name           string  `json:"name"`
		FlavorID       string  `json:"flavorId"`
		ImageID        string  `json:"imageId"`
		Region         string  `json:"region"`
		SSHKeyID       string  `json:"sshKeyId"`
		UserData       *string `json:"userData"`
		MonthlyBilling *bool   `json:"monthlyBilling"`
	}
	if !decode(w, r, s, &body) {
		return
	}
	reg := s.region(body.Region)
	switch {
	case body.Name == "":
		s.badRequest(w, "Missing parameter: name")
		return
	case reg == nil:
		s.badRequest(w, "Region %s not found", body.Region)
		return
	}
	flavorRegion, flavor := s.flavorByID(body.FlavorID)
	if flavor == nil || flavorRegion != reg.Code {
		s.badRequest(w, "Flavor %s is not available in region %s", body.FlavorID, reg.Code)
		return
	}
	imageRegion, image := s.imageByID(body.ImageID)
	if image == "" || imageRegion != reg.Code {
		s.badRequest(w, "Image %s is not available in region %s", body.ImageID, reg.Code)
		return
	}
	if body.SSHKeyID != "" && s.st.SSHKeys[body.SSHKeyID] == nil {
		s.badRequest(w, "SSH key %s not found", body.SSHKeyID)
		return
	}
	n := s.nextID()
	in := &instance{
		ID: newID(), Name: body.Name, Region: reg.Code, FlavorID: body.FlavorID, ImageID: body.ImageID,
		SSHKeyID: body.SSHKeyID, UserData: body.UserData != nil && *body.UserData != "",
		Created: s.now(), IPv4: fmt.Sprintf("192.0.2.%d", 1+n%250), IPv6: fmt.Sprintf("2001:db8::%x", n),
	}
	if s.opts.Machines != nil && body.UserData != nil {
		if err := s.opts.Machines.Boot(r.Context(), in.ID, in.IPv4, *body.UserData); err != nil {
			s.logf("instance %s: its machine: %v", in.ID, err)
			s.fail(w, http.StatusInternalServerError, "Server::InternalServerError::Unknown", "Internal server error")
			return
		}
	}
	in.Life.set("BUILD", "ACTIVE", s.opts.Timing.InstanceBuild, s.now())
	s.st.Instances[in.ID] = in
	s.saveLocked()
	writeJSON(w, http.StatusOK, s.instanceJSON(in, true))
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request) {
	in := s.instanceOr404(w, r)
	if in == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.instanceJSON(in, true))
}

func (s *Server) renameInstance(w http.ResponseWriter, r *http.Request) {
	var body struct {
		InstanceName string `json:"instanceName"`
	}
	if !decode(w, r, s, &body) {
		return
	}
	in := s.instanceOr404(w, r)
	if in == nil {
		return
	}
	if body.InstanceName == "" {
		s.badRequest(w, "Missing parameter: instanceName")
		return
	}
	in.Name = body.InstanceName
	s.saveLocked()
	ok(w)
}

func (s *Server) deleteInstance(w http.ResponseWriter, r *http.Request) {
	in := s.instanceOr404(w, r)
	if in == nil {
		return
	}
	if !in.Life.Gone {
		in.Life.deleting("DELETING", s.opts.Timing.InstanceDelete, s.now())
		if s.opts.Machines != nil {
			if err := s.opts.Machines.Halt(r.Context(), in.ID); err != nil {
				s.logf("instance %s: stopping its machine: %v", in.ID, err)
			}
		}
	}
	s.saveLocked()
	ok(w)
}

func (s *Server) resizeInstance(w http.ResponseWriter, r *http.Request) {
	var body struct {
		FlavorID string `json:"flavorId"`
	}
	if !decode(w, r, s, &body) {
		return
	}
	in := s.instanceOr404(w, r)
	if in == nil {
		return
	}
	if in.Life.Status != "ACTIVE" {
		s.fail(w, http.StatusConflict, "Client::Conflict", fmt.Sprintf("Instance %s is %s, not ACTIVE", in.ID, in.Life.Status))
		return
	}
	region, to := s.flavorByID(body.FlavorID)
	_, from := s.flavorByID(in.FlavorID)
	switch {
	case to == nil || region != in.Region:
		s.badRequest(w, "Flavor %s is not available in region %s", body.FlavorID, in.Region)
		return
	case from != nil && to.DiskGB < from.DiskGB:
		s.badRequest(w, "Cannot resize to flavor %s: its disk (%d GB) is smaller than %s's (%d GB)", to.Name, to.DiskGB, from.Name, from.DiskGB)
		return
	}
	in.FlavorID = body.FlavorID
	in.Life.set("RESIZE", "ACTIVE", s.opts.Timing.InstanceBuild, s.now())
	s.saveLocked()
	writeJSON(w, http.StatusOK, s.instanceJSON(in, true))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedValues[V any](m map[string]V, key func(V) string) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// password returns a random password of the form OVHcloud hands out.
func password() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, 24)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
