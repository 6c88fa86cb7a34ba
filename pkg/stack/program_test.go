package stack_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/provider/providers"
	"github.com/cosocial/cosocial/pkg/stack"
)

// mocks records every resource the program registers, and answers with
// outputs shaped like the plugin's.
type mocks struct {
	mu   sync.Mutex
	regs map[string]pulumi.MockResourceArgs
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.regs[args.Name] = args
	out := args.Inputs.Copy()
	// By the resource the kind registered the type for, so that any
	// kind's server answers as a server.
	res := providers.Tokens()[args.TypeToken]
	switch {
	case res == model.KindServer:
		out["ipv4"] = resource.NewProperty("192.0.2.7")
		out["ipv6"] = resource.NewProperty("2001:db8::7")
		out["hostKey"] = resource.NewProperty("ssh-ed25519 AAAAhost")
		out["loginKey"] = resource.MakeSecret(resource.NewProperty("-----BEGIN OPENSSH PRIVATE KEY-----"))
	case res == model.KindDatabase:
		out["host"] = resource.NewProperty("db.example")
		out["port"] = resource.NewProperty(5432.0)
		out["sslMode"] = resource.NewProperty("require")
		out["passwords"] = resource.MakeSecret(resource.NewProperty(resource.PropertyMap{"mastodon": resource.NewProperty("pw")}))
	case args.TypeToken == "cosocial:app:Secrets":
		out["secrets"] = resource.MakeSecret(resource.NewProperty(resource.PropertyMap{"SECRET_KEY_BASE": resource.NewProperty("skb")}))
	case res == model.KindBucket:
		out["endpoint"] = resource.NewProperty("https://s3.bhs.io.cloud.ovh.net")
		out["bucket"] = args.Inputs["name"]
		out["accessKey"] = resource.MakeSecret(resource.NewProperty("AK"))
		out["secretKey"] = resource.MakeSecret(resource.NewProperty("SK"))
	}
	return args.Name + "-id", out, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) { return args.Args, nil }

