package digitalocean

import "github.com/cosocial/cosocial/pkg/provider/providers"

// Kind is the provider block's label for DigitalOcean.
const Kind = "digitalocean"

// The tool reads DigitalOcean, the migration's source, and stands nothing
// up there: no types, no constructor.
func init() {
	providers.Register(&providers.Kind{
		Name:      Kind,
		Title:     "DigitalOcean",
		Settings:  []providers.Setting{{Name: "region", Required: true}},
		Operators: []string{"digitalocean"},
		Prices:    Prices,
	})
}
