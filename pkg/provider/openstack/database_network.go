package openstack

import (
	"context"
	"errors"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"

	"github.com/cosocial/cosocial/pkg/provider"
)

func (c *Cloud) dbGroupName(name string) string { return "cosocial-db-" + name }

// dbIngress is SSH from anywhere (the co-op's volunteers) and the engine's
// port from the allowed addresses only.
func dbIngress(port int, allowed []string) ([]ingress, error) {
	out := anywhere(22)
	for _, a := range allowed {
		p, err := prefixOf(a)
		if err != nil {
			return nil, err
		}
		ether := rules.EtherType4
		if p.Addr().Is6() {
			ether = rules.EtherType6
		}
		out = append(out, ingress{ether, port, p.String()})
	}
	return out, nil
}

func (c *Cloud) deleteGroup(ctx context.Context, s *session, name string) error {
	found, err := c.groupsNamed(ctx, s, name)
	if err != nil {
		return err
	}
	for _, g := range found {
		err := c.do(ctx, "Neutron", false, func() error { return groups.Delete(ctx, s.network, g.ID).ExtractErr() })
		if err != nil && !errors.Is(err, provider.ErrNotFound) {
			return err
		}
	}
	return nil
}
