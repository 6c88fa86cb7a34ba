// Package providers connects a provider block of a description to the
// implementation of its kind: the one place that knows which folder under
// pkg/provider serves "ovh", "openstack" or "digitalocean".
package providers

import (
	"fmt"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/provider"
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

// Set is what a provider can do; a capability its cloud lacks is nil.
type Set struct {
	Servers   provider.Servers
	Databases provider.Databases
	Buckets   provider.Buckets
	DNS       provider.DNS
}

// Open connects to a provider. Nothing is sent until the first call.
func Open(cfg Config) (Set, error) {
	switch cfg.Kind {
	case "ovh":
		cloud, err := ovh.New(ovh.Config{
			Endpoint: cfg.Endpoint, Project: cfg.Project, Region: cfg.Region, Poll: cfg.Poll, Backoff: cfg.Backoff, Catalog: catalog.Default(),
			ApplicationKey: cfg.Env["OVH_APPLICATION_KEY"], ApplicationSecret: cfg.Env["OVH_APPLICATION_SECRET"], ConsumerKey: cfg.Env["OVH_CONSUMER_KEY"],
		})
		if err != nil {
			return Set{}, err
		}
		return Set{Servers: cloud, Databases: cloud, Buckets: cloud, DNS: cloud}, nil
	}
	return Set{}, fmt.Errorf("provider kind %q cannot be reached yet: only ovh is implemented", cfg.Kind)
}
