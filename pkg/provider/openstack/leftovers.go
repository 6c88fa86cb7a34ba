package openstack

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/cosocial/cosocial/pkg/provider"
)

// Leftovers finds by name what a killed create made: servers (a
// database's carries its role in its metadata) and a database's data
// volume that no server holds. Buckets are not searched yet.
func (c *Cloud) Leftovers(ctx context.Context, kind provider.Kind, region, name string, known map[string]bool) ([]provider.Leftover, error) {
	if kind != provider.KindServer && kind != provider.KindDatabase {
		return nil, nil
	}
	s, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	all, err := c.serversNamed(ctx, s, name)
	if err != nil {
		return nil, err
	}
	var found []provider.Leftover
	held := map[string]bool{} // data volumes some server names
	for _, sv := range all {
		held[sv.Metadata[metaVolume]] = true
		isDB := sv.Metadata[metaRole] == roleDatabase
		if sv.Name == name && !known[sv.ID] && isDB == (kind == provider.KindDatabase) {
			found = append(found, provider.Leftover{Kind: kind, ID: sv.ID, Name: name})
		}
	}
	if kind != provider.KindDatabase {
		return found, nil
	}
	var vols []volumes.Volume
	err = c.do(ctx, "Cinder", false, func() error {
		page, err := volumes.List(s.volume, volumes.ListOpts{Name: name + "-data"}).AllPages(ctx)
		if err != nil {
			return err
		}
		vols, err = volumes.ExtractVolumes(page)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, v := range vols {
		// Made by CreateDatabaseWith (its request token), held by no
		// server and by no database the state records.
		if v.Metadata[requestKey] != "" && !held[v.ID] && !known[v.ID] && len(v.Attachments) == 0 {
			found = append(found, provider.Leftover{Kind: provider.KindVolume, ID: v.ID, Name: v.Name})
		}
	}
	return found, nil
}

// RemoveLeftover deletes what Leftovers found, and waits until it is gone.
func (c *Cloud) RemoveLeftover(ctx context.Context, l provider.Leftover) error {
	switch l.Kind {
	case provider.KindServer:
		return c.DeleteServer(ctx, l.ID)
	case provider.KindDatabase:
		return c.DeleteDatabase(ctx, l.ID)
	case provider.KindVolume:
		s, err := c.login(ctx)
		if err != nil {
			return err
		}
		return c.deleteVolume(ctx, s, l.ID)
	}
	return fmt.Errorf("OpenStack has no leftovers of kind %q", l.Kind)
}

var _ provider.Leftovers = (*Cloud)(nil)
