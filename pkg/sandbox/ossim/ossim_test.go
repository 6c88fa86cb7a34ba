package ossim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"
	"github.com/gophercloud/gophercloud/v2/openstack/dns/v2/recordsets"
	"github.com/gophercloud/gophercloud/v2/openstack/dns/v2/zones"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/cosocial/cosocial/pkg/sandbox/ossim"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim/ossimtest"
)

var ctx = context.Background()

// clients are gophercloud's service clients, found through the catalog
// the way any OpenStack tool finds them.
type clients struct {
	provider *gophercloud.ProviderClient
	compute  *gophercloud.ServiceClient
	volume   *gophercloud.ServiceClient
	network  *gophercloud.ServiceClient
	image    *gophercloud.ServiceClient
	dns      *gophercloud.ServiceClient
	identity *gophercloud.ServiceClient
}

func connect(t *testing.T, sim *ossimtest.Sim) clients {
	t.Helper()
	p := sim.Provider(t)
	eo := gophercloud.EndpointOpts{Region: ossim.DefaultRegion}
	var c clients
	var err error
	c.provider = p
	must := func(sc *gophercloud.ServiceClient, err error) *gophercloud.ServiceClient {
		t.Helper()
		if err != nil {
			t.Fatalf("finding a service in the catalog: %v", err)
		}
		return sc
	}
	c.compute = must(openstack.NewComputeV2(p, eo))
	c.volume = must(openstack.NewBlockStorageV3(p, eo))
	c.network = must(openstack.NewNetworkV2(p, eo))
	c.image = must(openstack.NewImageV2(p, eo))
	c.dns = must(openstack.NewDNSV2(p, eo))
	c.identity, err = openstack.NewIdentityV3(p, eo)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// apiErr checks that err is the status answered, with msg in its body,
// and returns the body.
func apiErr(t *testing.T, err error, status int, msg string) map[string]any {
	t.Helper()
	var e gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want an HTTP %d", err, status)
	}
	if e.Actual != status || !strings.Contains(string(e.Body), msg) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error = %d %s, want %d containing %q", e.Actual, e.Body, status, msg)
	}
	if e.ResponseHeader.Get("X-Openstack-Request-Id") == "" {
		t.Errorf("no X-Openstack-Request-Id on the %d", status)
	}
	var body map[string]any
	json.Unmarshal(e.Body, &body)
	return body
}

