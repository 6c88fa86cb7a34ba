// Package openstack is the OpenStack provider (VEXXHOST's ca-ymq-1 and other
// OpenStack public clouds), through gophercloud: servers booted from Cinder
// volumes behind a security group of their own, buckets on the cloud's S3
// API reached with Keystone EC2 credentials, DNS zones and record sets in
// Designate, and — since these clouds have no managed database service —
// PostgreSQL or MariaDB on a dedicated server with a data volume, set up by
// cloud-init that this package writes. Credentials are read the way the
// openstack CLI reads them: clouds.yaml, or OS_* variables. Calls that start
// asynchronous work wait for it, and transient errors (429, 5xx, timeouts)
// are retried with backoff.
package openstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	gopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/provider"
)

// Config says which cloud, region and credentials to use.
type Config struct {
	// Cloud names an entry of clouds.yaml; empty reads OS_* variables
	// (or OS_CLOUD, when set).
	Cloud string
	// Region is the description's region; it wins over clouds.yaml's.
	Region string
	// Operator is the catalog's operator ("vexxhost"); empty is the
	// catalog's first OpenStack operator.
	Operator string
	// Env, when not nil, is read instead of the process's environment,
	// for OS_* variables, OS_CLIENT_CONFIG_FILE and HOME alike.
	Env map[string]string

	// Network names the network servers are attached to; empty is
	// "public", as public OpenStack clouds name theirs, and Nova's "auto"
	// when the cloud has none of that name.
	Network string
	// BootVolumeGB is the root volume of a server whose spec gives no disk
	// and whose flavor has none (VEXXHOST's flavors carry no disk).
	BootVolumeGB int

	// Database holds defaults for self-managed databases.
	Database DatabaseOptions

	HTTPClient *http.Client
	Backoff    provider.Backoff
	Poll       time.Duration // how often asynchronous statuses are read
	Timeouts   Timeouts
	Catalog    *catalog.Catalog
}

// Timeouts bound each asynchronous wait.
type Timeouts struct {
	Server time.Duration
	Volume time.Duration
	DNS    time.Duration
	Delete time.Duration
}

// DefaultTimeouts leave room for a slow image copy to a boot volume.
var DefaultTimeouts = Timeouts{Server: 20 * time.Minute, Volume: 10 * time.Minute, DNS: 10 * time.Minute, Delete: 20 * time.Minute}

// Microversions asked of Nova and Cinder: 2.79 shows a server's flavor by
// name (2.47) and takes networks explicitly; 3.42 extends volumes in use.
const (
	computeMicroversion = "2.79"
	volumeMicroversion  = "3.42"
)

// Cloud is one OpenStack project in one region.
type Cloud struct {
	cfg    Config
	auth   gophercloud.AuthOptions
	eo     gophercloud.EndpointOpts
	hc     *http.Client
	region *catalog.Region // nil when the catalog does not know the region

	mu   sync.Mutex
	sess *session
}

// session is what one Keystone login gives: the service clients of the
// catalog and the user and project the token is for.
type session struct {
	provider  *gophercloud.ProviderClient
	compute   *gophercloud.ServiceClient
	volume    *gophercloud.ServiceClient
	network   *gophercloud.ServiceClient
	image     *gophercloud.ServiceClient
	identity  *gophercloud.ServiceClient
	dns       *gophercloud.ServiceClient // nil without Designate
	dnsErr    error
	userID    string
	projectID string
}

// New reads the credentials (clouds.yaml or OS_* variables) and returns a
// client; nothing is sent to the cloud until the first call.
func New(cfg Config) (*Cloud, error) {
	if cfg.Catalog == nil {
		cfg.Catalog = catalog.Default()
	}
	if cfg.Backoff.Attempts == 0 {
		cfg.Backoff = provider.DefaultBackoff
	}
	if cfg.Poll == 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.Timeouts == (Timeouts{}) {
		cfg.Timeouts = DefaultTimeouts
	}
	if cfg.Network == "" {
		cfg.Network = "public"
	}
	if cfg.BootVolumeGB == 0 {
		cfg.BootVolumeGB = 20
	}
	creds, err := readCredentials(cfg)
	if err != nil {
		return nil, err
	}
	c := &Cloud{cfg: cfg, auth: creds.auth, eo: creds.endpoint, hc: cfg.HTTPClient}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 2 * time.Minute}
		if creds.tls != nil {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.TLSClientConfig = creds.tls
			c.hc.Transport = t
		}
	}
	if c.eo.Region == "" {
		return nil, errors.New("openstack: no region: give the provider block a region, or set region_name in clouds.yaml or OS_REGION_NAME")
	}
	id := Operators[0]
	if cfg.Operator != "" {
		id = cfg.Operator
	}
	if op := cfg.Catalog.Operator(id); op != nil {
		c.region = op.Region(c.eo.Region)
	}
	return c, nil
}

// Region is the region the client works in.
func (c *Cloud) Region() string { return c.eo.Region }

// CatalogRegion is what the catalog says of the region (flavors, DNS,
// object storage), or nil when it does not know it.
func (c *Cloud) CatalogRegion() *catalog.Region { return c.region }

// Login logs in to Keystone now, so that refused credentials stop a plan
// before anything else is asked.
func (c *Cloud) Login(ctx context.Context) error {
	_, err := c.login(ctx)
	return err
}

