// Package digitalocean reads what a co-op runs on DigitalOcean — droplets,
// managed databases, domains with their records, and what its Spaces
// buckets hold — so that a migration knows what it is moving, through
// DigitalOcean's API with godo. It also makes the few resources a
// rehearsal seeds in the sandbox. Every page of every list is followed,
// and transient errors (429, 5xx, timeouts) are retried with backoff.
package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/digitalocean/godo"

	"github.com/cosocial/cosocial/pkg/provider"
)

// The environment variables a Cloud reads when its Config leaves them out.
const (
	// TokenEnv holds the API token, as doctl and godo's examples read it.
	TokenEnv = "DIGITALOCEAN_TOKEN"
	// EndpointEnv overrides the API's URL; the sandbox sets it.
	EndpointEnv = "COSOCIAL_DIGITALOCEAN_ENDPOINT"
)

// DefaultEndpoint is DigitalOcean's API.
const DefaultEndpoint = "https://api.digitalocean.com/"

// Config says which DigitalOcean account to reach and how.
type Config struct {
	// Token is a personal access token; empty reads DIGITALOCEAN_TOKEN.
	Token string
	// Endpoint is the API's base URL; empty reads
	// COSOCIAL_DIGITALOCEAN_ENDPOINT, else DefaultEndpoint.
	Endpoint string

	// Optional.
	HTTPClient *http.Client
	Backoff    provider.Backoff
	// PerPage is the page size of lists: the API's largest, 200, unless
	// set (tests make it small to cross pages).
	PerPage int
	// Poll is how often asynchronous statuses are read, Timeout how long
	// a create may take to finish.
	Poll    time.Duration
	Timeout time.Duration
}

// Cloud is one DigitalOcean account.
type Cloud struct {
	api *godo.Client
	cfg Config
}

// New connects to DigitalOcean (nothing is sent until the first call).
func New(cfg Config) (*Cloud, error) {
	if cfg.Token == "" {
		cfg.Token = os.Getenv(TokenEnv)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("digitalocean: no API token: set %s", TokenEnv)
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = os.Getenv(EndpointEnv)
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	// godo resolves its paths against the base URL: without the final
	// slash, a base with a path would lose its last segment.
	if !strings.HasSuffix(cfg.Endpoint, "/") {
		cfg.Endpoint += "/"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: time.Minute}
	}
	if cfg.Backoff.Attempts == 0 {
		cfg.Backoff = provider.DefaultBackoff
	}
	if cfg.PerPage == 0 {
		cfg.PerPage = 200
	}
	if cfg.Poll == 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Minute
	}
	api, err := godo.New(cfg.HTTPClient,
		godo.SetBaseURL(cfg.Endpoint),
		godo.SetUserAgent("cosocial"),
		godo.SetRequestHeaders(map[string]string{"Authorization": "Bearer " + cfg.Token}),
	)
	if err != nil {
		return nil, fmt.Errorf("digitalocean: endpoint %q: %w", cfg.Endpoint, err)
	}
	return &Cloud{api: api, cfg: cfg}, nil
}

// Endpoint is the API URL the Cloud speaks to.
func (c *Cloud) Endpoint() string { return c.cfg.Endpoint }

// call makes one API request, retrying transient failures. A create is
// retried only when the API says it did nothing (429 or 503): retrying one
// that may have happened would make two.
func (c *Cloud) call(ctx context.Context, create bool, op func() error) error {
	retry := provider.Transient
	if create {
		retry = provider.Unprocessed
	}
	return c.cfg.Backoff.DoIf(ctx, retry, func() error { return translate(op()) })
}

// translate turns godo's errors into the provider package's, keeping
// DigitalOcean's message and request ID (what its support asks for).
func translate(err error) error {
	var e *godo.ErrorResponse
	if !errors.As(err, &e) {
		return err
	}
	status := 0
	if e.Response != nil {
		status = e.Response.StatusCode
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	api := &provider.APIError{Provider: "DigitalOcean", Status: status, Message: msg, QueryID: e.RequestID}
	if status == http.StatusNotFound {
		return fmt.Errorf("%w: %w", provider.ErrNotFound, api)
	}
	return api
}

// maxPages stops a list whose links never end.
const maxPages = 10000

// listAll reads every page of a list. Where godo gives the API's page
// links it follows them; where it gives none (the databases list), it asks
// for the next page only while pages come back full and bring items it
// has not seen, so a list the API does not paginate costs one request.
func listAll[T any](ctx context.Context, c *Cloud, what string, key func(T) string, list func(context.Context, *godo.ListOptions) ([]T, *godo.Response, error)) ([]T, error) {
	out := []T{}
	seen := map[string]bool{}
	page := 1
	for range maxPages {
		opt := &godo.ListOptions{Page: page, PerPage: c.cfg.PerPage}
		var items []T
		var resp *godo.Response
		err := c.call(ctx, false, func() error {
			var err error
			items, resp, err = list(ctx, opt)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", what, err)
		}
		fresh := 0
		for _, it := range items {
			if k := key(it); !seen[k] {
				seen[k] = true
				out = append(out, it)
				fresh++
			}
		}
		switch {
		case resp.Links != nil:
			if resp.Links.IsLastPage() {
				return out, nil
			}
			cur, err := resp.Links.CurrentPage()
			if err != nil {
				return nil, fmt.Errorf("listing %s: reading the page links: %w", what, err)
			}
			if cur < page {
				return nil, fmt.Errorf("listing %s: the API answered page %d when asked for page %d", what, cur, page)
			}
			page = cur + 1
		case len(items) < opt.PerPage || fresh == 0:
			return out, nil
		default:
			page++
		}
	}
	return nil, fmt.Errorf("listing %s: more than %d pages", what, maxPages)
}

// wait polls until ready says done or the timeout, reporting each new
// status.
func wait[T any](ctx context.Context, c *Cloud, what string, get func(context.Context) (T, error), status func(T) string, ready func(string) (bool, error)) (T, error) {
	return provider.WaitStatus(ctx, c.cfg.Poll, c.cfg.Timeout, what, get, status, func(v T) (bool, error) { return ready(status(v)) })
}
