// Package providers connects a provider block of a description to the
// implementation of its kind: the one place that knows which folder under
// pkg/provider serves "ovh", "openstack" or "digitalocean".
package providers

import (
	"fmt"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/openstack"
	"github.com/cosocial/cosocial/pkg/provider/ovh"
)

// Config is a provider block's settings, as the description or the
// engine's provider configuration gives them. Credentials come from the
// environment, each kind the way its own tools read them.
type Config struct {
	Kind     string
	Endpoint string
	Project  string
	Region   string
	Cloud    string
	Operator string

	// Env, when set, is where credentials are read instead of the
	// process's environment (the sandbox's own credentials).
	Env map[string]string

	// Tuning, for tests.
	Poll    time.Duration
	Backoff provider.Backoff
}

// FromSettings reads a provider's settings as the engine keeps them (the
// provider resource's inputs, by name): the plugin configures from them,
// and the tool reads them back from a state.
func FromSettings(get func(name string) string) Config {
	return Config{Kind: get("kind"), Endpoint: get("endpoint"), Project: get("project"), Region: get("region"), Cloud: get("cloud"), Operator: get("operator")}
}

// Set is what a provider can do; a capability its cloud lacks is nil.
type Set struct {
	Servers   provider.Servers
	Databases provider.Databases
	Buckets   provider.Buckets
	DNS       provider.DNS
	// Zones, where the cloud makes DNS zones (Designate), not only records.
	Zones provider.Zones
	// Offers, where the cloud can say before a create whether it has a
	// flavor or an image.
	Offers provider.Offers
	// Login, when the provider has it, checks the credentials now.
	Login provider.Login
	// Leftovers, where the provider can find by name what a killed
	// create made.
	Leftovers provider.Leftovers
}

// Open connects to a provider. Nothing is sent until the first call.
func Open(cfg Config) (Set, error) {
	switch cfg.Kind {
	case "ovh":
		if e := cfg.Env[ovh.EndpointEnv]; e != "" {
			cfg.Endpoint = e
		}
		cloud, err := ovh.New(ovh.Config{
			Endpoint: cfg.Endpoint, Project: cfg.Project, Region: cfg.Region, Poll: cfg.Poll, Backoff: cfg.Backoff, Catalog: catalog.Default(),
			ApplicationKey: cfg.Env["OVH_APPLICATION_KEY"], ApplicationSecret: cfg.Env["OVH_APPLICATION_SECRET"], ConsumerKey: cfg.Env["OVH_CONSUMER_KEY"],
		})
		if err != nil {
			return Set{}, err
		}
		return Set{Servers: cloud, Databases: cloud, Buckets: cloud, DNS: cloud, Leftovers: cloud}, nil
	case "openstack":
		// Credentials are clouds.yaml's (Cloud) or the OS_* variables, read
		// from Env when the sandbox gives its own.
		cloud, err := openstack.New(openstack.Config{
			Cloud: cfg.Cloud, Region: cfg.Region, Operator: cfg.Operator, Env: cfg.Env,
			Poll: cfg.Poll, Backoff: cfg.Backoff, Catalog: catalog.Default(),
		})
		if err != nil {
			return Set{}, err
		}
		// Databases are self-managed servers: OpenStack clouds here have
		// no managed database service. DNS needs Designate, which the
		// catalog says a region has (or the first call finds it missing).
		set := Set{Servers: cloud, Databases: cloud, Buckets: cloud, DNS: cloud, Zones: cloud, Offers: cloud, Login: cloud, Leftovers: cloud}
		if r := cloud.CatalogRegion(); r != nil && !r.DNS {
			set.DNS, set.Zones = nil, nil
		}
		return set, nil
	}
	return Set{}, fmt.Errorf("provider kind %q cannot be reached yet: only ovh and openstack are implemented", cfg.Kind)
}
