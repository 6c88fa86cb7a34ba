package openstack

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"gopkg.in/yaml.v3"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/provider/providers"
)

// Kind is the provider block's label for an OpenStack cloud.
const Kind = "openstack"

// Operators are the catalog's companies running OpenStack for the public;
// the first is assumed when a provider names none and its region is theirs.
var Operators = []string{"vexxhost"}

func init() {
	providers.Register(&providers.Kind{
		Name:  Kind,
		Title: "OpenStack",
		Settings: []providers.Setting{
			{Name: "cloud"},
			{Name: "operator"},
			{Name: "region", Required: true},
		},
		Operators: Operators,
		Open:      true,
		Types: map[string]string{
			model.KindServer: "Server", model.KindDatabase: "Database", model.KindBucket: "Bucket",
			providers.ResourceRecord: "DnsRecord",
			// Designate makes the zones themselves.
			providers.ResourceZone: "DnsZone",
		},
		New:              open,
		SelfRunDatabases: true,
		LoginSetting:     "cloud",
		Sandbox:          providers.Sandbox{Prepare: sandboxClouds},
		Starter:          "openstack.hcl.tmpl",
	})
}

func open(cfg providers.Config) (providers.Set, error) {
	// Credentials are clouds.yaml's (Cloud) or the OS_* variables, read
	// from Env when the sandbox gives its own.
	cloud, err := New(Config{
		Cloud: cfg.Cloud, Region: cfg.Region, Operator: cfg.Operator, Env: cfg.Env,
		Poll: cfg.Poll, Backoff: cfg.Backoff, Catalog: catalog.Default(),
	})
	if err != nil {
		return providers.Set{}, err
	}
	// Databases are self-managed servers: OpenStack clouds here have no
	// managed database service. DNS needs Designate, which the catalog
	// says a region has (or the first call finds it missing).
	set := providers.Set{Servers: cloud, Databases: cloud, Buckets: cloud, DNS: cloud, Zones: cloud, Offers: cloud, Login: cloud, Leftovers: cloud}
	if r := cloud.CatalogRegion(); r != nil && !r.DNS {
		set.DNS, set.Zones = nil, nil
	}
	return set, nil
}

// sandboxClouds writes, for providers that name a clouds.yaml entry, a
// clouds.yaml holding the sandbox's credentials (its OS_* variables) under
// that name, in the sandbox's folder (mode 0600: it holds a password, and
// never beside the stack), and points the clients at it.
func sandboxClouds(ps []*model.Provider, dir string, env map[string]string) error {
	var cloud, region string
	for _, p := range ps {
		if p.Kind != Kind || p.Cloud == "" {
			continue
		}
		if cloud != "" && p.Cloud != cloud {
			return fmt.Errorf("the sandbox plays one OpenStack cloud; provider.%s names %q and another names %q", p.Name, p.Cloud, cloud)
		}
		cloud, region = p.Cloud, p.Region
	}
	if cloud == "" {
		return nil
	}
	if region == "" {
		region = env["OS_REGION_NAME"]
	}
	file := clouds.Clouds{Clouds: map[string]clouds.Cloud{cloud: {
		AuthInfo: &clouds.AuthInfo{
			AuthURL: env["OS_AUTH_URL"], Username: env["OS_USERNAME"], Password: env["OS_PASSWORD"], ProjectName: env["OS_PROJECT_NAME"],
			UserDomainName: env["OS_USER_DOMAIN_NAME"], ProjectDomainName: env["OS_PROJECT_DOMAIN_NAME"],
		},
		RegionName: region, Interface: env["OS_INTERFACE"], IdentityAPIVersion: env["OS_IDENTITY_API_VERSION"],
	}}}
	data, err := yaml.Marshal(file)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	env["OS_CLIENT_CONFIG_FILE"] = path
	return nil
}