func run(t *testing.T, src string) map[string]pulumi.MockResourceArgs {
	t.Helper()
	regs, err := runWith(t, src, stack.ProgramOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return regs
}

func runWith(t *testing.T, src string, opts stack.ProgramOptions) (map[string]pulumi.MockResourceArgs, error) {
	t.Helper()
	m := &mocks{regs: map[string]pulumi.MockResourceArgs{}}
	opts.Endpoints = map[string]string{"bhs": "http://127.0.0.1:1/1.0"}
	err := pulumi.RunErr(stack.Program(load(t, src), opts), pulumi.WithMocks("cosocial-t", "production", m))
	return m.regs, err
}

const ovhOnly = `
coop "t" {
  name   = "T"
  domain = "t.example.ca"
}
provider "ovh" "bhs" {
  endpoint = "ovh-ca"
  project  = "p"
  region   = "BHS5"
}
server "web" {
  provider = provider.bhs
  flavor   = "b3-8"
  image    = "Debian 12"
  ssh_keys = ["ssh-ed25519 AAAAC3 volunteer"]
}
database "main" {
  provider = provider.bhs
  engine   = "postgresql"
  version  = "16"
  plan     = "business"
  flavor   = "db1-15"
  disk_gb  = 160
}
bucket "media" {
  provider = provider.bhs
  public   = true
}
bucket "state" {
  provider = provider.bhs
}
state {
  backend = "s3"
  bucket  = bucket.state
}
dns "zone" {
  provider = provider.bhs
  zone     = "t.example.ca"
  ttl      = 60
}
service "mastodon" "t" {
  domain     = "t.example.ca"
  version    = "4.3.2"
  server     = server.web
  database   = database.main
  media      = bucket.media
  media_host = "media.t.example.ca"
  dns        = dns.zone
}
`

func str(m resource.PropertyMap, k string) string {
	v := m[resource.PropertyKey(k)]
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func TestProgramRegistersTheDescription(t *testing.T) {
	regs := run(t, ovhOnly)
	names := []string{}
	for n := range regs {
		names = append(names, n)
	}
	for _, want := range []string{"provider.bhs", "server.web", "database.main", "bucket.media",
		"dns.zone/t.example.ca/A", "dns.zone/t.example.ca/AAAA", "dns.zone/media.t.example.ca/A", "dns.zone/media.t.example.ca/AAAA",
		"service.mastodon.t", "service.mastodon.t.secrets"} {
		if _, ok := regs[want]; !ok {
			t.Errorf("%s not registered (got %v)", want, names)
		}
	}
	if _, ok := regs["bucket.state"]; ok {
		t.Error("the state bucket is inside the stack whose state it holds")
	}
	if len(regs) != 10 {
		t.Errorf("%d resources registered, want 10: %v", len(regs), names)
	}

	prov := regs["provider.bhs"]
	if prov.TypeToken != "pulumi:providers:cosocial" || str(prov.Inputs, "kind") != "ovh" || str(prov.Inputs, "endpoint") != "http://127.0.0.1:1/1.0" || str(prov.Inputs, "project") != "p" {
		t.Errorf("provider = %s %v", prov.TypeToken, prov.Inputs)
	}

	srv := regs["server.web"]
	if srv.TypeToken != "cosocial:ovh:Instance" || str(srv.Inputs, "name") != "t-web" || str(srv.Inputs, "flavor") != "b3-8" || srv.RegisterRPC.GetProtect() {
		t.Errorf("server = %v (protected %v)", srv.Inputs, srv.RegisterRPC.GetProtect())
	}
	if ud := srv.Inputs["userData"]; !ud.IsSecret() || !strings.Contains(str(srv.Inputs, "userData"), "ssh-ed25519 AAAAC3 volunteer") {
		t.Errorf("cloud-init is not a secret carrying the SSH key: %v", ud)
	}

	db := regs["database.main"]
	if !db.RegisterRPC.GetProtect() {
		t.Error("the database is not protected")
	}
	if db.Inputs["nodes"].NumberValue() != 2 || db.Inputs["diskGb"].NumberValue() != 160 || str(db.Inputs, "plan") != "business" {
		t.Errorf("database inputs = %v", db.Inputs)
	}
	allowed := db.Inputs["allowedIps"].ArrayValue()
	if len(allowed) != 1 || allowed[0].StringValue() != "192.0.2.7/32" {
		t.Errorf("only the service's server may reach the database: %v", allowed)
	}
	if users := db.Inputs["users"].ArrayValue(); len(users) != 1 || users[0].StringValue() != "mastodon" {
		t.Errorf("database users = %v", users)
	}

	media := regs["bucket.media"]
	if !media.RegisterRPC.GetProtect() || str(media.Inputs, "name") != "t-media" || !media.Inputs["public"].BoolValue() {
		t.Errorf("bucket = %v (protected %v)", media.Inputs, media.RegisterRPC.GetProtect())
	}

	a := regs["dns.zone/media.t.example.ca/A"]
	if str(a.Inputs, "name") != "media" || str(a.Inputs, "target") != "192.0.2.7" || a.Inputs["ttl"].NumberValue() != 60 {
		t.Errorf("media record = %v", a.Inputs)
	}
	if apex := regs["dns.zone/t.example.ca/A"]; str(apex.Inputs, "name") != "" {
		t.Errorf("apex record = %v", apex.Inputs)
	}

	// The service: deployed on the server with the keys the plugin gave
	// it, from the database's and the bucket's outputs; every password
	// and key a secret.
	svc := regs["service.mastodon.t"]
	want := map[string]string{"server": "192.0.2.7", "hostKey": "ssh-ed25519 AAAAhost", "version": "4.3.2", "domain": "t.example.ca",
		"mediaHost": "media.t.example.ca", "dbEngine": "postgresql", "dbHost": "db.example", "dbName": "mastodon", "dbUser": "mastodon",
		"dbPassword": "pw", "dbSslMode": "require", "mediaEndpoint": "https://s3.bhs.io.cloud.ovh.net", "mediaBucket": "t-media",
		"mediaAccessKey": "AK", "mediaSecretKey": "SK", "acmeEmail": "hostmaster@t.example.ca"}
	if svc.TypeToken != "cosocial:app:Mastodon" {
		t.Errorf("service type %s", svc.TypeToken)
	}
	for k, v := range want {
		if got := str(svc.Inputs, k); got != v {
			t.Errorf("service input %s = %q, want %q", k, got, v)
		}
	}
	if sec := regs["service.mastodon.t.secrets"]; sec.TypeToken != "cosocial:app:Secrets" || !sec.RegisterRPC.GetProtect() || str(sec.Inputs, "app") != "mastodon" {
		t.Errorf("the service's secrets: %s %v (protected %v)", sec.TypeToken, sec.Inputs, sec.RegisterRPC.GetProtect())
	}
	for _, k := range []string{"loginKey", "dbPassword", "mediaAccessKey", "mediaSecretKey", "secrets"} {
		if !svc.Inputs[resource.PropertyKey(k)].IsSecret() {
			t.Errorf("service input %s is not a secret", k)
		}
	}
}

// TestTheMailRelayReachesTheService: the relay's settings go to the
// deployment, the password read from its variable as a secret; unset, the
// program refuses rather than deploy an empty one.
func TestTheMailRelayReachesTheService(t *testing.T) {
	src := strings.Replace(ovhOnly, "  dns        = dns.zone\n}", "  dns        = dns.zone\n  smtp {\n    host = \"smtp.t.example.ca\"\n    port = 465\n    user = \"postmaster\"\n    password_env = \"T_SMTP\"\n    from = \"n@t.example.ca\"\n  }\n}", 1)
	env := map[string]string{"T_SMTP": "relay pw"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	regs, err := runWith(t, src, stack.ProgramOptions{LookupEnv: lookup})
	if err != nil {
		t.Fatal(err)
	}
	svc := regs["service.mastodon.t"]
	for k, v := range map[string]string{"smtpHost": "smtp.t.example.ca", "smtpUser": "postmaster", "smtpPassword": "relay pw", "smtpFrom": "n@t.example.ca"} {
		if got := str(svc.Inputs, k); got != v {
			t.Errorf("service input %s = %q, want %q", k, got, v)
		}
	}
	if svc.Inputs["smtpPort"].NumberValue() != 465 || !svc.Inputs["smtpPassword"].IsSecret() {
		t.Errorf("smtpPort %v, password secret %v", svc.Inputs["smtpPort"], svc.Inputs["smtpPassword"].IsSecret())
	}
	delete(env, "T_SMTP")
	if _, err := runWith(t, src, stack.ProgramOptions{LookupEnv: lookup}); err == nil || !strings.Contains(err.Error(), "T_SMTP") {
		t.Errorf("an unset password: %v", err)
	}
}

// An OpenStack server registers as the plugin's OpenStack type, with its
// boot volume's size; a kind the stand-up does not support is refused.
func TestProgramByProviderKind(t *testing.T) {
	m := &mocks{regs: map[string]pulumi.MockResourceArgs{}}
	src := strings.Replace(ovhOnly, `provider "ovh" "bhs" {
  endpoint = "ovh-ca"
  project  = "p"
  region   = "BHS5"
}`, `provider "openstack" "bhs" {
  region = "ca-ymq-1"
}`, 1)
	src = strings.Replace(src, `flavor   = "b3-8"`, "flavor   = \"v3-standard-2\"\n  disk_gb  = 40", 1)
	if err := pulumi.RunErr(stack.Program(load(t, src), stack.ProgramOptions{}), pulumi.WithMocks("cosocial-t", "production", m)); err != nil {
		t.Fatal(err)
	}
	srv := m.regs["server.web"]
	if srv.TypeToken != "cosocial:openstack:Server" || srv.Inputs["diskGb"].NumberValue() != 40 {
		t.Errorf("server.web: %s %v", srv.TypeToken, srv.Inputs)
	}
	if db := m.regs["database.main"]; db.TypeToken != "cosocial:openstack:Database" || !db.Inputs["sshKeys"].IsArray() ||
		len(db.Inputs["sshKeys"].ArrayValue()) != 1 || db.Inputs["sshKeys"].ArrayValue()[0].StringValue() != "ssh-ed25519 AAAAC3 volunteer" {
		t.Errorf("database.main: %s %v", db.TypeToken, db.Inputs)
	}
	// Designate makes the zone itself, protected as data is, and the
	// records wait for it.
	zone := m.regs["dns.zone"]
	if zone.TypeToken != "cosocial:openstack:DnsZone" || zone.Inputs["zone"].StringValue() != "t.example.ca" ||
		zone.Inputs["email"].StringValue() != "hostmaster@t.example.ca" || zone.RegisterRPC == nil || !zone.RegisterRPC.GetProtect() {
		t.Errorf("dns.zone: %s %v (register %v)", zone.TypeToken, zone.Inputs, zone.RegisterRPC)
	}
	records := 0
	for name, r := range m.regs {
		if r.TypeToken != "cosocial:openstack:DnsRecord" {
			continue
		}
		records++
		if r.RegisterRPC == nil || !slices.ContainsFunc(r.RegisterRPC.GetDependencies(), func(u string) bool { return strings.HasSuffix(u, "::dns.zone") }) {
			t.Errorf("%s does not wait for its zone: %v", name, r.RegisterRPC.GetDependencies())
		}
	}
	if records == 0 {
		t.Error("no records registered at the OpenStack provider")
	}

	do := strings.Replace(src, `provider "openstack" "bhs" {
  region = "ca-ymq-1"
}`, `provider "digitalocean" "bhs" {
  region = "tor1"
}`, 1)
	do = strings.Replace(do, "flavor   = \"v3-standard-2\"\n  disk_gb  = 40", `flavor   = "s-2vcpu-4gb"`, 1)
	m = &mocks{regs: map[string]pulumi.MockResourceArgs{}}
	err := pulumi.RunErr(stack.Program(load(t, do), stack.ProgramOptions{}), pulumi.WithMocks("cosocial-t", "production", m))
	if err == nil || !strings.Contains(err.Error(), "server.web is at provider.bhs (digitalocean): plan and up do not stand up digitalocean resources yet") {
		t.Fatalf("err = %v", err)
	}
}