// login logs in to Keystone once and finds the services in its catalog.
// A failed login is not kept: the next call tries again.
func (c *Cloud) login(ctx context.Context) (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil {
		return c.sess, nil
	}
	pc, err := gopenstack.NewClient(c.auth.IdentityEndpoint)
	if err != nil {
		return nil, fmt.Errorf("openstack: auth URL %q: %w", c.auth.IdentityEndpoint, err)
	}
	pc.HTTPClient = *c.hc
	pc.UserAgent.Prepend("cosocial")
	// Issuing a token creates nothing, so any transient failure may be
	// retried.
	err = c.cfg.Backoff.Do(ctx, func() error {
		return translate(gopenstack.Authenticate(ctx, pc, c.auth), "Keystone")
	})
	if err != nil {
		return nil, fmt.Errorf("logging in to %s: %w", c.auth.IdentityEndpoint, err)
	}
	s := &session{provider: pc}
	if res, ok := pc.GetAuthResult().(tokens.CreateResult); ok {
		if u, err := res.ExtractUser(); err == nil {
			s.userID = u.ID
		}
		if p, err := res.ExtractProject(); err == nil && p != nil {
			s.projectID = p.ID
		}
	}
	found := func(what string, sc **gophercloud.ServiceClient, make func(*gophercloud.ProviderClient, gophercloud.EndpointOpts) (*gophercloud.ServiceClient, error)) error {
		var err error
		if *sc, err = make(pc, c.eo); err != nil {
			return fmt.Errorf("openstack: the cloud's catalog has no %s service in %s: %w", what, c.eo.Region, err)
		}
		return nil
	}
	for _, svc := range []struct {
		what string
		sc   **gophercloud.ServiceClient
		make func(*gophercloud.ProviderClient, gophercloud.EndpointOpts) (*gophercloud.ServiceClient, error)
	}{
		{"compute", &s.compute, gopenstack.NewComputeV2},
		{"block-storage", &s.volume, gopenstack.NewBlockStorageV3},
		{"network", &s.network, gopenstack.NewNetworkV2},
		{"image", &s.image, gopenstack.NewImageV2},
		{"identity", &s.identity, gopenstack.NewIdentityV3},
	} {
		if err := found(svc.what, svc.sc, svc.make); err != nil {
			return nil, err
		}
	}
	s.compute.Microversion = computeMicroversion
	s.volume.Microversion = volumeMicroversion
	// Designate is optional: only DNS calls need it.
	s.dns, s.dnsErr = gopenstack.NewDNSV2(pc, c.eo)
	c.sess = s
	return s, nil
}

// do runs one API call, retrying transient failures. A create is retried
// only when the API says it did nothing (429 or 503): retrying a create
// that may have happened would make two.
func (c *Cloud) do(ctx context.Context, service string, create bool, op func() error) error {
	retry := provider.Transient
	if create {
		retry = provider.Unprocessed
	}
	return c.cfg.Backoff.DoIf(ctx, retry, func() error { return translate(op(), service) })
}

// translate turns gophercloud's HTTP errors into the provider package's,
// keeping the service's own message and request ID. A 404 is also
// provider.ErrNotFound.
func translate(err error, service string) error {
	if err == nil {
		return nil
	}
	var e gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &e) {
		return err
	}
	msg, class := errorMessage(e.Body)
	if msg == "" {
		msg = http.StatusText(e.Actual)
	}
	api := &provider.APIError{Provider: "OpenStack " + service, Status: e.Actual, Class: class, Message: msg}
	if e.ResponseHeader != nil {
		api.QueryID = e.ResponseHeader.Get("X-Openstack-Request-Id")
	}
	if e.Actual == http.StatusNotFound {
		return fmt.Errorf("%w: %w", provider.ErrNotFound, api)
	}
	return api
}

// errorMessage reads the message out of each service's error body:
// Keystone's {"error": {...}}, Nova's and Cinder's {"itemNotFound": {...}},
// Neutron's {"NeutronError": {...}}, Designate's flat body, and Glance's
// plain text.
func errorMessage(body []byte) (msg, class string) {
	body = bytes.TrimSpace(body)
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) == nil {
		type inner struct {
			Message string `json:"message"`
			Title   string `json:"title"`
			Type    string `json:"type"`
		}
		if raw, ok := m["message"]; ok {
			var flat inner
			json.Unmarshal(body, &flat)
			if flat.Message == "" {
				json.Unmarshal(raw, &flat.Message)
			}
			return flat.Message, flat.Type
		}
		for k, raw := range m {
			var in inner
			if json.Unmarshal(raw, &in) == nil && in.Message != "" {
				switch k {
				case "error":
					return in.Message, in.Title
				case "NeutronError":
					return in.Message, in.Type
				}
				return in.Message, k
			}
		}
		return "", ""
	}
	// Glance: "404 Not Found\n\nNo image found with ID x\n\n   ".
	lines := strings.Split(string(body), "\n")
	var parts []string
	for i, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !(i == 0 && len(lines) > 1) {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " "), ""
}

// wait polls until done, reporting each new status.
func wait[T any](ctx context.Context, c *Cloud, what string, timeout time.Duration, get func(context.Context) (T, error), status func(T) string, done func(T) (bool, error)) (T, error) {
	return provider.WaitStatus(ctx, c.cfg.Poll, timeout, what, get, status, done)
}

// gone waits until get answers not found.
func gone(ctx context.Context, c *Cloud, what string, get func(context.Context) error) error {
	return provider.WaitGone(ctx, c.cfg.Poll, c.cfg.Timeouts.Delete, what, get)
}

var (
	_ provider.Servers   = (*Cloud)(nil)
	_ provider.Databases = (*Cloud)(nil)
	_ provider.Buckets   = (*Cloud)(nil)
	_ provider.DNS       = (*Cloud)(nil)

	_ provider.StateBuckets = (*Cloud)(nil)
	_ provider.Login        = (*Cloud)(nil)
)
