package providers

import (
	"fmt"
	"time"

	"github.com/cosocial/cosocial/pkg/provider"
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

// Open connects to a provider through its kind's constructor. Nothing is
// sent until the first call.
func Open(cfg Config) (Set, error) {
	k, ok := Lookup(cfg.Kind)
	if !ok {
		return Set{}, fmt.Errorf("provider kind %q is not one the tool knows (%v)", cfg.Kind, Names())
	}
	if err := k.Standable(); err != nil {
		return Set{}, err
	}
	return k.New(cfg)
}