func imageID(t *testing.T, c clients, name string) string {
	t.Helper()
	page, err := images.List(c.image, images.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := images.ExtractImages(page)
	if err != nil || len(all) != 1 || all[0].Name != name || all[0].Status != "active" {
		t.Fatalf("images named %q: %+v %v", name, all, err)
	}
	return all[0].ID
}

func waitServer(t *testing.T, c clients, id, status string) *servers.Server {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // bounds a hang only
	for {
		s, err := servers.Get(ctx, c.compute, id).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if s.Status == status {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s is %s, waited for %s", id, s.Status, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitVolume(t *testing.T, c clients, id, status string) *volumes.Volume {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // bounds a hang only
	for {
		v, err := volumes.Get(ctx, c.volume, id).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if v.Status == status {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("volume %s is %s, waited for %s", id, v.Status, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone polls get until it answers 404.
func waitGone(t *testing.T, what string, get func() error) error {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // bounds a hang only
	for {
		err := get()
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return err
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still there", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPasswordAndApplicationCredential(t *testing.T) {
	sim := ossimtest.Start(t, ossim.Options{})
	p, err := openstack.AuthenticatedClient(ctx, sim.Password())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.GetAuthResult().(tokens.CreateResult).ExtractToken()
	if err != nil || p.TokenID == "" || tok.ID != p.TokenID || time.Until(tok.ExpiresAt) < 50*time.Minute {
		t.Fatalf("token %+v %v", tok, err)
	}
	user, err := p.GetAuthResult().(tokens.CreateResult).ExtractUser()
	if err != nil || user.ID != sim.UserID() || user.Name != "techops" {
		t.Fatalf("user %+v %v", user, err)
	}

	// An application credential, and a versionless auth URL that gophercloud
	// resolves through Keystone's version document.
	app, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: sim.URL + "/identity", ApplicationCredentialID: sim.Credentials.ApplicationCredentialID,
		ApplicationCredentialSecret: sim.Credentials.ApplicationCredentialSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	project, err := app.GetAuthResult().(tokens.CreateResult).ExtractProject()
	if err != nil || project.ID != sim.ProjectID() || project.Name != "cosocial" {
		t.Fatalf("application credential's project %+v %v", project, err)
	}
	compute, err := openstack.NewComputeV2(app, gophercloud.EndpointOpts{Region: "ca-ymq-1"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := flavors.Get(ctx, compute, "v3-standard-2").Extract()
	if err != nil || f.VCPUs != 2 || f.RAM != 8192 || f.Disk != 0 {
		t.Fatalf("flavor through the application credential's token: %+v %v", f, err)
	}
	// `openstack flavor list` reads every flavor's extra specs.
	if specs, err := flavors.ListExtraSpecs(ctx, compute, "v3-standard-2").Extract(); err != nil || len(specs) != 0 {
		t.Fatalf("extra specs: %v, %v", specs, err)
	}
	if _, err := flavors.ListExtraSpecs(ctx, compute, "no-such-flavor").Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("extra specs of a flavor that does not exist: %v", err)
	}
	if _, err := openstack.NewComputeV2(app, gophercloud.EndpointOpts{Region: "sjc1"}); err == nil {
		t.Error("the catalog offers a region the simulator does not serve")
	}

	wrong := sim.Password()
	wrong.Password = "Tr0ub4dor&3"
	_, err = openstack.AuthenticatedClient(ctx, wrong)
	body := apiErr(t, err, http.StatusUnauthorized, "The request you have made requires authentication.")
	if e, _ := body["error"].(map[string]any); e["code"] != 401.0 || e["title"] != "Unauthorized" {
		t.Errorf("401 body %v", body)
	}
	if strings.Contains(err.Error(), "Tr0ub4dor") {
		t.Errorf("the error repeats the password: %v", err)
	}
	badApp := gophercloud.AuthOptions{IdentityEndpoint: sim.AuthURL, ApplicationCredentialID: sim.Credentials.ApplicationCredentialID, ApplicationCredentialSecret: "nope"}
	_, err = openstack.AuthenticatedClient(ctx, badApp)
	apiErr(t, err, http.StatusUnauthorized, "requires authentication")
	otherProject := sim.Password()
	otherProject.Scope = &gophercloud.AuthScope{ProjectName: "someone-else", DomainName: "Default"}
	_, err = openstack.AuthenticatedClient(ctx, otherProject)
	apiErr(t, err, http.StatusUnauthorized, "requires authentication")

	// Every other call needs the token, and a forged one is refused.
	for _, token := range []string{"", "gAAAAAforged.forged", p.TokenID[:len(p.TokenID)-2] + "xx"} {
		resp, body := raw(t, http.MethodGet, sim.URL+"/compute/v2.1/flavors", token, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"title":"Unauthorized"`) {
			t.Errorf("token %q: %d %s", token, resp.StatusCode, body)
		}
	}
	// A token given as is: gophercloud validates it with GET /v3/auth/tokens.
	again, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: sim.AuthURL, TokenID: p.TokenID})
	if err != nil {
		t.Fatalf("passing the token through: %v", err)
	}
	if u, err := again.GetAuthResult().(tokens.GetResult).ExtractUser(); err != nil || u.ID != sim.UserID() {
		t.Fatalf("the token's user: %+v %v", u, err)
	}
	// A revoked token stops working.
	if err := tokens.Revoke(ctx, c(t, p).identity, app.TokenID).Err; err != nil {
		t.Fatal(err)
	}
	if resp, _ := raw(t, http.MethodGet, sim.URL+"/compute/v2.1/flavors", app.TokenID, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a revoked token answers %d", resp.StatusCode)
	}
}

// c makes the identity client of a provider.
func c(t *testing.T, p *gophercloud.ProviderClient) clients {
	id, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	return clients{identity: id}
}

// raw sends a request without gophercloud, to see the exact answer.
func raw(t *testing.T, method, url, token string, body any) (*http.Response, string) {
	t.Helper()
	var r *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	} else {
		r = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, url, r)
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, sb.String()
}

// webGroup makes a security group open on 22, 80 and 443 only.
func webGroup(t *testing.T, c clients) *groups.SecGroup {
	t.Helper()
	g, err := groups.Create(ctx, c.network, groups.CreateOpts{Name: "mastodon-web", Description: "ssh and web"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []int{22, 80, 443} {
		for _, eth := range []rules.RuleEtherType{rules.EtherType4, rules.EtherType6} {
			prefix := "0.0.0.0/0"
			if eth == rules.EtherType6 {
				prefix = "::/0"
			}
			_, err := rules.Create(ctx, c.network, rules.CreateOpts{
				Direction: rules.DirIngress, EtherType: eth, SecGroupID: g.ID, Protocol: rules.ProtocolTCP,
				PortRangeMin: port, PortRangeMax: port, RemoteIPPrefix: prefix,
			}).Extract()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return g
}

func TestServerLifecycle(t *testing.T) {
	sim := ossimtest.Start(t, ossim.Options{})
	c := connect(t, sim)
	kp, err := keypairs.Create(ctx, c.compute, keypairs.CreateOpts{Name: "techops"}).Extract()
	if err != nil || !strings.HasPrefix(kp.PublicKey, "ssh-rsa ") || !strings.Contains(kp.PrivateKey, "PRIVATE KEY") || len(kp.Fingerprint) != 47 {
		t.Fatalf("generated key pair: %+v %v", kp, err)
	}
	_, err = keypairs.Create(ctx, c.compute, keypairs.CreateOpts{Name: "techops", PublicKey: kp.PublicKey}).Extract()
	apiErr(t, err, http.StatusConflict, "Key pair 'techops' already exists.")

	g := webGroup(t, c)
	g, err = groups.Get(ctx, c.network, g.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	var open []int
	for _, r := range g.Rules {
		if r.Direction == "ingress" {
			if r.Protocol != "tcp" || r.PortRangeMin != r.PortRangeMax || r.RemoteIPPrefix == "" {
				t.Errorf("ingress rule %+v", r)
			}
			open = append(open, r.PortRangeMin)
		}
	}
	slices.Sort(open)
	if !slices.Equal(open, []int{22, 22, 80, 80, 443, 443}) || len(g.Rules) != 8 {
		t.Fatalf("rules of the group: ingress on %v, %d rules", open, len(g.Rules))
	}
	_, err = rules.Create(ctx, c.network, rules.CreateOpts{Direction: rules.DirIngress, EtherType: rules.EtherType4, SecGroupID: g.ID, Protocol: rules.ProtocolTCP, PortRangeMin: 22, PortRangeMax: 22, RemoteIPPrefix: "0.0.0.0/0"}).Extract()
	if body := apiErr(t, err, http.StatusConflict, "Security group rule already exists"); body["NeutronError"].(map[string]any)["type"] != "SecurityGroupRuleExists" {
		t.Errorf("Neutron's error: %v", body)
	}
	_, err = rules.Create(ctx, c.network, rules.CreateOpts{Direction: rules.DirIngress, EtherType: rules.EtherType4, SecGroupID: g.ID, PortRangeMin: 22, PortRangeMax: 22}).Extract()
	apiErr(t, err, http.StatusBadRequest, "Must also specify protocol if port range is given.")

	debian := imageID(t, c, "Debian 12")
	// VEXXHOST's flavors have no disk: only a volume-backed server boots.
	_, err = servers.Create(ctx, c.compute, servers.CreateOpts{Name: "web", FlavorRef: "v3-standard-2", ImageRef: debian}, nil).Extract()
	apiErr(t, err, http.StatusForbidden, "Only volume-backed servers are allowed for flavors with zero disk.")
	_, err = servers.Create(ctx, c.compute, servers.CreateOpts{Name: "web", FlavorRef: "v3-huge", ImageRef: debian}, nil).Extract()
	if body := apiErr(t, err, http.StatusBadRequest, "Flavor v3-huge could not be found."); body["badRequest"].(map[string]any)["code"] != 400.0 {
		t.Errorf("Nova's error: %v", body)
	}
	_, err = servers.Create(ctx, c.compute, servers.CreateOpts{Name: "web", FlavorRef: "b3-8", ImageRef: debian}, nil).Extract()
	apiErr(t, err, http.StatusBadRequest, "Flavor b3-8 could not be found.")
	bfv := func(image string, size int) []servers.BlockDevice {
		return []servers.BlockDevice{{SourceType: servers.SourceImage, DestinationType: servers.DestinationVolume, UUID: image, VolumeSize: size, BootIndex: 0, DeleteOnTermination: true}}
	}
	_, err = servers.Create(ctx, c.compute, servers.CreateOpts{Name: "web", FlavorRef: "v3-standard-2", BlockDevice: bfv("0d2b2b8e-0000-4000-8000-000000000000", 20)}, nil).Extract()
	apiErr(t, err, http.StatusBadRequest, "Image 0d2b2b8e-0000-4000-8000-000000000000 could not be found.")

	create := keypairs.CreateOptsExt{KeyName: "techops", CreateOptsBuilder: servers.CreateOpts{
		Name: "mastodon", FlavorRef: "v3-standard-2", BlockDevice: bfv(debian, 40), SecurityGroups: []string{"mastodon-web"},
		UserData: []byte("#cloud-config\npackages: [docker.io]\n"), Networks: "auto", Metadata: map[string]string{"cosocial": "web"},
	}}
	created, err := servers.Create(ctx, c.compute, create, nil).Extract()
	if err != nil || created.ID == "" || created.AdminPass == "" {
		t.Fatalf("create: %+v %v", created, err)
	}
	got, err := servers.Get(ctx, c.compute, created.ID).Extract()
	if err != nil || got.Status != "BUILD" || len(got.Addresses) != 0 || got.TaskState != "spawning" {
		t.Fatalf("a new server: %+v %v", got, err)
	}
	s := waitServer(t, c, created.ID, "ACTIVE")
	var v4, v6 string
	for _, a := range s.Addresses["public"].([]any) {
		a := a.(map[string]any)
		switch a["version"] {
		case 4.0:
			v4 = a["addr"].(string)
		case 6.0:
			v6 = a["addr"].(string)
		}
	}
	if v4 == "" || v6 == "" || s.Image != nil || s.Flavor["id"] != "v3-standard-2" || s.KeyName != "techops" ||
		len(s.SecurityGroups) != 1 || s.SecurityGroups[0]["name"] != "mastodon-web" || len(s.AttachedVolumes) != 1 ||
		s.Metadata["cosocial"] != "web" || s.LaunchedAt.IsZero() || s.PowerState != servers.RUNNING {
		t.Fatalf("active server: %+v (v4 %q, v6 %q)", s, v4, v6)
	}
	root := waitVolume(t, c, s.AttachedVolumes[0].ID, "in-use")
	if root.Size != 40 || root.Bootable != "true" || len(root.Attachments) != 1 || root.Attachments[0].ServerID != s.ID || root.Attachments[0].Device != "/dev/vda" {
		t.Fatalf("root volume: %+v", root)
	}
	portPages, err := ports.List(c.network, ports.ListOpts{DeviceID: s.ID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := ports.ExtractPorts(portPages)
	if len(ps) != 1 || ps[0].Status != "ACTIVE" || ps[0].FixedIPs[0].IPAddress != v4 || !slices.Contains(ps[0].SecurityGroups, g.ID) {
		t.Fatalf("ports of the server: %+v", ps)
	}
	nets, err := networks.List(c.network, networks.ListOpts{Name: "public"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ns, _ := networks.ExtractNetworks(nets); len(ns) != 1 || ns[0].ID != ps[0].NetworkID {
		t.Fatalf("the public network: %+v", ns)
	}
	err = groups.Delete(ctx, c.network, g.ID).ExtractErr()
	apiErr(t, err, http.StatusConflict, "in use")

	// Resize: VERIFY_RESIZE, then confirmed.
	if err := servers.Resize(ctx, c.compute, s.ID, servers.ResizeOpts{FlavorRef: "v3-standard-4"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, c, s.ID, "VERIFY_RESIZE")
	if err := servers.ConfirmResize(ctx, c.compute, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if s = waitServer(t, c, s.ID, "ACTIVE"); s.Flavor["id"] != "v3-standard-4" {
		t.Fatalf("after resize: flavor %v", s.Flavor)
	}

	all, err := servers.List(c.compute, servers.ListOpts{Name: "^mastodon$"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := servers.ExtractServers(all); len(list) != 1 || list[0].ID != s.ID {
		t.Fatalf("list: %+v", list)
	}
	if err := servers.Delete(ctx, c.compute, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if d, err := servers.Get(ctx, c.compute, s.ID).Extract(); err != nil || d.TaskState != "deleting" {
		t.Fatalf("a server being deleted: %+v %v", d, err)
	}
	err = waitGone(t, "the server", func() error { return servers.Get(ctx, c.compute, s.ID).Err })
	if body := apiErr(t, err, http.StatusNotFound, "Instance "+s.ID+" could not be found."); body["itemNotFound"] == nil {
		t.Errorf("Nova's 404: %v", body)
	}
	err = volumes.Get(ctx, c.volume, root.ID).Err
	apiErr(t, err, http.StatusNotFound, "Volume "+root.ID+" could not be found.")
	portPages, _ = ports.List(c.network, ports.ListOpts{DeviceID: s.ID}).AllPages(ctx)
	if ps, _ := ports.ExtractPorts(portPages); len(ps) != 0 {
		t.Errorf("ports left after delete: %+v", ps)
	}
	if err := groups.Delete(ctx, c.network, g.ID).ExtractErr(); err != nil {
		t.Fatalf("the group, no longer in use: %v", err)
	}
	err = groups.Get(ctx, c.network, g.ID).Err
	apiErr(t, err, http.StatusNotFound, `"type":"SecurityGroupNotFound"`)
	if err := keypairs.Delete(ctx, c.compute, "techops", nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	apiErr(t, keypairs.Get(ctx, c.compute, "techops", nil).Err, http.StatusNotFound, "Keypair techops not found")
}

func TestMicroversions(t *testing.T) {
	sim := ossimtest.Start(t, ossim.Options{})
	c := connect(t, sim)
	compute := *c.compute
	compute.Microversion = "2.79"
	debian := imageID(t, c, "Debian 12")
	bdm := []servers.BlockDevice{{SourceType: servers.SourceImage, DestinationType: servers.DestinationVolume, UUID: debian, VolumeSize: 10, BootIndex: 0, DeleteOnTermination: true}}
	_, err := servers.Create(ctx, &compute, servers.CreateOpts{Name: "db", FlavorRef: "v3-standard-4", BlockDevice: bdm}, nil).Extract()
	apiErr(t, err, http.StatusBadRequest, "'networks' is a required property")
	s, err := servers.Create(ctx, &compute, servers.CreateOpts{Name: "db", FlavorRef: "v3-standard-4", BlockDevice: bdm, Networks: "auto"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	got := waitServer(t, clients{compute: &compute}, s.ID, "ACTIVE")
	if got.Flavor["original_name"] != "v3-standard-4" || got.Flavor["vcpus"] != 4.0 || got.Locked == nil || got.Tags == nil {
		t.Fatalf("2.79 server: flavor %v locked %v tags %v", got.Flavor, got.Locked, got.Tags)
	}
	compute.Microversion = "2.200"
	_, err = servers.Get(ctx, &compute, s.ID).Extract()
	apiErr(t, err, http.StatusNotAcceptable, "Version 2.200 is not supported by the API. Minimum is 2.1 and maximum is 2.96.")
}

func TestVolumeAttachExtendAndDelete(t *testing.T) {
	sim := ossimtest.Start(t, ossim.Options{})
	c := connect(t, sim)
	debian := imageID(t, c, "Debian 12")
	s, err := servers.Create(ctx, c.compute, servers.CreateOpts{Name: "db", FlavorRef: "v3-standard-4", BlockDevice: []servers.BlockDevice{
		{SourceType: servers.SourceImage, DestinationType: servers.DestinationVolume, UUID: debian, VolumeSize: 10, DeleteOnTermination: true},
	}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	_, err = volumes.Create(ctx, c.volume, volumes.CreateOpts{Size: 1, ImageID: debian}, nil).Extract()
	apiErr(t, err, http.StatusBadRequest, "cannot be smaller than the image minDisk size 2GB")
	v, err := volumes.Create(ctx, c.volume, volumes.CreateOpts{Size: 60, Name: "pgdata"}, nil).Extract()
	if err != nil || v.Status != "creating" || v.Size != 60 || v.Name != "pgdata" || v.CreatedAt.IsZero() {
		t.Fatalf("create volume: %+v %v", v, err)
	}
	waitVolume(t, c, v.ID, "available")
	waitServer(t, c, s.ID, "ACTIVE")

	att, err := volumeattach.Create(ctx, c.compute, s.ID, volumeattach.CreateOpts{VolumeID: v.ID}).Extract()
	if err != nil || att.VolumeID != v.ID || att.ServerID != s.ID || att.Device != "/dev/vdb" {
		t.Fatalf("attach: %+v %v", att, err)
	}
	inUse := waitVolume(t, c, v.ID, "in-use")
	if len(inUse.Attachments) != 1 || inUse.Attachments[0].ServerID != s.ID || inUse.Attachments[0].AttachedAt.IsZero() {
		t.Fatalf("in-use volume: %+v", inUse)
	}
	list, err := volumeattach.List(c.compute, s.ID).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if atts, _ := volumeattach.ExtractVolumeAttachments(list); len(atts) != 2 {
		t.Fatalf("attachments: %+v", atts)
	}

	// Extending an attached volume needs Cinder's microversion 3.42.
	err = volumes.ExtendSize(ctx, c.volume, v.ID, volumes.ExtendSizeOpts{NewSize: 100}).ExtractErr()
	apiErr(t, err, http.StatusBadRequest, "3.42")
	volume := *c.volume
	volume.Microversion = "3.42"
	err = volumes.ExtendSize(ctx, &volume, v.ID, volumes.ExtendSizeOpts{NewSize: 50}).ExtractErr()
	apiErr(t, err, http.StatusBadRequest, "New size for extend must be greater than current size. (current: 60, extended: 50).")
	if err := volumes.ExtendSize(ctx, &volume, v.ID, volumes.ExtendSizeOpts{NewSize: 100}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if ext, err := volumes.Get(ctx, &volume, v.ID).Extract(); err != nil || ext.Status != "extending" || ext.Size != 60 {
		t.Fatalf("while extending: %+v %v", ext, err)
	}
	if grown := waitVolume(t, c, v.ID, "in-use"); grown.Size != 100 {
		t.Fatalf("after extend: size %d", grown.Size)
	}

	err = volumes.Delete(ctx, c.volume, v.ID, volumes.DeleteOpts{}).ExtractErr()
	body := apiErr(t, err, http.StatusBadRequest, "Invalid volume: Volume status must be available or error")
	if br, _ := body["badRequest"].(map[string]any); br["code"] != 400.0 || len(body) != 1 {
		t.Errorf("Cinder's error: %v", body)
	}
	err = volumeattach.Delete(ctx, c.compute, s.ID, s.ID).ExtractErr()
	apiErr(t, err, http.StatusNotFound, "is not attached")
	if err := volumeattach.Delete(ctx, c.compute, s.ID, v.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if free := waitVolume(t, c, v.ID, "available"); len(free.Attachments) != 0 {
		t.Fatalf("detached volume: %+v", free)
	}
	if err := volumes.Delete(ctx, c.volume, v.ID, volumes.DeleteOpts{}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "the volume", func() error { return volumes.Get(ctx, c.volume, v.ID).Err })
	err = volumes.Create(ctx, c.volume, volumes.CreateOpts{Size: 20000}, nil).Err
	apiErr(t, err, http.StatusRequestEntityTooLarge, "VolumeSizeExceedsAvailableQuota")
}

func TestZonesAndRecordSets(t *testing.T) {
	sim := ossimtest.Start(t, ossim.Options{})
	c := connect(t, sim)
	z, err := zones.Create(ctx, c.dns, zones.CreateOpts{Name: "cosocial.ca.", Email: "techops@cosocial.ca", TTL: 600, Description: "members' instance"}).Extract()
	if err != nil || z.Status != "PENDING" || z.Action != "CREATE" || z.TTL != 600 || z.Serial == 0 {
		t.Fatalf("create zone: %+v %v", z, err)
	}
	_, err = zones.Create(ctx, c.dns, zones.CreateOpts{Name: "cosocial.ca.", Email: "techops@cosocial.ca"}).Extract()
	if body := apiErr(t, err, http.StatusConflict, "Duplicate Zone"); body["type"] != "duplicate_zone" || body["request_id"] == "" {
		t.Errorf("Designate's error: %v", body)
	}
	_, err = zones.Create(ctx, c.dns, zones.CreateOpts{Name: "cosocial.ca", Email: "techops@cosocial.ca"}).Extract()
	apiErr(t, err, http.StatusBadRequest, "is not a 'domainname'")
	waitZone := func(status string) *zones.Zone {
		deadline := time.Now().Add(time.Minute) // bounds a hang only
		for {
			got, err := zones.Get(ctx, c.dns, z.ID).Extract()
			if err != nil {
				t.Fatal(err)
			}
			if got.Status == status {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("zone is %s, waited for %s", got.Status, status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitZone("ACTIVE")
	page, err := zones.List(c.dns, zones.ListOpts{Name: "cosocial.ca."}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if zs, _ := zones.ExtractZones(page); len(zs) != 1 || zs[0].ID != z.ID {
		t.Fatalf("list zones: %+v", zs)
	}

	rs, err := recordsets.Create(ctx, c.dns, z.ID, recordsets.CreateOpts{Name: "social.cosocial.ca.", Type: "A", Records: []string{"203.0.113.10"}, TTL: 300}).Extract()
	if err != nil || rs.Status != "PENDING" || rs.TTL != 300 || rs.ZoneName != "cosocial.ca." {
		t.Fatalf("create record set: %+v %v", rs, err)
	}
	_, err = recordsets.Create(ctx, c.dns, z.ID, recordsets.CreateOpts{Name: "social.cosocial.ca.", Type: "A", Records: []string{"203.0.113.11"}}).Extract()
	apiErr(t, err, http.StatusConflict, "Duplicate RecordSet")
	_, err = recordsets.Create(ctx, c.dns, z.ID, recordsets.CreateOpts{Name: "www.cosocial.ca.", Type: "AAAA", Records: []string{"203.0.113.11"}}).Extract()
	apiErr(t, err, http.StatusBadRequest, "is not a 'ipv6'")
	_, err = recordsets.Create(ctx, c.dns, z.ID, recordsets.CreateOpts{Name: "www.example.org.", Type: "A", Records: []string{"203.0.113.11"}}).Extract()
	apiErr(t, err, http.StatusBadRequest, "invalid_recordset_location")
	ttl := 3600
	up, err := recordsets.Update(ctx, c.dns, z.ID, rs.ID, recordsets.UpdateOpts{TTL: &ttl, Records: []string{"203.0.113.20", "203.0.113.21"}}).Extract()
	if err != nil || up.TTL != 3600 || len(up.Records) != 2 || up.Action != "UPDATE" {
		t.Fatalf("update record set: %+v %v", up, err)
	}
	all, err := recordsets.ListByZone(c.dns, z.ID, recordsets.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sets, _ := recordsets.ExtractRecordSets(all)
	var kinds []string
	for _, r := range sets {
		kinds = append(kinds, r.Type)
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, []string{"A", "NS", "SOA"}) {
		t.Fatalf("record sets: %v", kinds)
	}
	if err := recordsets.Delete(ctx, c.dns, z.ID, rs.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	err = waitGone(t, "the record set", func() error { return recordsets.Get(ctx, c.dns, z.ID, rs.ID).Err })
	apiErr(t, err, http.StatusNotFound, "recordset_not_found")
	if _, err := zones.Delete(ctx, c.dns, z.ID).Extract(); err != nil {
		t.Fatal(err)
	}
	err = waitGone(t, "the zone", func() error { return zones.Get(ctx, c.dns, z.ID).Err })
	apiErr(t, err, http.StatusNotFound, "Could not find Zone")
}

// TestServersPageByLimitAndMarker follows Nova's servers_links two at a
// time and sees every server once, newest first.
func TestServersPageByLimitAndMarker(t *testing.T) {
	sim := ossimtest.Start(t, ossim.Options{Quotas: ossim.Quotas{Instances: 5}})
	c := connect(t, sim)
	debian := imageID(t, c, "Debian 12")
	var want []string
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		s, err := servers.Create(ctx, c.compute, servers.CreateOpts{Name: name, FlavorRef: "v3-starter-1", BlockDevice: []servers.BlockDevice{
			{SourceType: servers.SourceImage, DestinationType: servers.DestinationVolume, UUID: debian, VolumeSize: 5, DeleteOnTermination: true},
		}}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{s.ID}, want...)
	}
	var seen []string
	pages := 0
	err := servers.List(c.compute, servers.ListOpts{Limit: 2}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		pages++
		list, err := servers.ExtractServers(p)
		if len(list) > 2 {
			t.Errorf("page %d has %d servers", pages, len(list))
		}
		for _, s := range list {
			seen = append(seen, s.ID)
		}
		return true, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, want) || pages != 3 {
		t.Fatalf("%d pages, seen %v, want %v", pages, seen, want)
	}
	markers := 0
	for _, r := range sim.Requests() {
		if strings.HasPrefix(r.Path, "/compute/v2.1/servers/detail?") && strings.Contains(r.Path, "marker=") {
			markers++
		}
	}
	if markers != 2 {
		t.Errorf("%d requests followed a marker, want 2", markers)
	}
	_, err = servers.List(c.compute, servers.ListOpts{Marker: "no-such-server"}).AllPages(ctx)
	apiErr(t, err, http.StatusBadRequest, "marker [no-such-server] not found")
	_, err = servers.Create(ctx, c.compute, servers.CreateOpts{Name: "f", FlavorRef: "v3-starter-1", BlockDevice: []servers.BlockDevice{
		{SourceType: servers.SourceImage, DestinationType: servers.DestinationVolume, UUID: debian, VolumeSize: 5},
	}}, nil).Extract()
	if body := apiErr(t, err, http.StatusForbidden, "Quota exceeded for instances: Requested 1, but already used 5 of 5 instances"); body["forbidden"] == nil {
		t.Errorf("Nova's quota error: %v", body)
	}
}

func TestInjectedFaults(t *testing.T) {
	sim := ossimtest.Start(t, ossim.Options{})
	c := connect(t, sim)
	sim.SetFaults(ossim.Faults{Rate: 1, Codes: []int{http.StatusServiceUnavailable}})
	for i := 0; i < 3; i++ {
		_, err := flavors.Get(ctx, c.compute, "v3-standard-2").Extract()
		if body := apiErr(t, err, http.StatusServiceUnavailable, "The server is currently unavailable."); body["serviceUnavailable"] == nil {
			t.Errorf("Nova's 503: %v", body)
		}
	}
	_, err := groups.List(c.network, groups.ListOpts{}).AllPages(ctx)
	apiErr(t, err, http.StatusServiceUnavailable, `"NeutronError"`)
	// Tokens are still issued while the APIs fail.
	if _, err := openstack.AuthenticatedClient(ctx, sim.Password()); err != nil {
		t.Fatalf("login during the storm: %v", err)
	}
	sim.SetFaults(ossim.Faults{Burst: 1})
	_, err = zones.List(c.dns, nil).AllPages(ctx)
	apiErr(t, err, http.StatusTooManyRequests, "rate-limited")
	if _, err := flavors.Get(ctx, c.compute, "v3-standard-2").Extract(); err != nil {
		t.Fatalf("after the burst: %v", err)
	}
	var logged int
	for _, r := range sim.Requests() {
		if r.Status == http.StatusServiceUnavailable && r.RequestID != "" {
			logged++
		}
	}
	if logged != 4 {
		t.Errorf("%d 503s in the request log, want 4", logged)
	}
}

func TestRecordsSurviveARestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "openstack.json")
	serve := func() (*ossim.Server, *httptest.Server) {
		s, err := ossim.New(ossim.Options{Credentials: ossimtest.Credentials, Timing: ossimtest.Fast, StateFile: state})
		if err != nil {
			t.Fatal(err)
		}
		return s, httptest.NewServer(s.Handler())
	}
	s, srv := serve()
	sim := &ossimtest.Sim{Server: s, URL: srv.URL, AuthURL: srv.URL + "/identity/v3", Credentials: ossimtest.Credentials}
	c := connect(t, sim)
	v, err := volumes.Create(ctx, c.volume, volumes.CreateOpts{Size: 10, Name: "keep"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	g, err := groups.Create(ctx, c.network, groups.CreateOpts{Name: "keep"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	token := c.provider.TokenID
	srv.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, srv = serve()
	defer func() { srv.Close(); s.Close() }()
	// A token issued before the restart still works, as a fernet token does.
	resp, body := raw(t, http.MethodGet, srv.URL+"/volume/v3/"+s.ProjectID()+"/volumes/"+v.ID, token, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"keep"`) {
		t.Fatalf("volume after restart: %d %s", resp.StatusCode, body)
	}
	if resp, body := raw(t, http.MethodGet, srv.URL+"/network/v2.0/security-groups/"+g.ID, token, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("group after restart: %d %s", resp.StatusCode, body)
	}
	resp, body = raw(t, http.MethodGet, srv.URL+"/network/v2.0/security-groups?name=default", token, nil)
	if resp.StatusCode != http.StatusOK || strings.Count(body, `"name":"default"`) != 1 {
		t.Fatalf("one default group after restart: %s", body)
	}
}
