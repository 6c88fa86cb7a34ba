package ovh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cosocial/cosocial/pkg/provider"
)

type flavor struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Region string `json:"region"`
	Disk   int    `json:"disk"`
}

type image struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Region string `json:"region"`
}

type ipAddress struct {
	IP      string `json:"ip"`
	Type    string `json:"type"`
	Version int    `json:"version"`
}

type instanceDetail struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Region      string      `json:"region"`
	Status      string      `json:"status"`
	Flavor      flavor      `json:"flavor"`
	Image       image       `json:"image"`
	IPAddresses []ipAddress `json:"ipAddresses"`
}

func (in *instanceDetail) server() *provider.Server {
	s := &provider.Server{ID: in.ID, Name: in.Name, Region: in.Region, Status: in.Status, Flavor: in.Flavor.Name, Image: in.Image.Name}
	for _, a := range in.IPAddresses {
		if a.Type != "public" {
			continue
		}
		if a.Version == 4 && s.IPv4 == "" {
			s.IPv4 = a.IP
		}
		if a.Version == 6 && s.IPv6 == "" {
			s.IPv6 = a.IP
		}
	}
	return s
}

func (c *Cloud) flavorID(ctx context.Context, region, name string) (string, error) {
	var flavors []flavor
	if err := c.call(ctx, http.MethodGet, c.path("/flavor?region=%s", url.QueryEscape(region)), nil, &flavors); err != nil {
		return "", err
	}
	var names []string
	for _, f := range flavors {
		if f.Name == name {
			return f.ID, nil
		}
		names = append(names, f.Name)
	}
	return "", fmt.Errorf("OVHcloud has no flavor %q in %s (it has %s)", name, region, strings.Join(names, ", "))
}

func (c *Cloud) imageID(ctx context.Context, region, name string) (string, error) {
	var images []image
	q := url.Values{"osType": {"linux"}, "region": {region}}
	if err := c.call(ctx, http.MethodGet, c.path("/image?%s", q.Encode()), nil, &images); err != nil {
		return "", err
	}
	var names []string
	for _, im := range images {
		if im.Name == name {
			return im.ID, nil
		}
		names = append(names, im.Name)
	}
	return "", fmt.Errorf("OVHcloud has no image %q in %s (it has %s)", name, region, strings.Join(names, ", "))
}

// sshKeyID registers a public key once, under a name derived from the key
// itself, and reuses it for every server that asks for it.
func (c *Cloud) sshKeyID(ctx context.Context, region, publicKey string) (string, error) {
	sum := sha256.Sum256([]byte(strings.TrimSpace(publicKey)))
	name := "cosocial-" + hex.EncodeToString(sum[:6])
	var keys []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := c.call(ctx, http.MethodGet, c.path("/sshkey"), nil, &keys); err != nil {
		return "", err
	}
	for _, k := range keys {
		if k.Name == name {
			return k.ID, nil
		}
	}
	var created struct {
		ID string `json:"id"`
	}
	body := map[string]string{"name": name, "publicKey": strings.TrimSpace(publicKey), "region": region}
	if err := c.call(ctx, http.MethodPost, c.path("/sshkey"), body, &created); err != nil {
		return "", err
	}
	return created.ID, nil
}

func (c *Cloud) regionOr(r string) string {
	if r == "" {
		return c.region.Code
	}
	return r
}

// CreateServer creates an instance and waits until it is ACTIVE.
func (c *Cloud) CreateServer(ctx context.Context, spec provider.ServerSpec) (*provider.Server, error) {
	region := c.regionOr(spec.Region)
	flavorID, err := c.flavorID(ctx, region, spec.Flavor)
	if err != nil {
		return nil, err
	}
	imageID, err := c.imageID(ctx, region, spec.Image)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"name": spec.Name, "flavorId": flavorID, "imageId": imageID, "region": region, "monthlyBilling": false}
	if len(spec.SSHKeys) > 0 {
		id, err := c.sshKeyID(ctx, region, spec.SSHKeys[0])
		if err != nil {
			return nil, err
		}
		body["sshKeyId"] = id
	}
	if spec.UserData != "" {
		body["userData"] = spec.UserData
	}
	id, err := c.createFinding(ctx, c.path("/instance"), body, func(ctx context.Context) ([]string, error) { return c.instancesNamed(ctx, spec.Name) })
	if err != nil {
		return nil, err
	}
	s, err := c.waitActive(ctx, id, spec.Name)
	if err != nil {
		return nil, &provider.Unfinished{ID: id, Err: err}
	}
	return s, nil
}

func (c *Cloud) waitActive(ctx context.Context, id, name string) (*provider.Server, error) {
	in, err := wait(ctx, c, "server "+name, c.cfg.Timeouts.Server,
		func(ctx context.Context) (*instanceDetail, error) { return c.instance(ctx, id) },
		func(in *instanceDetail) string { return in.Status },
		func(st string) (bool, error) {
			switch st {
			case "ACTIVE":
				return true, nil
			case "ERROR", "UNKNOWN", "DELETED":
				return false, fmt.Errorf("OVHcloud reports server %s as %s", name, st)
			}
			return false, nil
		})
	if err != nil {
		return nil, err
	}
	return in.server(), nil
}

func (c *Cloud) instance(ctx context.Context, id string) (*instanceDetail, error) {
	var in instanceDetail
	if err := c.call(ctx, http.MethodGet, c.path("/instance/%s", url.PathEscape(id)), nil, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// Server reads an instance; provider.ErrNotFound once it is gone.
func (c *Cloud) Server(ctx context.Context, id string) (*provider.Server, error) {
	in, err := c.instance(ctx, id)
	if err != nil {
		return nil, err
	}
	return in.server(), nil
}

// ResizeServer moves an instance to a larger flavor in place.
func (c *Cloud) ResizeServer(ctx context.Context, id, flavorName string) (*provider.Server, error) {
	in, err := c.instance(ctx, id)
	if err != nil {
		return nil, err
	}
	flavorID, err := c.flavorID(ctx, in.Region, flavorName)
	if err != nil {
		return nil, err
	}
	if err := c.call(ctx, http.MethodPost, c.path("/instance/%s/resize", url.PathEscape(id)), map[string]string{"flavorId": flavorID}, nil); err != nil {
		return nil, err
	}
	return c.waitActive(ctx, id, in.Name)
}

// DeleteServer deletes an instance and waits until it is gone. An instance
// already gone is not an error.
func (c *Cloud) DeleteServer(ctx context.Context, id string) error {
	err := c.call(ctx, http.MethodDelete, c.path("/instance/%s", url.PathEscape(id)), nil, nil)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return gone(ctx, c, "server "+id, func(ctx context.Context) error { _, err := c.instance(ctx, id); return err })
}
