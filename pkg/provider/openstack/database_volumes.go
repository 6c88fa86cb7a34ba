package openstack

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/cosocial/cosocial/pkg/provider"
)

func (c *Cloud) createVolume(ctx context.Context, s *session, name string, gb int) (*volumes.Volume, error) {
	// As with servers: a token in the metadata finds a volume whose
	// create was answered with a 5xx but happened.
	token := password()
	var v *volumes.Volume
	err := c.cfg.Backoff.Do(ctx, func() error {
		var all []volumes.Volume
		err := c.do(ctx, "Cinder", false, func() error {
			page, err := volumes.List(s.volume, volumes.ListOpts{Name: name}).AllPages(ctx)
			if err != nil {
				return err
			}
			all, err = volumes.ExtractVolumes(page)
			return err
		})
		if err != nil {
			return err
		}
		for i := range all {
			if all[i].Metadata[requestKey] == token {
				v = &all[i]
				return nil
			}
		}
		v, err = volumes.Create(ctx, s.volume, volumes.CreateOpts{Name: name, Size: gb, Description: "cosocial: database data", Metadata: map[string]string{requestKey: token}}, nil).Extract()
		return translate(err, "Cinder")
	})
	if err != nil {
		return nil, err
	}
	return c.waitVolume(ctx, s, v.ID, name, func(v *volumes.Volume) bool { return v.Status == "available" })
}

func (c *Cloud) getVolume(ctx context.Context, s *session, id string) (*volumes.Volume, error) {
	var v *volumes.Volume
	err := c.do(ctx, "Cinder", false, func() error {
		var err error
		v, err = volumes.Get(ctx, s.volume, id).Extract()
		return err
	})
	return v, err
}

func (c *Cloud) waitVolume(ctx context.Context, s *session, id, name string, done func(*volumes.Volume) bool) (*volumes.Volume, error) {
	return wait(ctx, c, "volume "+name, c.cfg.Timeouts.Volume,
		func(ctx context.Context) (*volumes.Volume, error) { return c.getVolume(ctx, s, id) },
		func(v *volumes.Volume) string { return v.Status },
		func(v *volumes.Volume) (bool, error) {
			if strings.HasPrefix(v.Status, "error") {
				return false, fmt.Errorf("OpenStack reports volume %s as %s", name, v.Status)
			}
			return done(v), nil
		})
}

// deleteVolume deletes a volume once it is free and waits until it is gone.
func (c *Cloud) deleteVolume(ctx context.Context, s *session, id string) error {
	v, err := c.getVolume(ctx, s, id)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	// A volume on its way to available (detaching after its server went)
	// is waited for; one in use is refused by Cinder in its own words.
	if v.Status != "available" && v.Status != "error" && v.Status != "in-use" {
		if _, err := c.waitVolume(ctx, s, id, v.Name, func(v *volumes.Volume) bool { return v.Status == "available" }); err != nil {
			return err
		}
	}
	err = c.do(ctx, "Cinder", false, func() error { return volumes.Delete(ctx, s.volume, id, nil).ExtractErr() })
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return gone(ctx, c, "volume "+v.Name, func(ctx context.Context) error { _, err := c.getVolume(ctx, s, id); return err })
}

// extend grows an attached volume in place (microversion 3.42) and waits
// until Cinder reports the new size.
func (c *Cloud) extend(ctx context.Context, s *session, volumeID string, gb int) error {
	if volumeID == "" {
		return errors.New("openstack: the database server does not name its data volume")
	}
	v, err := c.getVolume(ctx, s, volumeID)
	if err != nil {
		return err
	}
	if v.Size >= gb {
		return nil
	}
	provider.Report(ctx, "volume %s: extending from %d to %d GB in place", v.Name, v.Size, gb)
	if err := c.do(ctx, "Cinder", false, func() error {
		return volumes.ExtendSize(ctx, s.volume, volumeID, volumes.ExtendSizeOpts{NewSize: gb}).ExtractErr()
	}); err != nil {
		return err
	}
	_, err = c.waitVolume(ctx, s, volumeID, v.Name, func(v *volumes.Volume) bool {
		return v.Size >= gb && (v.Status == "in-use" || v.Status == "available")
	})
	return err
}
