package digitalocean

import (
	"context"
	"errors"
	"fmt"

	"github.com/digitalocean/godo"

	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/provider"
)

// SpacesEndpoint is the S3 endpoint of a region's Spaces.
func SpacesEndpoint(region string) string {
	return fmt.Sprintf("https://%s.digitaloceanspaces.com", region)
}

// SpacesKey is a Spaces access key the migration made for itself. Its
// secret is in the Bucket it opens and nowhere else.
type SpacesKey struct {
	Name      string
	AccessKey string
	secret    string
}

// Bucket is the named bucket at a Spaces endpoint, reached with this key.
func (k SpacesKey) Bucket(endpoint, name string) objectstore.Bucket {
	return objectstore.Bucket{Endpoint: endpoint, Name: name, AccessKey: k.AccessKey, SecretKey: k.secret}
}

// CreateSpacesKey makes an access key limited to the named buckets with
// one permission ("read", "readwrite" or "fullaccess"). A migration reads
// the source with a key of its own, made for the run and deleted after,
// so no long-lived Spaces secret has to be handed to the tool.
func (c *Cloud) CreateSpacesKey(ctx context.Context, name string, buckets []string, permission string) (SpacesKey, error) {
	req := &godo.SpacesKeyCreateRequest{Name: name}
	for _, b := range buckets {
		req.Grants = append(req.Grants, &godo.Grant{Bucket: b, Permission: godo.SpacesKeyPermission(permission)})
	}
	var k *godo.SpacesKey
	err := c.call(ctx, true, func() error {
		var err error
		k, _, err = c.api.SpacesKeys.Create(ctx, req)
		return err
	})
	if err != nil {
		return SpacesKey{}, fmt.Errorf("creating Spaces key %s: %w", name, err)
	}
	return SpacesKey{Name: k.Name, AccessKey: k.AccessKey, secret: k.SecretKey}, nil
}

// DeleteSpacesKey removes a key; a key already gone is not an error.
func (c *Cloud) DeleteSpacesKey(ctx context.Context, accessKey string) error {
	err := c.call(ctx, false, func() error {
		_, err := c.api.SpacesKeys.Delete(ctx, accessKey)
		return err
	})
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return fmt.Errorf("deleting Spaces key: %w", err)
	}
	return nil
}
