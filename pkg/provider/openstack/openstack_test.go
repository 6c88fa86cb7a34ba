package openstack_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	gopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"

	"golang.org/x/crypto/ssh"

	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/openstack"
	"github.com/cosocial/cosocial/pkg/provider/providertest"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim/ossimtest"
)

// sshKey is a real public key: Nova reads a keypair's key.
var sshKey = func() string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " techops@cosocial.ca"
}()

// quick is the retry policy of tests: as many attempts as the default,
// with short delays.
var quick = provider.Backoff{Attempts: provider.DefaultBackoff.Attempts, Base: 5 * time.Millisecond, Max: 50 * time.Millisecond}

// env is what the sandbox hands a client of the simulator: OS_* variables
// for a password login, and nothing of this process's environment.
func env(sim *ossimtest.Sim) map[string]string {
	c := sim.Credentials
	return map[string]string{
		"OS_AUTH_URL": sim.AuthURL, "OS_USERNAME": c.Username, "OS_PASSWORD": c.Password,
		"OS_PROJECT_NAME": c.ProjectName, "OS_DOMAIN_NAME": c.DomainName, "OS_REGION_NAME": sim.Region(),
		"OS_IDENTITY_API_VERSION": "3", "OS_INTERFACE": "public",
	}
}

// start serves a simulator and returns a provider logged in to it with
// OS_* variables.
func start(t *testing.T, opts ossim.Options, mod func(*openstack.Config)) (*ossimtest.Sim, *openstack.Cloud) {
	t.Helper()
	sim := ossimtest.Start(t, opts)
	return sim, connectTo(t, sim, mod)
}

// connectTo is the provider logged in to a simulator already served.
func connectTo(t *testing.T, sim *ossimtest.Sim, mod func(*openstack.Config)) *openstack.Cloud {
	t.Helper()
	cfg := openstack.Config{Region: "ca-ymq-1", Env: env(sim), Poll: 10 * time.Millisecond, Backoff: quick}
	if mod != nil {
		mod(&cfg)
	}
	cloud, err := openstack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cloud
}

// clients are gophercloud's own, to look at what the provider did.
type clients struct {
	compute, volume, network *gophercloud.ServiceClient
}

func connect(t *testing.T, sim *ossimtest.Sim) clients {
	t.Helper()
	p := sim.Provider(t)
	eo := gophercloud.EndpointOpts{Region: sim.Region()}
	compute, err := gopenstack.NewComputeV2(p, eo)
	if err != nil {
		t.Fatal(err)
	}
	compute.Microversion = "2.79"
	volume, err := gopenstack.NewBlockStorageV3(p, eo)
	if err != nil {
		t.Fatal(err)
	}
	network, err := gopenstack.NewNetworkV2(p, eo)
	if err != nil {
		t.Fatal(err)
	}
	return clients{compute, volume, network}
}

var bg = context.Background()

func TestServerContract(t *testing.T) {
	_, cloud := start(t, ossim.Options{}, nil)
	providertest.Servers(t, providertest.ServerCase{Servers: cloud, Region: "ca-ymq-1", Flavor: "v3-starter-1", BiggerFlavor: "v3-standard-2", Image: "Debian 12", SSHKey: sshKey})
}

