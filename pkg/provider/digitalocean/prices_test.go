package digitalocean_test

import (
	"context"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/pricing"
	"github.com/cosocial/cosocial/pkg/provider/digitalocean"
	"github.com/cosocial/cosocial/pkg/sandbox/dosim"
	"github.com/cosocial/cosocial/pkg/sandbox/dosim/dosimtest"
)

// TestPricesFromTheSizes reads DigitalOcean's sizes through godo,
// with the token: each size's price_monthly in US dollars,
// the managed databases' from the catalog, and the egress price.
func TestPricesFromTheSizes(t *testing.T) {
	sim := dosimtest.Start(t, dosim.Options{})
	env := map[string]string{digitalocean.TokenEnv: dosimtest.Token, digitalocean.EndpointEnv: sim.URL}
	l, err := digitalocean.Prices(context.Background(), &model.Provider{Kind: "digitalocean", Region: "tor1"}, env, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if l.Currency != "USD" || l.Kind != "digitalocean" {
		t.Errorf("list %s in %s", l.Kind, l.Currency)
	}
	// The catalog's sizes: s-1vcpu-1gb at US$6, s-8vcpu-16gb at US$96; a
	// db-s-4vcpu-8gb node at US$120.
	for item, want := range map[string]string{
		pricing.ServerItem("s-1vcpu-1gb"):                            "US$6.00",
		pricing.ServerItem("s-8vcpu-16gb"):                           "US$96.00",
		pricing.DatabaseNodeItem("postgresql", "", "db-s-4vcpu-8gb"): "US$120.00",
	} {
		if got, ok := l.Price(item); !ok || got.USD() != want {
			t.Errorf("%s = %s (%v), want %s", item, got.USD(), ok, want)
		}
	}
	if l.EgressPerGB.USD() != "US$0.01" || l.EgressFreeGB != 1000 {
		t.Errorf("egress %s beyond %g GB", l.EgressPerGB.USD(), l.EgressFreeGB)
	}
	env[digitalocean.TokenEnv] = "wrong"
	if _, err := digitalocean.Prices(context.Background(), &model.Provider{Kind: "digitalocean"}, env, time.Now()); err == nil {
		t.Error("a wrong token read the sizes")
	}
}
