package ovh

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cosocial/cosocial/pkg/provider"
)

// userDescription is how CreateBucket describes a bucket's own S3 user:
// the one mark OVHcloud keeps that ties the user to its bucket before the
// bucket exists.
func userDescription(bucket string) string { return "cosocial: bucket " + bucket }

// Leftovers finds, by name, what a killed create made: OVHcloud's
// instances and clusters carry no tags, so a name the state does not
// record is the mark. A bucket's users are its own when described for it
// and owning no bucket.
func (c *Cloud) Leftovers(ctx context.Context, kind provider.Kind, region, name string, known map[string]bool) ([]provider.Leftover, error) {
	var found []provider.Leftover
	switch kind {
	case provider.KindServer:
		ids, err := c.instancesNamed(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !known[id] {
				found = append(found, provider.Leftover{Kind: kind, ID: id, Name: name})
			}
		}
	case provider.KindDatabase:
		ids, err := c.clustersNamed(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !known[id] {
				found = append(found, provider.Leftover{Kind: kind, ID: id, Name: name})
			}
		}
	case provider.KindBucket:
		r, err := c.storageRegion(region)
		if err != nil {
			return nil, err
		}
		var buckets []container
		if err := c.call(ctx, http.MethodGet, c.path("/region/%s/storage", url.PathEscape(r)), nil, &buckets); err != nil {
			return nil, err
		}
		owners := map[int64]bool{}
		for _, b := range buckets {
			owners[b.OwnerID] = true
			if b.Name == name && !known[bucketID(r, name)] {
				found = append(found, provider.Leftover{Kind: kind, ID: bucketID(r, name), Name: name})
			}
		}
		users, err := c.usersFor(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, id := range users {
			n, _ := strconv.ParseInt(id, 10, 64)
			if !owners[n] && !known[id] {
				found = append(found, provider.Leftover{Kind: provider.KindS3User, ID: id, Name: name})
			}
		}
	}
	return found, nil
}

// instancesNamed lists the IDs of the instances called name.
func (c *Cloud) instancesNamed(ctx context.Context, name string) ([]string, error) {
	var list []instanceDetail
	if err := c.call(ctx, http.MethodGet, c.path("/instance"), nil, &list); err != nil {
		return nil, err
	}
	var ids []string
	for _, in := range list {
		if in.Name == name {
			ids = append(ids, in.ID)
		}
	}
	return ids, nil
}

// clustersNamed lists the IDs of the database clusters described as name.
func (c *Cloud) clustersNamed(ctx context.Context, name string) ([]string, error) {
	var all []string
	if err := c.call(ctx, http.MethodGet, c.path("/database/service"), nil, &all); err != nil {
		return nil, err
	}
	var ids []string
	for _, id := range all {
		if s, err := c.service(ctx, "", id); err == nil && s.Description == name {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// usersFor lists the IDs of the S3 users made for bucket.
func (c *Cloud) usersFor(ctx context.Context, bucket string) ([]string, error) {
	var users []struct {
		ID          int64  `json:"id"`
		Description string `json:"description"`
	}
	if err := c.call(ctx, http.MethodGet, c.path("/user"), nil, &users); err != nil {
		return nil, err
	}
	var ids []string
	for _, u := range users {
		if u.Description == userDescription(bucket) {
			ids = append(ids, strconv.FormatInt(u.ID, 10))
		}
	}
	return ids, nil
}

// RemoveLeftover deletes what Leftovers found, and waits until it is gone.
func (c *Cloud) RemoveLeftover(ctx context.Context, l provider.Leftover) error {
	switch l.Kind {
	case provider.KindServer:
		return c.DeleteServer(ctx, l.ID)
	case provider.KindDatabase:
		return c.DeleteDatabase(ctx, l.ID)
	case provider.KindBucket:
		return c.DeleteBucket(ctx, l.ID)
	case provider.KindS3User:
		id, err := strconv.ParseInt(l.ID, 10, 64)
		if err != nil {
			return fmt.Errorf("S3 user id %q: %w", l.ID, err)
		}
		return c.deleteUser(ctx, id)
	}
	return fmt.Errorf("OVHcloud has no leftovers of kind %q", l.Kind)
}

var _ provider.Leftovers = (*Cloud)(nil)