// TestServerIsBuiltAsAsked looks behind the provider: a boot volume of the
// size asked that dies with the server, the key as a keypair named after
// the server, a security group opening 22, 80 and 443 only, made once and
// shared, and the keypair gone with the server.
func TestServerIsBuiltAsAsked(t *testing.T) {
	sim, cloud := start(t, ossim.Options{}, nil)
	c := connect(t, sim)
	spec := provider.ServerSpec{Name: "web", Flavor: "v3-standard-2", Image: "Ubuntu 24.04", SSHKeys: []string{sshKey}, UserData: "#cloud-config\nruncmd: [true]\n", DiskGB: 40}
	s, err := cloud.CreateServer(bg, spec)
	if err != nil {
		t.Fatal(err)
	}
	if s.Image != "Ubuntu 24.04" || s.Flavor != "v3-standard-2" || !strings.HasPrefix(s.IPv4, "203.0.113.") || !strings.HasPrefix(s.IPv6, "2001:db8:") {
		t.Errorf("server = %+v", s)
	}
	sv, err := servers.Get(bg, c.compute, s.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if sv.KeyName != "web" || len(sv.AttachedVolumes) != 1 || len(sv.SecurityGroups) != 1 || sv.SecurityGroups[0]["name"] != openstack.WebGroup {
		t.Fatalf("Nova's server: key %q, volumes %+v, groups %+v", sv.KeyName, sv.AttachedVolumes, sv.SecurityGroups)
	}
	boot, err := volumes.Get(bg, c.volume, sv.AttachedVolumes[0].ID).Extract()
	if err != nil || boot.Size != 40 || boot.VolumeImageMetadata["image_name"] != "Ubuntu 24.04" {
		t.Fatalf("boot volume: %+v %v", boot, err)
	}
	kp, err := keypairs.Get(bg, c.compute, "web", nil).Extract()
	if err != nil || kp.PublicKey != sshKey {
		t.Fatalf("keypair: %+v %v", kp, err)
	}
	if got := webRules(t, c); strings.Join(got, " ") != "IPv4/22/0.0.0.0/0 IPv4/443/0.0.0.0/0 IPv4/80/0.0.0.0/0 IPv6/22/::/0 IPv6/443/::/0 IPv6/80/::/0" {
		t.Errorf("ingress rules of %s: %v", openstack.WebGroup, got)
	}

	// A second server reuses the group and gets a keypair of its own.
	spec2 := spec
	spec2.Name, spec2.DiskGB = "web-2", 0
	s2, err := cloud.CreateServer(bg, spec2)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(webGroups(t, c)); n != 1 {
		t.Errorf("%d groups named %s after two servers", n, openstack.WebGroup)
	}
	sv2, _ := servers.Get(bg, c.compute, s2.ID).Extract()
	if boot2, err := volumes.Get(bg, c.volume, sv2.AttachedVolumes[0].ID).Extract(); err != nil || boot2.Size != 20 {
		t.Errorf("default boot volume: %+v %v", boot2, err)
	}

	if err := cloud.DeleteServer(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := keypairs.Get(bg, c.compute, "web", nil).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("keypair after delete: %v", err)
	}
	if _, err := volumes.Get(bg, c.volume, boot.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("boot volume after delete: %v", err)
	}
	if err := cloud.DeleteServer(bg, s2.ID); err != nil {
		t.Fatal(err)
	}
}

func webGroups(t *testing.T, c clients) []groups.SecGroup {
	return namedGroups(t, c, openstack.WebGroup)
}

func webRules(t *testing.T, c clients) []string { return groupRules(t, c, openstack.WebGroup) }

// rulesCreate opens a port by hand, as someone at the dashboard might.
func rulesCreate(c clients, group string, port int) error {
	return rules.Create(bg, c.network, rules.CreateOpts{
		Direction: rules.DirIngress, EtherType: rules.EtherType4, SecGroupID: group, Protocol: rules.ProtocolTCP,
		PortRangeMin: port, PortRangeMax: port, RemoteIPPrefix: "0.0.0.0/0",
	}).Err
}

// TestSecurityGroupIsKeptExact: a rule someone added by hand is taken out
// again, and nothing is added twice.
func TestSecurityGroupIsKeptExact(t *testing.T) {
	sim, cloud := start(t, ossim.Options{}, nil)
	c := connect(t, sim)
	if _, err := cloud.CreateServer(bg, provider.ServerSpec{Name: "web", Flavor: "v3-starter-1", Image: "Debian 12"}); err != nil {
		t.Fatal(err)
	}
	g := webGroups(t, c)[0]
	if err := rulesCreate(c, g.ID, 5432); err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.CreateServer(bg, provider.ServerSpec{Name: "web-2", Flavor: "v3-starter-1", Image: "Debian 12"}); err != nil {
		t.Fatal(err)
	}
	if got := webRules(t, c); len(got) != 6 || slices.ContainsFunc(got, func(r string) bool { return strings.Contains(r, "/5432/") }) {
		t.Errorf("rules after a second server: %v", got)
	}
}

func TestServerDeletedBehindTheProvidersBack(t *testing.T) {
	sim, cloud := start(t, ossim.Options{}, nil)
	c := connect(t, sim)
	s, err := cloud.CreateServer(bg, provider.ServerSpec{Name: "web", Flavor: "v3-starter-1", Image: "Debian 12"})
	if err != nil {
		t.Fatal(err)
	}
	if err := servers.Delete(bg, c.compute, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute) // bounds a hang only
	for {
		_, err := cloud.Server(bg, s.ID)
		if errors.Is(err, provider.ErrNotFound) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("reading a server deleted behind the provider's back: %v, want ErrNotFound", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cloud.DeleteServer(bg, s.ID); err != nil {
		t.Errorf("deleting a server already gone: %v", err)
	}
}

// TestErrorsCarryTheCloudsWords: an unknown flavor is Nova's own answer
// with the flavors the region offers; a missing server is Nova's 404 with
// its request ID.
func TestErrorsCarryTheCloudsWords(t *testing.T) {
	_, cloud := start(t, ossim.Options{}, nil)
	_, err := cloud.CreateServer(bg, provider.ServerSpec{Name: "web", Flavor: "v3-huge", Image: "Debian 12"})
	var api *provider.APIError
	if !errors.As(err, &api) || api.Message != "Flavor v3-huge could not be found." || api.Provider != "OpenStack Nova" {
		t.Fatalf("unknown flavor: %v", err)
	}
	if !strings.Contains(err.Error(), "(flavors offered in ca-ymq-1: v3-starter-1, v3-starter-2, v3-starter-4, v3-standard-1, v3-standard-2, v3-standard-4, v3-standard-8, v3-standard-16, v3-standard-32)") {
		t.Errorf("unknown flavor does not list the flavors: %v", err)
	}
	_, err = cloud.CreateServer(bg, provider.ServerSpec{Name: "web", Flavor: "v3-starter-1", Image: "Windows 95"})
	if err == nil || err.Error() != `OpenStack has no image "Windows 95" in ca-ymq-1 (it has Debian 12, Debian 11, Ubuntu 24.04, Ubuntu 22.04)` {
		t.Errorf("unknown image: %v", err)
	}
	_, err = cloud.Server(bg, "no-such-id")
	if !errors.Is(err, provider.ErrNotFound) || !errors.As(err, &api) || api.Class != "itemNotFound" || api.Message != "Instance no-such-id could not be found." || !strings.HasPrefix(api.QueryID, "req-") {
		t.Errorf("missing server: %v", err)
	}
}

// TestRateLimitStormStillSucceeds answers the first six requests with 429,
// then one in three with 429, 500 or 503: every call still succeeds, and
// no server is created twice.
func TestRateLimitStormStillSucceeds(t *testing.T) {
	sim, cloud := start(t, ossim.Options{Faults: ossim.Faults{Burst: 6, Rate: 0.33, Codes: []int{429, 500, 503}, Seed: 7}}, nil)
	providertest.Servers(t, providertest.ServerCase{Servers: cloud, Region: "ca-ymq-1", Flavor: "v3-starter-1", BiggerFlavor: "v3-standard-2", Image: "Debian 12", SSHKey: sshKey})
	var limited, creates int
	for _, r := range sim.Requests() {
		if r.Status == http.StatusTooManyRequests {
			limited++
		}
		if r.Method == http.MethodPost && r.Path == "/compute/v2.1/servers" && r.Status == http.StatusAccepted {
			creates++
		}
	}
	if limited < 6 {
		t.Errorf("only %d requests were rate-limited", limited)
	}
	if creates != 1 {
		t.Errorf("%d servers were created, want exactly 1", creates)
	}
}

// TestCloudsYAML logs in through a clouds.yaml named by
// OS_CLIENT_CONFIG_FILE, with a password and with an application
// credential; the region comes from the description when it gives one.
func TestCloudsYAML(t *testing.T) {
	sim := ossimtest.Start(t, ossim.Options{})
	c := sim.Credentials
	dir := t.TempDir()
	path := filepath.Join(dir, "clouds.yaml")
	yaml := "clouds:\n" +
		"  vexxhost:\n    auth:\n      auth_url: " + sim.AuthURL + "\n      username: " + c.Username + "\n      password: \"" + c.Password + "\"\n" +
		"      project_name: " + c.ProjectName + "\n      user_domain_name: Default\n      project_domain_name: Default\n" +
		"    region_name: ca-ymq-1\n    interface: public\n    identity_api_version: 3\n" +
		"  vexxhost-appcred:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: " + sim.AuthURL + "\n" +
		"      application_credential_id: " + c.ApplicationCredentialID + "\n      application_credential_secret: " + c.ApplicationCredentialSecret + "\n" +
		"    region_name: ca-ymq-1\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cloud := range []string{"vexxhost", "vexxhost-appcred"} {
		t.Run(cloud, func(t *testing.T) {
			p, err := openstack.New(openstack.Config{Cloud: cloud, Env: map[string]string{"OS_CLIENT_CONFIG_FILE": path}, Poll: 10 * time.Millisecond, Backoff: quick})
			if err != nil {
				t.Fatal(err)
			}
			if p.Region() != "ca-ymq-1" {
				t.Errorf("region %q", p.Region())
			}
			// Logged in: Nova answers, and answers not found.
			if _, err := p.Server(bg, "no-such-id"); !errors.Is(err, provider.ErrNotFound) {
				t.Fatalf("a call through clouds.yaml's %s: %v", cloud, err)
			}
		})
	}
	// The description's region wins over clouds.yaml's.
	p, err := openstack.New(openstack.Config{Cloud: "vexxhost", Region: "sjc1", Env: map[string]string{"OS_CLIENT_CONFIG_FILE": path}, Backoff: quick})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Server(bg, "x"); err == nil || !strings.Contains(err.Error(), "no compute service in sjc1") {
		t.Errorf("a region the cloud does not serve: %v", err)
	}
	// A cloud the file does not have is named as missing.
	if _, err := openstack.New(openstack.Config{Cloud: "ovh", Env: map[string]string{"OS_CLIENT_CONFIG_FILE": path}}); err == nil || !strings.Contains(err.Error(), `cloud "ovh" not found`) {
		t.Errorf("unknown cloud: %v", err)
	}
	if _, err := openstack.New(openstack.Config{Cloud: "vexxhost", Env: map[string]string{"HOME": dir}}); err == nil || !strings.Contains(err.Error(), "no clouds.yaml found") {
		t.Errorf("no clouds.yaml: %v", err)
	}
}

// TestRefusedCredentials: Keystone's own words, and never the secret.
func TestRefusedCredentials(t *testing.T) {
	sim := ossimtest.Start(t, ossim.Options{})
	for name, mod := range map[string]func(map[string]string){
		"password": func(e map[string]string) { e["OS_PASSWORD"] = "hunter2-not-the-password" },
		"application credential": func(e map[string]string) {
			delete(e, "OS_USERNAME")
			delete(e, "OS_PASSWORD")
			delete(e, "OS_PROJECT_NAME")
			e["OS_APPLICATION_CREDENTIAL_ID"] = sim.Credentials.ApplicationCredentialID
			e["OS_APPLICATION_CREDENTIAL_SECRET"] = "hunter2-not-the-password"
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := env(sim)
			mod(e)
			cloud, err := openstack.New(openstack.Config{Env: e, Backoff: quick})
			if err != nil {
				t.Fatal(err)
			}
			_, err = cloud.Server(bg, "x")
			var api *provider.APIError
			if !errors.As(err, &api) || api.Status != 401 || api.Message != "The request you have made requires authentication." {
				t.Fatalf("refused login: %v", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the secret: %v", err)
			}
			if !strings.Contains(err.Error(), "The request you have made requires authentication.") {
				t.Errorf("Keystone's words are not in %q", err)
			}
		})
	}
}

// TestEnvironmentIsReadLikeGophercloud: with no Env, the process's OS_*
// variables are read by gophercloud's own AuthOptionsFromEnv; with Env,
// the same variables give the same login.
func TestEnvironmentIsReadLikeGophercloud(t *testing.T) {
	sim := ossimtest.Start(t, ossim.Options{})
	e := env(sim)
	for k, v := range e {
		t.Setenv(k, v)
	}
	t.Setenv("OS_CLOUD", "")
	t.Setenv("OS_CLIENT_CONFIG_FILE", "")
	for _, cfg := range []openstack.Config{{Backoff: quick}, {Env: e, Backoff: quick}} {
		cloud, err := openstack.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cloud.Server(bg, "no-such-id"); !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("Env %v: %v", cfg.Env != nil, err)
		}
	}
	// Env replaces the process's environment: none of it leaks in.
	if _, err := openstack.New(openstack.Config{Env: map[string]string{}}); err == nil || !strings.Contains(err.Error(), "OS_AUTH_URL") {
		t.Errorf("an empty Env: %v", err)
	}
}
