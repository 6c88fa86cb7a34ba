// Package ovh is the OVHcloud provider: servers (Public Cloud instances),
// managed PostgreSQL and MySQL, object storage buckets with their own S3
// users, and DNS records, through OVHcloud's API with go-ovh. Calls that
// start asynchronous work wait for it (BUILD → ACTIVE, CREATING → READY),
// and transient errors (429, 5xx, timeouts) are retried with backoff.
package ovh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	goovh "github.com/ovh/go-ovh/ovh"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/provider"
)

// EndpointEnv, when set, replaces every configured endpoint: the sandbox
// gives its simulator's URL this way on each run, so that a port, which
// moves between runs, is never recorded in a stack's state (where refresh
// and drift would go on calling a port nobody serves).
const EndpointEnv = "COSOCIAL_OVH_ENDPOINT"

// Config says which OVHcloud account, project and region to use. The
// credentials are go-ovh's: OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and
// OVH_CONSUMER_KEY (or OVH_CLIENT_ID/OVH_CLIENT_SECRET), or ovh.conf.
type Config struct {
	Endpoint string // "ovh-ca", or an API URL (the sandbox's)
	Project  string
	Region   string // the compute region, e.g. BHS5

	// Optional. Credentials left empty are read by go-ovh from the
	// environment or ovh.conf.
	ApplicationKey    string
	ApplicationSecret string
	ConsumerKey       string
	HTTPClient        *http.Client
	Backoff           provider.Backoff
	Poll              time.Duration // how often asynchronous statuses are read
	Timeouts          Timeouts
	Catalog           *catalog.Catalog
}

// Timeouts bound each asynchronous wait.
type Timeouts struct {
	Server   time.Duration
	Database time.Duration
	Delete   time.Duration
}

// DefaultTimeouts are generous: a business-plan cluster can take twenty
// minutes to come up.
var DefaultTimeouts = Timeouts{Server: 20 * time.Minute, Database: 60 * time.Minute, Delete: 30 * time.Minute}

// Cloud is one OVHcloud project in one region.
type Cloud struct {
	api     *goovh.Client
	cfg     Config
	region  *catalog.Region
	project string
}

// New connects to OVHcloud (nothing is called until the first request).
func New(cfg Config) (*Cloud, error) {
	if e := os.Getenv(EndpointEnv); e != "" {
		cfg.Endpoint = e
	}
	if cfg.Project == "" {
		return nil, errors.New("ovh: a project is required")
	}
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
	region := cfg.Catalog.Operator(OperatorID).Region(cfg.Region)
	if region == nil {
		return nil, fmt.Errorf("ovh: region %q is not in the catalog", cfg.Region)
	}
	api, err := goovh.NewClient(cfg.Endpoint, cfg.ApplicationKey, cfg.ApplicationSecret, cfg.ConsumerKey)
	if err != nil {
		return nil, fmt.Errorf("ovh: %w (set OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and OVH_CONSUMER_KEY, or write ovh.conf)", err)
	}
	if cfg.HTTPClient != nil {
		api.Client = cfg.HTTPClient
	}
	api.UserAgent = "cosocial"
	return &Cloud{api: api, cfg: cfg, region: region, project: url.PathEscape(cfg.Project)}, nil
}

// call makes one API request, retrying transient failures. A POST is
// retried only when the API says it did nothing (429 or 503): retrying a
// create that may have happened would make two.
// create sends a request that makes something on a context an interrupt
// does not cancel (a deadline still bounds it): abandoned mid-flight, its
// answer, and with it the ID of what it made, would be lost, and the thing
// left behind for no state to record. The caller sees the cancellation at
// its next step, knowing the ID, and records or takes back what was made.
func (c *Cloud) create(ctx context.Context, path string, body, out any) error {
	if err := ctx.Err(); err != nil {
		return err // cancelled before anything was sent
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	return c.call(cctx, http.MethodPost, path, body, out)
}

// createFinding sends a create whose answer may be lost on its way back
// (a 5xx other than 503, a timeout): the API may have made the thing all
// the same. Then what named lists afterwards and did not list before is
// taken as what it made, instead of failing with it left behind or
// sending the create again and making two. It returns the new ID.
func (c *Cloud) createFinding(ctx context.Context, path string, body any, named func(context.Context) ([]string, error)) (string, error) {
	before, err := named(ctx)
	if err != nil {
		return "", err
	}
	var out struct {
		ID json.RawMessage `json:"id"`
	}
	err = c.create(ctx, path, body, &out)
	if err == nil {
		return strings.Trim(string(out.ID), `"`), nil
	}
	if !mayHaveHappened(err) {
		return "", err
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var after []string
	if lerr := c.cfg.Backoff.Do(lctx, func() error { var e error; after, e = named(lctx); return e }); lerr != nil {
		return "", fmt.Errorf("%w (and whether it was made all the same could not be checked: %v)", err, lerr)
	}
	var made []string
	for _, id := range after {
		if !slices.Contains(before, id) {
			made = append(made, id)
		}
	}
	switch len(made) {
	case 0:
		return "", err
	case 1:
		provider.Report(ctx, "the answer to a create was lost (%v); it was made all the same: %s", err, made[0])
		return made[0], nil
	}
	return "", fmt.Errorf("%w (and %d of that name appeared meanwhile: %s)", err, len(made), strings.Join(made, ", "))
}

// mayHaveHappened says whether a failed request may have been carried out:
// the API answered with an error of its own after the fact (5xx but 503),
// or no answer came.
func mayHaveHappened(err error) bool {
	var api *provider.APIError
	if errors.As(err, &api) {
		return api.Status >= 500 && api.Status != http.StatusServiceUnavailable
	}
	return !errors.Is(err, context.Canceled)
}

func (c *Cloud) call(ctx context.Context, method, path string, body, out any) error {
	retry := provider.Transient
	if method == http.MethodPost {
		retry = provider.Unprocessed
	}
	return c.cfg.Backoff.DoIf(ctx, retry, func() error {
		return translate(c.api.CallAPIWithContext(ctx, method, path, body, out, true))
	})
}

// translate turns go-ovh's errors into the provider package's.
func translate(err error) error {
	var api *goovh.APIError
	if !errors.As(err, &api) {
		return err
	}
	e := &provider.APIError{Provider: "OVHcloud", Status: api.Code, Class: api.Class, Message: api.Message, QueryID: api.QueryID}
	if api.Code == http.StatusNotFound {
		return fmt.Errorf("%w: %w", provider.ErrNotFound, e)
	}
	return e
}

func (c *Cloud) path(format string, args ...any) string {
	return "/cloud/project/" + c.project + fmt.Sprintf(format, args...)
}

// wait polls until ready or the timeout, reporting each new status.
func wait[T any](ctx context.Context, c *Cloud, what string, timeout time.Duration, get func(context.Context) (T, error), status func(T) string, done func(string) (bool, error)) (T, error) {
	return provider.WaitStatus(ctx, c.cfg.Poll, timeout, what, get, status, func(v T) (bool, error) { return done(status(v)) })
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
)
