package config

import (
	"github.com/cosocial/cosocial/pkg/provider/providers"
	"github.com/hashicorp/hcl/v2"
)

// The schemas below are the language: docs/language.md describes the same
// blocks and arguments, and a test keeps the two in step.

var topSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "coop", LabelNames: []string{"id"}},
		{Type: "policy", LabelNames: []string{"name"}},
		{Type: "state"},
		{Type: "provider", LabelNames: []string{"kind", "name"}},
		{Type: "server", LabelNames: []string{"name"}},
		{Type: "database", LabelNames: []string{"name"}},
		{Type: "bucket", LabelNames: []string{"name"}},
		{Type: "dns", LabelNames: []string{"name"}},
		{Type: "service", LabelNames: []string{"app", "name"}},
		{Type: "migration", LabelNames: []string{"name"}},
	},
}

var coopSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "name", Required: true},
		{Name: "domain", Required: true},
		{Name: "members"},
		{Name: "fee_cad_yearly"},
	},
}

var policySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "data_country"},
		{Name: "ownership"},
		{Name: "on_violation"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "waiver", LabelNames: []string{"name"}},
	},
}

var waiverSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "resources", Required: true},
		{Name: "rule", Required: true},
		{Name: "reason", Required: true},
		{Name: "expires", Required: true},
	},
}

var stateSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "backend", Required: true},
		{Name: "bucket"},
	},
}

// providerSchema is a provider kind's own arguments, as it registered
// them, so that an OVHcloud argument on a DigitalOcean provider is reported
// as unsupported rather than ignored.
func providerSchema(k *providers.Kind) *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, set := range k.Settings {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: set.Name, Required: set.Required})
	}
	return s
}

// resourceAttributes are accepted by every resource block.
var resourceAttributes = []hcl.AttributeSchema{
	{Name: "provider", Required: true},
	{Name: "region"},
	{Name: "depends_on"},
}

func withResourceAttributes(attrs ...hcl.AttributeSchema) *hcl.BodySchema {
	return &hcl.BodySchema{Attributes: append(append([]hcl.AttributeSchema{}, resourceAttributes...), attrs...)}
}

var serverSchema = withResourceAttributes(
	hcl.AttributeSchema{Name: "flavor", Required: true},
	hcl.AttributeSchema{Name: "image", Required: true},
	hcl.AttributeSchema{Name: "disk_gb"},
	hcl.AttributeSchema{Name: "ssh_keys"},
)

var databaseSchema = withResourceAttributes(
	hcl.AttributeSchema{Name: "engine", Required: true},
	hcl.AttributeSchema{Name: "version", Required: true},
	hcl.AttributeSchema{Name: "plan"},
	hcl.AttributeSchema{Name: "flavor", Required: true},
	hcl.AttributeSchema{Name: "disk_gb", Required: true},
)

var bucketSchema = withResourceAttributes(
	hcl.AttributeSchema{Name: "public"},
)

var dnsSchema = withResourceAttributes(
	hcl.AttributeSchema{Name: "zone", Required: true},
	hcl.AttributeSchema{Name: "ttl"},
)

var serviceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "domain", Required: true},
		{Name: "version", Required: true},
		{Name: "server", Required: true},
		{Name: "database", Required: true},
		{Name: "media"},
		{Name: "media_host"},
		{Name: "dns"},
		{Name: "depends_on"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "allowances"},
		{Type: "smtp"},
	},
}

var smtpSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "host", Required: true},
		{Name: "port"},
		{Name: "user"},
		{Name: "password_env"},
		{Name: "from", Required: true},
	},
}

var allowancesSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "posts_per_day"},
		{Name: "media_mb_per_day"},
		{Name: "api_calls_per_5m"},
	},
}

var migrationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "source", Required: true},
		{Name: "downtime_budget", Required: true},
	},
}
