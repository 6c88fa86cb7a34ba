package openstack

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"

	"github.com/cosocial/cosocial/pkg/provider"
)

// imageKey is the server metadata that remembers the image a server was
// built from: a server booted from a volume shows Nova no image at all.
const imageKey = "cosocial_image"

// WebGroup is the security group of the co-op's web servers: SSH, HTTP and
// HTTPS in, over IPv4 and IPv6, and nothing else.
const WebGroup = "cosocial-web"

var webPorts = []int{22, 80, 443}

var _ provider.Offers = (*Cloud)(nil)

// CheckOffer asks Nova and Glance whether the region has the flavor and
// the image, by name, as CreateServer will.
func (c *Cloud) CheckOffer(ctx context.Context, flavor, image string) ([]provider.OfferProblem, error) {
	s, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	var problems []provider.OfferProblem
	if _, err := c.flavor(ctx, s, flavor); errors.Is(err, provider.ErrNotFound) {
		problems = append(problems, provider.OfferProblem{Field: "flavor", Message: err.Error()})
	} else if err != nil {
		return nil, err
	}
	if image == "" {
		return problems, nil
	}
	if _, err := c.image(ctx, s, image); errors.Is(err, provider.ErrNotFound) {
		problems = append(problems, provider.OfferProblem{Field: "image", Message: err.Error()})
	} else if err != nil {
		return nil, err
	}
	return problems, nil
}

