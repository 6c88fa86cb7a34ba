package ovh

import (
	"context"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/pricing"
	"github.com/cosocial/cosocial/pkg/provider/providers"
)

// Kind is the provider block's label for OVHcloud's Public Cloud.
const Kind = "ovh"

// OperatorID is OVHcloud's entry in the catalog: one company runs the API.
const OperatorID = "ovhcloud"

// Endpoints are the endpoint names go-ovh knows.
var Endpoints = []string{"ovh-ca", "ovh-eu", "ovh-us", "kimsufi-ca", "kimsufi-eu", "soyoustart-ca", "soyoustart-eu"}

func init() {
	providers.Register(&providers.Kind{
		Name:  Kind,
		Title: "OVHcloud",
		Settings: []providers.Setting{
			{Name: "endpoint", Required: true, Values: Endpoints, OrURL: true},
			{Name: "project", Required: true},
			{Name: "region", Required: true},
		},
		Operators: []string{OperatorID},
		Types: map[string]string{
			model.KindServer: "Instance", model.KindDatabase: "Database", model.KindBucket: "Bucket",
			// At OVHcloud the registrar holds the zones: records only.
			providers.ResourceRecord: "DnsRecord",
		},
		New: open,
		Sandbox: providers.Sandbox{
			Projects: func(p *model.Provider) []string {
				if p.Project == "" {
					return nil
				}
				return []string{p.Project}
			},
			EndpointEnv: EndpointEnv,
		},
		Prices: func(ctx context.Context, p *model.Provider, env map[string]string, now time.Time) (*pricing.List, error) {
			return FetchPrices(ctx, endpointIn(env, p.Endpoint), now)
		},
		Starter: "ovh.hcl.tmpl",
	})
}

// endpointIn is the API endpoint a run reaches: the environment's
// EndpointEnv (the sandbox's) over the description's.
func endpointIn(env map[string]string, configured string) string {
	if e := env[EndpointEnv]; e != "" {
		return e
	}
	return configured
}

func open(cfg providers.Config) (providers.Set, error) {
	cfg.Endpoint = endpointIn(cfg.Env, cfg.Endpoint)
	cloud, err := New(Config{
		Endpoint: cfg.Endpoint, Project: cfg.Project, Region: cfg.Region, Poll: cfg.Poll, Backoff: cfg.Backoff, Catalog: catalog.Default(),
		ApplicationKey: cfg.Env["OVH_APPLICATION_KEY"], ApplicationSecret: cfg.Env["OVH_APPLICATION_SECRET"], ConsumerKey: cfg.Env["OVH_CONSUMER_KEY"],
	})
	if err != nil {
		return providers.Set{}, err
	}
	return providers.Set{Servers: cloud, Databases: cloud, Buckets: cloud, DNS: cloud, Leftovers: cloud}, nil
}
