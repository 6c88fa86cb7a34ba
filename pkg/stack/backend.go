package stack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/providers"
)

// Backend is where a stack's state is kept and what the engine needs to
// reach it. Its Env may hold credentials: it goes to the engine's
// environment only, never to a file or the screen.
type Backend struct {
	URL  string
	Env  map[string]string
	Name string // for people: "local", "bucket.state (northwind-state)"
}

// BackendOptions say how to reach the providers while resolving.
type BackendOptions struct {
	// Endpoints replace a provider's endpoint by provider name.
	Endpoints map[string]string
	// Env holds provider credentials when they are not the process's.
	Env map[string]string
	// Progress hears about the creation of a state bucket.
	Progress provider.Progress
}

// ResolveBackend finds where the description keeps its state. A state
// bucket is created on first use (versioned, private) straight through the
// provider, outside any stack: it cannot be inside the stack whose state
// it holds. Its credentials are fetched from the provider on each run,
// never stored.
func ResolveBackend(ctx context.Context, desc *model.Description, stackDir string, opts BackendOptions) (Backend, error) {
	st := desc.State
	switch {
	case st == nil || st.Backend == model.BackendLocal || st.Backend == "":
		return Backend{URL: "file://" + filepath.Join(stackDir, "state"), Name: "local"}, nil
	case st.Backend == model.BackendPulumiCloud:
		return Backend{URL: "https://api.pulumi.com", Name: "Pulumi Cloud"}, nil
	}
	ix := model.NewIndex(desc)
	b, _ := ix.Resources[st.Bucket.Addr].(*model.Bucket)
	if b == nil {
		return Backend{}, fmt.Errorf("state bucket %s is not declared", st.Bucket.Addr)
	}
	p := ix.Provider(b)
	endpoint := p.Endpoint
	if e, ok := opts.Endpoints[p.Name]; ok {
		endpoint = e
	}
	set, err := providers.Open(providers.Config{Kind: p.Kind, Endpoint: endpoint, Project: p.Project, Region: p.Region, Cloud: p.Cloud, Operator: p.Operator, Env: opts.Env})
	if err != nil {
		return Backend{}, err
	}
	sb, ok := set.Buckets.(provider.StateBuckets)
	if !ok {
		return Backend{}, fmt.Errorf("provider.%s (%s) cannot keep state in a bucket yet", p.Name, p.Kind)
	}
	if opts.Progress != nil {
		ctx = provider.WithProgress(ctx, opts.Progress)
	}
	name := desc.CloudName(b.Name)
	region := b.Region
	if region == "" {
		region = p.Region
	}
	found, err := sb.BucketByName(ctx, region, name)
	var creds provider.S3Credentials
	switch {
	case errors.Is(err, provider.ErrNotFound):
		provider.Report(ctx, "creating the state bucket %s (versioned, private)", name)
		found, creds, err = set.Buckets.CreateBucket(ctx, provider.BucketSpec{Name: name, Region: region, Versioned: true})
		if err != nil {
			return Backend{}, fmt.Errorf("creating the state bucket %s: %w", name, err)
		}
	case err != nil:
		return Backend{}, fmt.Errorf("finding the state bucket %s: %w", name, err)
	default:
		if creds, err = sb.BucketCredentials(ctx, found.ID); err != nil {
			return Backend{}, fmt.Errorf("fetching the state bucket's credentials: %w", err)
		}
	}
	ob := objectstore.Bucket{Endpoint: found.Endpoint, Name: found.Name, AccessKey: creds.AccessKey, SecretKey: creds.SecretKey}
	client, err := ob.Client()
	if err != nil {
		return Backend{}, err
	}
	location, err := client.GetBucketLocation(ctx, found.Name)
	if err != nil {
		return Backend{}, fmt.Errorf("reaching the state bucket %s: %w", found.Name, err)
	}
	u, err := url.Parse(found.Endpoint)
	if err != nil {
		return Backend{}, err
	}
	q := url.Values{"endpoint": {u.Host}, "region": {location}, "s3ForcePathStyle": {"true"}}
	if u.Scheme == "http" {
		q.Set("disableSSL", "true")
	}
	return Backend{
		URL:  "s3://" + found.Name + "?" + q.Encode(),
		Env:  map[string]string{"AWS_ACCESS_KEY_ID": creds.AccessKey, "AWS_SECRET_ACCESS_KEY": creds.SecretKey, "AWS_REGION": location},
		Name: fmt.Sprintf("%s (%s)", b.Addr(), found.Name),
	}, nil
}
