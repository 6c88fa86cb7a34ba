package providers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/providers"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim/ossimtest"
)

// TestOpenOpenStack opens the "openstack" kind with the sandbox's own OS_*
// variables and reaches the simulator through it.
func TestOpenOpenStack(t *testing.T) {
	sim := ossimtest.Start(t, ossim.Options{})
	c := sim.Credentials
	set, err := providers.Open(providers.Config{Kind: "openstack", Region: "ca-ymq-1", Operator: "vexxhost", Env: map[string]string{
		"OS_AUTH_URL": sim.AuthURL, "OS_USERNAME": c.Username, "OS_PASSWORD": c.Password,
		"OS_PROJECT_NAME": c.ProjectName, "OS_DOMAIN_NAME": c.DomainName,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if set.Servers == nil || set.Databases == nil || set.Buckets == nil || set.DNS == nil {
		t.Fatalf("set = %+v", set)
	}
	if _, err := set.Servers.Server(context.Background(), "no-such-id"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("a call through the set: %v", err)
	}
	if _, err := providers.Open(providers.Config{Kind: "openstack", Region: "ca-ymq-1", Env: map[string]string{}}); err == nil {
		t.Error("opened without credentials")
	}
}
