package openstack

import "context"

// DataVolume makes a database's data volume alone, as a create killed
// before its server was made leaves it.
func (c *Cloud) DataVolume(ctx context.Context, database string, gb int) (string, error) {
	s, err := c.login(ctx)
	if err != nil {
		return "", err
	}
	v, err := c.createVolume(ctx, s, database+"-data", gb)
	if err != nil {
		return "", err
	}
	return v.ID, nil
}