// flavor finds a flavor of the region by name. An unknown name gets Nova's
// own answer for it, with the names the region offers.
func (c *Cloud) flavor(ctx context.Context, s *session, name string) (*flavors.Flavor, error) {
	var all []flavors.Flavor
	err := c.do(ctx, "Nova", false, func() error {
		page, err := flavors.ListDetail(s.compute, flavors.ListOpts{}).AllPages(ctx)
		if err != nil {
			return err
		}
		all, err = flavors.ExtractFlavors(page)
		return err
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(all))
	for i := range all {
		if all[i].Name == name {
			return &all[i], nil
		}
		names = append(names, all[i].Name)
	}
	// Some clouds name flavors by their IDs; Nova's answer for anything
	// else is the words to show.
	var f *flavors.Flavor
	err = c.do(ctx, "Nova", false, func() error {
		var err error
		f, err = flavors.Get(ctx, s.compute, name).Extract()
		return err
	})
	if err == nil {
		return f, nil
	}
	if errors.Is(err, provider.ErrNotFound) {
		return nil, fmt.Errorf("%w (flavors offered in %s: %s)", err, c.eo.Region, strings.Join(names, ", "))
	}
	return nil, err
}

// image finds an active image by name.
func (c *Cloud) image(ctx context.Context, s *session, name string) (*images.Image, error) {
	var all []images.Image
	err := c.do(ctx, "Glance", false, func() error {
		page, err := images.List(s.image, images.ListOpts{Status: images.ImageStatusActive}).AllPages(ctx)
		if err != nil {
			return err
		}
		all, err = images.ExtractImages(page)
		return err
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(all))
	for i := range all {
		if all[i].Name == name || all[i].ID == name {
			return &all[i], nil
		}
		names = append(names, all[i].Name)
	}
	return nil, notOffered(fmt.Sprintf("OpenStack has no image %q in %s (it has %s)", name, c.eo.Region, strings.Join(names, ", ")))
}

// notOffered is a name the region does not have, in words fit to show as
// they are; it counts as provider.ErrNotFound.
type notOffered string

func (e notOffered) Error() string        { return string(e) }
func (e notOffered) Is(target error) bool { return target == provider.ErrNotFound }

// keypair makes the keypair named after a server hold publicKey. Nova
// cannot change a keypair's key, so one holding another key is replaced.
func (c *Cloud) keypair(ctx context.Context, s *session, name, publicKey string) error {
	return c.ensure(ctx, func() error { return c.keypairOnce(ctx, s, name, publicKey) })
}

// ensure retries a read-then-create step after a transient failure: the
// read finds what a create that failed late may have made, so that
// nothing is made twice.
func (c *Cloud) ensure(ctx context.Context, step func() error) error {
	return c.cfg.Backoff.Do(ctx, step)
}

func (c *Cloud) keypairOnce(ctx context.Context, s *session, name, publicKey string) error {
	publicKey = strings.TrimSpace(publicKey)
	var kp *keypairs.KeyPair
	err := c.do(ctx, "Nova", false, func() error {
		var err error
		kp, err = keypairs.Get(ctx, s.compute, name, nil).Extract()
		return err
	})
	switch {
	case err == nil && strings.TrimSpace(kp.PublicKey) == publicKey:
		return nil
	case err == nil:
		provider.Report(ctx, "keypair %s: replacing its key", name)
		if err := c.deleteKeypair(ctx, s, name); err != nil {
			return err
		}
	case !errors.Is(err, provider.ErrNotFound):
		return err
	}
	err = c.do(ctx, "Nova", true, func() error {
		return keypairs.Create(ctx, s.compute, keypairs.CreateOpts{Name: name, PublicKey: publicKey}).Err
	})
	if isConflict(err) {
		// Someone made it between our read and our create.
		return nil
	}
	return err
}

func (c *Cloud) deleteKeypair(ctx context.Context, s *session, name string) error {
	err := c.do(ctx, "Nova", false, func() error { return keypairs.Delete(ctx, s.compute, name, nil).ExtractErr() })
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	return err
}

// ingress is one rule a security group must hold.
type ingress struct {
	ether  rules.RuleEtherType
	port   int
	remote string // CIDR
}

// securityGroup makes the group named name exist and hold exactly the
// ingress rules given (Neutron's default egress rules are left as they
// are), and returns its ID. Run again, it changes nothing.
func (c *Cloud) securityGroup(ctx context.Context, s *session, name, description string, want []ingress) (string, error) {
	var id string
	err := c.ensure(ctx, func() error {
		var err error
		id, err = c.securityGroupOnce(ctx, s, name, description, want)
		return err
	})
	return id, err
}

// groupsNamed lists the project's security groups of that name (Neutron
// does not keep names unique).
func (c *Cloud) groupsNamed(ctx context.Context, s *session, name string) ([]groups.SecGroup, error) {
	var found []groups.SecGroup
	err := c.do(ctx, "Neutron", false, func() error {
		page, err := groups.List(s.network, groups.ListOpts{Name: name}).AllPages(ctx)
		if err != nil {
			return err
		}
		found, err = groups.ExtractGroups(page)
		return err
	})
	return found, err
}

func (c *Cloud) securityGroupOnce(ctx context.Context, s *session, name, description string, want []ingress) (string, error) {
	found, err := c.groupsNamed(ctx, s, name)
	if err != nil {
		return "", err
	}
	var g *groups.SecGroup
	if len(found) > 0 {
		g = &found[0]
	} else {
		err := c.do(ctx, "Neutron", true, func() error {
			var err error
			g, err = groups.Create(ctx, s.network, groups.CreateOpts{Name: name, Description: description}).Extract()
			return err
		})
		if err != nil {
			return "", err
		}
	}
	key := func(ether string, proto string, lo, hi int, remote string) string {
		return fmt.Sprintf("%s/%s/%d-%d/%s", ether, proto, lo, hi, remote)
	}
	wanted := map[string]ingress{}
	for _, w := range want {
		wanted[key(string(w.ether), "tcp", w.port, w.port, w.remote)] = w
	}
	for _, r := range g.Rules {
		if r.Direction != string(rules.DirIngress) {
			continue
		}
		k := key(r.EtherType, r.Protocol, r.PortRangeMin, r.PortRangeMax, r.RemoteIPPrefix)
		if _, ok := wanted[k]; ok && r.RemoteGroupID == "" {
			delete(wanted, k)
			continue
		}
		// Anything else let in is more than the group promises.
		provider.Report(ctx, "security group %s: removing a rule it should not have", name)
		err := c.do(ctx, "Neutron", false, func() error { return rules.Delete(ctx, s.network, r.ID).ExtractErr() })
		if err != nil && !errors.Is(err, provider.ErrNotFound) {
			return "", err
		}
	}
	for _, w := range wanted {
		// A rule made twice is answered 409, so a retry is harmless.
		err := c.do(ctx, "Neutron", false, func() error {
			return rules.Create(ctx, s.network, rules.CreateOpts{
				Direction: rules.DirIngress, EtherType: w.ether, SecGroupID: g.ID, Protocol: rules.ProtocolTCP,
				PortRangeMin: w.port, PortRangeMax: w.port, RemoteIPPrefix: w.remote,
			}).Err
		})
		if err != nil && !isConflict(err) {
			return "", err
		}
	}
	return g.ID, nil
}

// anywhere is a port open to every address, IPv4 and IPv6.
func anywhere(ports ...int) []ingress {
	var out []ingress
	for _, p := range ports {
		out = append(out, ingress{rules.EtherType4, p, "0.0.0.0/0"}, ingress{rules.EtherType6, p, "::/0"})
	}
	return out
}

// networks says which network a server joins: the one named in the
// configuration when the cloud has it, Nova's "auto" otherwise.
func (c *Cloud) networks(ctx context.Context, s *session) (any, error) {
	var found []networks.Network
	err := c.do(ctx, "Neutron", false, func() error {
		page, err := networks.List(s.network, networks.ListOpts{Name: c.cfg.Network}).AllPages(ctx)
		if err != nil {
			return err
		}
		found, err = networks.ExtractNetworks(page)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return "auto", nil
	}
	return []servers.Network{{UUID: found[0].ID}}, nil
}

// bootSpec is what a server create needs beyond the spec.
type bootSpec struct {
	group   string                // security group name
	extra   []servers.BlockDevice // data volumes after the boot disk
	meta    map[string]string
	keyName string
}

// boot creates a server and waits until it is ACTIVE.
func (c *Cloud) boot(ctx context.Context, s *session, spec provider.ServerSpec, b bootSpec) (*provider.Server, error) {
	f, err := c.flavor(ctx, s, spec.Flavor)
	if err != nil {
		return nil, err
	}
	im, err := c.image(ctx, s, spec.Image)
	if err != nil {
		return nil, err
	}
	nets, err := c.networks(ctx, s)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{imageKey: im.Name}
	for k, v := range b.meta {
		meta[k] = v
	}
	opts := servers.CreateOpts{
		Name: spec.Name, FlavorRef: f.ID, Networks: nets, Metadata: meta, SecurityGroups: []string{b.group},
	}
	// Base64 here, not in gophercloud: it sends user data that already
	// looks like base64 as it is, which would mangle such a script.
	if spec.UserData != "" {
		opts.UserData = []byte(base64.StdEncoding.EncodeToString([]byte(spec.UserData)))
	}
	if spec.DiskGB > 0 || f.Disk == 0 {
		size := spec.DiskGB
		if size == 0 {
			size = max(c.cfg.BootVolumeGB, im.MinDiskGigabytes)
		}
		opts.BlockDevice = []servers.BlockDevice{{
			SourceType: servers.SourceImage, DestinationType: servers.DestinationVolume, UUID: im.ID,
			VolumeSize: size, BootIndex: 0, DeleteOnTermination: true,
		}}
	} else {
		opts.ImageRef = im.ID
	}
	opts.BlockDevice = append(opts.BlockDevice, b.extra...)
	var create servers.CreateOptsBuilder = opts
	if b.keyName != "" {
		create = keypairs.CreateOptsExt{CreateOptsBuilder: opts, KeyName: b.keyName}
	}
	// A create answered with a 5xx may have happened all the same. The
	// token in its metadata finds such a server before any second try.
	token := password()
	meta[requestKey] = token
	var id string
	err = c.cfg.Backoff.Do(ctx, func() error {
		if found, err := c.serverByToken(ctx, s, spec.Name, token); err != nil || found != "" {
			id = found
			return err
		}
		created, err := servers.Create(ctx, s.compute, create, nil).Extract()
		if err != nil {
			return translate(err, "Nova")
		}
		id = created.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	sv, err := c.waitServer(ctx, s, id, spec.Name, func(sv *servers.Server) (bool, error) { return sv.Status == "ACTIVE", nil })
	if err != nil {
		return nil, &provider.Unfinished{ID: id, Err: err}
	}
	return sv, nil
}

// requestKey is server metadata that tells one create request's server
// from any other of the same name.
const requestKey = "cosocial_request"

func (c *Cloud) serverByToken(ctx context.Context, s *session, name, token string) (string, error) {
	all, err := c.serversNamed(ctx, s, name)
	if err != nil {
		return "", err
	}
	for _, sv := range all {
		if sv.Metadata[requestKey] == token {
			return sv.ID, nil
		}
	}
	return "", nil
}

// serversNamed lists the servers called name exactly (Nova's filter is
// a regular expression).
func (c *Cloud) serversNamed(ctx context.Context, s *session, name string) ([]servers.Server, error) {
	var all []servers.Server
	err := c.do(ctx, "Nova", false, func() error {
		page, err := servers.List(s.compute, servers.ListOpts{Name: "^" + regexp.QuoteMeta(name) + "$"}).AllPages(ctx)
		if err != nil {
			return err
		}
		all, err = servers.ExtractServers(page)
		return err
	})
	return all, err
}

// CreateServer creates a server booted from a volume of spec.DiskGB (or
// BootVolumeGB), with the co-op's first SSH key as a keypair named after
// it, in the web security group, and waits until it is ACTIVE. Nova takes
// one key per keypair: further keys are for the caller's cloud-init.
func (c *Cloud) CreateServer(ctx context.Context, spec provider.ServerSpec) (*provider.Server, error) {
	if spec.Region != "" && spec.Region != c.eo.Region {
		return nil, fmt.Errorf("openstack: server %s is for %s, but this provider works in %s", spec.Name, spec.Region, c.eo.Region)
	}
	s, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.securityGroup(ctx, s, WebGroup, "cosocial: SSH, HTTP and HTTPS", anywhere(webPorts...)); err != nil {
		return nil, err
	}
	// By name, as Nova shows a server's groups; securityGroup keeps the
	// name to one group.
	b := bootSpec{group: WebGroup}
	if len(spec.SSHKeys) > 0 {
		if err := c.keypair(ctx, s, spec.Name, spec.SSHKeys[0]); err != nil {
			return nil, err
		}
		b.keyName = spec.Name
	}
	return c.boot(ctx, s, spec, b)
}

// waitServer polls a server until done says so; ERROR is a failure with
// Nova's fault message.
func (c *Cloud) waitServer(ctx context.Context, s *session, id, name string, done func(*servers.Server) (bool, error)) (*provider.Server, error) {
	sv, err := wait(ctx, c, "server "+name, c.cfg.Timeouts.Server,
		func(ctx context.Context) (*servers.Server, error) { return c.getServer(ctx, s, id) },
		func(sv *servers.Server) string { return sv.Status },
		func(sv *servers.Server) (bool, error) {
			if sv.Status == "ERROR" {
				msg := sv.Fault.Message
				if msg == "" {
					msg = "no fault given"
				}
				return false, fmt.Errorf("OpenStack reports server %s as ERROR: %s", name, msg)
			}
			return done(sv)
		})
	if err != nil {
		return nil, err
	}
	return c.server(sv), nil
}

func (c *Cloud) getServer(ctx context.Context, s *session, id string) (*servers.Server, error) {
	var sv *servers.Server
	err := c.do(ctx, "Nova", false, func() error {
		var err error
		sv, err = servers.Get(ctx, s.compute, id).Extract()
		return err
	})
	if err != nil {
		return nil, err
	}
	if sv.Status == "DELETED" || sv.Status == "SOFT_DELETED" {
		return nil, fmt.Errorf("%w: server %s is %s", provider.ErrNotFound, id, sv.Status)
	}
	return sv, nil
}

// server reads what the provider package wants out of Nova's server.
func (c *Cloud) server(sv *servers.Server) *provider.Server {
	out := &provider.Server{ID: sv.ID, Name: sv.Name, Region: c.eo.Region, Status: sv.Status, Image: sv.Metadata[imageKey]}
	if n, ok := sv.Flavor["original_name"].(string); ok {
		out.Flavor = n
	} else if id, ok := sv.Flavor["id"].(string); ok {
		out.Flavor = id
	}
	out.IPv4, out.IPv6 = publicAddresses(sv.Addresses)
	return out
}

// publicAddresses picks the addresses the world reaches a server at: a
// floating IP first, then a fixed one on a public network; a private
// address only when there is nothing else.
func publicAddresses(addresses map[string]any) (v4, v6 string) {
	var private4 string
	for _, list := range addresses {
		entries, _ := list.([]any)
		for _, e := range entries {
			m, _ := e.(map[string]any)
			addr, _ := m["addr"].(string)
			ip := net.ParseIP(addr)
			if ip == nil {
				continue
			}
			floating := m["OS-EXT-IPS:type"] == "floating"
			switch {
			case ip.To4() != nil && (ip.IsPrivate() || ip.IsLoopback()):
				if private4 == "" {
					private4 = addr
				}
			case ip.To4() != nil && (v4 == "" || floating):
				v4 = addr
			case ip.To4() == nil && ip.IsGlobalUnicast() && !ip.IsPrivate() && (v6 == "" || floating):
				v6 = addr
			}
		}
	}
	if v4 == "" {
		v4 = private4
	}
	return v4, v6
}

// Server reads a server; provider.ErrNotFound once it is gone.
func (c *Cloud) Server(ctx context.Context, id string) (*provider.Server, error) {
	s, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	sv, err := c.getServer(ctx, s, id)
	if err != nil {
		return nil, err
	}
	return c.server(sv), nil
}

// ResizeServer moves a server to another flavor in place: Nova's resize,
// then its confirmation. The server keeps its ID, volumes and addresses.
func (c *Cloud) ResizeServer(ctx context.Context, id, flavorName string) (*provider.Server, error) {
	s, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	sv, err := c.getServer(ctx, s, id)
	if err != nil {
		return nil, err
	}
	if c.server(sv).Flavor == flavorName {
		return c.server(sv), nil
	}
	f, err := c.flavor(ctx, s, flavorName)
	if err != nil {
		return nil, err
	}
	provider.Report(ctx, "server %s: resizing to %s", sv.Name, flavorName)
	if err := c.do(ctx, "Nova", false, func() error {
		return servers.Resize(ctx, s.compute, id, servers.ResizeOpts{FlavorRef: f.ID}).ExtractErr()
	}); err != nil {
		return nil, err
	}
	// Clouds with a resize_confirm_window of zero seconds confirm by
	// themselves: ACTIVE on the new flavor is done as well.
	resized, err := c.waitServer(ctx, s, id, sv.Name, func(sv *servers.Server) (bool, error) {
		return sv.Status == "VERIFY_RESIZE" || sv.Status == "ACTIVE" && c.server(sv).Flavor == flavorName, nil
	})
	if err != nil {
		return nil, err
	}
	if resized.Status == "ACTIVE" {
		return resized, nil
	}
	if err := c.do(ctx, "Nova", false, func() error { return servers.ConfirmResize(ctx, s.compute, id).ExtractErr() }); err != nil {
		return nil, err
	}
	return c.waitServer(ctx, s, id, sv.Name, func(sv *servers.Server) (bool, error) { return sv.Status == "ACTIVE", nil })
}

// DeleteServer deletes a server (its boot volume with it), waits until
// Nova answers 404, and removes its keypair. A server already gone is not
// an error.
func (c *Cloud) DeleteServer(ctx context.Context, id string) error {
	return c.deleteWith(ctx, id, nil, nil)
}

// deleteWith deletes a server and the keypair made for it; one already
// gone is not an error. check may refuse the server first; after removes
// what else was made for it.
func (c *Cloud) deleteWith(ctx context.Context, id string, check func(*servers.Server) error, after func(*session, *servers.Server) error) error {
	s, err := c.login(ctx)
	if err != nil {
		return err
	}
	sv, err := c.getServer(ctx, s, id)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(sv); err != nil {
			return err
		}
	}
	if err := c.deleteServer(ctx, s, id, sv.Name); err != nil {
		return err
	}
	if sv.KeyName == sv.Name {
		if err := c.deleteKeypair(ctx, s, sv.KeyName); err != nil {
			return err
		}
	}
	if after != nil {
		return after(s, sv)
	}
	return nil
}

func (c *Cloud) deleteServer(ctx context.Context, s *session, id, name string) error {
	err := c.do(ctx, "Nova", false, func() error { return servers.Delete(ctx, s.compute, id).ExtractErr() })
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return err
	}
	return gone(ctx, c, "server "+name, func(ctx context.Context) error { _, err := c.getServer(ctx, s, id); return err })
}

// isConflict reports Nova's or Neutron's 409.
func isConflict(err error) bool {
	var api *provider.APIError
	return errors.As(err, &api) && api.Status == http.StatusConflict
}
