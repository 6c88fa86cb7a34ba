// Package providerplugin is the Pulumi resource provider that the engine
// runs as pulumi-resource-cosocial: this same binary, started under that
// name. It turns the engine's Check, Diff, Create, Read, Update and Delete
// calls for cosocial's resources (the types each registered provider kind
// names, and the apps') into calls on the kind's capabilities, with
// detailed diffs that say which changes are in place and which replace.
package providerplugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/blang/semver"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	pprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/providers"
)

// Name is the plugin's name: the engine starts it as pulumi-resource-<Name>.
const Name = "cosocial"

// Version is the plugin's version as the engine sees it.
var Version = semver.MustParse("0.1.0")

// Serve runs the plugin for the engine; main calls it when the binary was
// started as pulumi-resource-cosocial.
func Serve() error {
	// Ctrl-C at a terminal reaches every process of the job, this plugin
	// too. Dying on it would lose the answer of a create under way, and
	// leave what it made unrecorded: the engine, which gets the same
	// signal, asks the plugin to stop through Cancel instead.
	signal.Ignore(os.Interrupt)
	return pprovider.Main(Name, func(host *pprovider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return NewServer(New(host)), nil
	})
}

// Provider is one configured instance of the plugin: the engine starts one
// per provider block of a description.
type Provider struct {
	plugin.UnimplementedProvider

	host *pprovider.HostClient

	mu     sync.Mutex
	config resource.PropertyMap
	clouds clouds

	// stop ends every operation when the engine asks to cancel.
	stop   context.Context
	cancel context.CancelFunc

	// Tuning, for tests: how often statuses are polled, and the backoff.
	Poll    time.Duration
	Backoff provider.Backoff
}

// New returns an unconfigured provider; host (nil in tests) receives
// progress lines.
func New(host *pprovider.HostClient) *Provider {
	stop, cancel := context.WithCancel(context.Background())
	return &Provider{host: host, stop: stop, cancel: cancel}
}

func (p *Provider) Close() error { p.cancel(); return nil }

func (p *Provider) Handshake(context.Context, plugin.ProviderHandshakeRequest) (*plugin.ProviderHandshakeResponse, error) {
	return &plugin.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true, AcceptOutputs: false}, nil
}

func (p *Provider) GetPluginInfo(context.Context) (plugin.PluginInfo, error) {
	v := Version
	return plugin.PluginInfo{Version: &v}, nil
}

func (p *Provider) SignalCancellation(context.Context) error { p.cancel(); return nil }

// GetSchema describes the provider for tools that ask; the program uses
// the resources by token, without a generated SDK.
func (p *Provider) GetSchema(context.Context, plugin.GetSchemaRequest) (plugin.GetSchemaResponse, error) {
	res := map[string]any{}
	for tok, resType := range types() {
		inputs := map[string]any{}
		var required []string
		for _, in := range resType.inputs {
			inputs[in.name] = map[string]any{"type": map[kind]string{kString: "string", kInt: "integer", kBool: "boolean", kStrings: "array", kStringMap: "object"}[in.kind]}
			if in.required {
				required = append(required, in.name)
			}
		}
		res[string(tok)] = map[string]any{"inputProperties": inputs, "requiredInputs": required}
	}
	b, err := json.Marshal(map[string]any{"name": Name, "version": Version.String(), "resources": res})
	return plugin.GetSchemaResponse{Schema: b}, err
}

// configSchema is a provider block's settings as the program passes them.
var configSchema = []prop{
	{name: "kind", kind: kString, required: true},
	{name: "endpoint", kind: kString},
	{name: "project", kind: kString},
	{name: "region", kind: kString, required: true},
	{name: "cloud", kind: kString},
	{name: "operator", kind: kString},
}

func (p *Provider) CheckConfig(_ context.Context, req plugin.CheckConfigRequest) (plugin.CheckConfigResponse, error) {
	in, fails := check(configSchema, withoutVersion(req.News))
	c := props(in)
	if name := c.text("kind"); !c.unknown("kind") && name != "" {
		// Credentials are each kind's own (go-ovh's variables, clouds.yaml
		// or OS_*): the cloud judges them at Configure.
		k, ok := providers.Lookup(name)
		switch {
		case !ok:
			fails = append(fails, failure{"kind", fmt.Sprintf("this plugin knows no provider kind %q (%v)", name, providers.Names())})
		case k.Standable() != nil:
			fails = append(fails, failure{"kind", k.Standable().Error()})
		default:
			for _, s := range k.Settings {
				if s.Required && !c.unknown(s.Name) && c.text(s.Name) == "" {
					fails = append(fails, failure{s.Name, fmt.Sprintf("a provider of kind %s needs %s", name, s.Name)})
				}
			}
		}
	}
	return plugin.CheckConfigResponse{Properties: in, Failures: checkFailures(fails)}, nil
}

// withoutVersion drops the engine's own "version" setting from a
// provider's inputs.
func withoutVersion(m resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		if k != "version" {
			out[k] = v
		}
	}
	return out
}

// DiffConfig: how the API is reached (the endpoint) can change freely, as
// the sandbox's port does between runs; the account, project, region or
// cloud cannot without replacing everything made there.
func (p *Provider) DiffConfig(_ context.Context, req plugin.DiffConfigRequest) (plugin.DiffConfigResponse, error) {
	resType := &resourceType{inputs: []prop{
		{name: "kind", replace: true}, {name: "project", replace: true}, {name: "region", replace: true},
		{name: "cloud", replace: true}, {name: "operator", replace: true}, {name: "endpoint"},
	}}
	return resType.diff(withoutVersion(req.OldOutputs), withoutVersion(req.NewInputs)), nil
}

func (p *Provider) Configure(ctx context.Context, req plugin.ConfigureRequest) (plugin.ConfigureResponse, error) {
	c := props(req.Inputs)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.config = req.Inputs
	cfg := providers.FromSettings(c.text)
	cfg.Poll, cfg.Backoff = p.Poll, p.Backoff
	set, err := providers.Open(cfg)
	if err != nil {
		return plugin.ConfigureResponse{}, err
	}
	if set.Login != nil {
		if err := set.Login.Login(ctx); err != nil {
			// The engine reports it against the first resource that asks;
			// naming the provider lets the tool point at its block.
			if req.Name != nil {
				err = fmt.Errorf("%s: %w", *req.Name, err)
			}
			return plugin.ConfigureResponse{}, err
		}
	}
	p.clouds = clouds{servers: set.Servers, databases: set.Databases, buckets: set.Buckets, dns: set.DNS, zones: set.Zones, offers: set.Offers}
	return plugin.ConfigureResponse{}, nil
}

func checkFailures(fails []failure) []plugin.CheckFailure {
	out := make([]plugin.CheckFailure, len(fails))
	for i, f := range fails {
		out[i] = plugin.CheckFailure{Property: resource.PropertyKey(f.property), Reason: f.reason}
	}
	return out
}

func (p *Provider) Check(ctx context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	resType, err := lookup(req.Type)
	if err != nil {
		return plugin.CheckResponse{}, err
	}
	in, fails := check(resType.inputs, req.News)
	if resType.validate != nil {
		var olds props
		if len(req.Olds) > 0 {
			olds = props(req.Olds)
		}
		fails = append(fails, resType.validate(olds, props(in))...)
	}
	// Only what changes is asked about: a flavor the cloud has since
	// retired does not block every later plan of a server that runs on it.
	if resType.offered != nil && len(fails) == 0 && !in.ContainsUnknowns() && !sameOffer(req.Olds, in) {
		p.mu.Lock()
		c := p.clouds
		p.mu.Unlock()
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		more, err := resType.offered(ctx, c, props(in))
		if err != nil {
			return plugin.CheckResponse{}, err
		}
		fails = append(fails, more...)
	}
	return plugin.CheckResponse{Properties: in, Failures: checkFailures(fails)}, nil
}

func (p *Provider) Diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	resType, err := lookup(req.Type)
	if err != nil {
		return plugin.DiffResult{}, err
	}
	return resType.diff(req.OldInputs, req.NewInputs), nil
}

// operation prepares a call to the cloud: the resource type, the
// configured capabilities, a context that ends on cancellation or the
// engine's timeout, and progress reported against the resource.
func (p *Provider) operation(ctx context.Context, req resourceRef) (*resourceType, clouds, context.Context, context.CancelFunc, error) {
	resType, err := lookup(req.Type)
	if err != nil {
		return nil, clouds{}, nil, nil, err
	}
	p.mu.Lock()
	c := p.clouds
	p.mu.Unlock()
	if !resType.capable(c) {
		return nil, clouds{}, nil, nil, fmt.Errorf("%s: this provider was not configured for it", req.Type)
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(p.stop, cancel)
	if req.Timeout > 0 {
		var cancelT context.CancelFunc
		ctx, cancelT = context.WithTimeout(ctx, time.Duration(req.Timeout*float64(time.Second)))
		prev := cancel
		cancel = func() { cancelT(); prev() }
	}
	if p.host != nil {
		host, urn := p.host, req.URN
		ctx = provider.WithProgress(ctx, func(msg string) { host.LogStatus(context.Background(), diag.Info, urn, msg) })
	}
	return resType, c, ctx, func() { stop(); cancel() }, nil
}

type resourceRef struct {
	URN     resource.URN
	Type    tokens.Type
	Timeout float64
}

func (p *Provider) Create(ctx context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	if req.Preview {
		return plugin.CreateResponse{Properties: req.Properties, Status: resource.StatusOK}, nil
	}
	resType, c, ctx, done, err := p.operation(ctx, resourceRef{req.URN, req.Type, req.Timeout})
	if err != nil {
		return plugin.CreateResponse{Status: resource.StatusUnknown}, err
	}
	defer done()
	id, out, err := resType.create(ctx, c, props(req.Properties))
	var partial *partialCreate
	if errors.As(err, &partial) {
		return plugin.CreateResponse{ID: resource.ID(partial.ID), Properties: partial.Outputs, Status: resource.StatusPartialFailure}, err
	}
	var unfinished *provider.Unfinished
	if errors.As(err, &unfinished) {
		// Made but not finished: the engine records it with the error
		// (Pulumi's initialization failure), and the next run's update
		// finishes it instead of making a second one.
		return plugin.CreateResponse{ID: resource.ID(unfinished.ID), Properties: outputs(props(req.Properties), nil), Status: resource.StatusPartialFailure}, err
	}
	if err != nil {
		return plugin.CreateResponse{Status: resource.StatusUnknown}, err
	}
	return plugin.CreateResponse{ID: resource.ID(id), Properties: out, Status: resource.StatusOK}, nil
}

func (p *Provider) Read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	resType, c, ctx, done, err := p.operation(ctx, resourceRef{req.URN, req.Type, req.Timeout})
	if err != nil {
		return plugin.ReadResponse{Status: resource.StatusUnknown}, err
	}
	defer done()
	in, out, err := resType.read(ctx, c, string(req.ID), props(req.Inputs), props(req.State))
	if err != nil {
		return plugin.ReadResponse{Status: resource.StatusUnknown}, err
	}
	return plugin.ReadResponse{ReadResult: plugin.ReadResult{ID: req.ID, Inputs: in, Outputs: out}, Status: resource.StatusOK}, nil
}

func (p *Provider) Update(ctx context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	if req.Preview {
		return plugin.UpdateResponse{Properties: outputs(props(req.OldOutputs), req.NewInputs), Status: resource.StatusOK}, nil
	}
	resType, c, ctx, done, err := p.operation(ctx, resourceRef{req.URN, req.Type, req.Timeout})
	if err != nil {
		return plugin.UpdateResponse{Status: resource.StatusUnknown}, err
	}
	defer done()
	out, err := resType.update(ctx, c, string(req.ID), props(req.OldInputs), props(req.NewInputs), props(req.OldOutputs))
	if errors.As(err, new(*unchanged)) {
		return plugin.UpdateResponse{Status: resource.StatusUnknown}, err
	}
	if err != nil {
		// What the failed update did (a secret an app newly needs) is
		// kept; without it, what the resource was.
		if out == nil {
			out = req.OldOutputs
		}
		return plugin.UpdateResponse{Properties: out, Status: resource.StatusPartialFailure}, err
	}
	return plugin.UpdateResponse{Properties: out, Status: resource.StatusOK}, nil
}

func (p *Provider) Delete(ctx context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	resType, c, ctx, done, err := p.operation(ctx, resourceRef{req.URN, req.Type, req.Timeout})
	if err != nil {
		return plugin.DeleteResponse{Status: resource.StatusUnknown}, err
	}
	defer done()
	if err := resType.delete(ctx, c, string(req.ID), props(req.Inputs), props(req.Outputs)); err != nil {
		return plugin.DeleteResponse{Status: resource.StatusUnknown}, err
	}
	return plugin.DeleteResponse{Status: resource.StatusOK}, nil
}

var _ plugin.Provider = (*Provider)(nil)

// sameOffer: the flavor and image are those the resource was made with.
func sameOffer(olds, news resource.PropertyMap) bool {
	if len(olds) == 0 {
		return false
	}
	o, n := props(olds), props(news)
	return o.text("flavor") == n.text("flavor") && o.text("image") == n.text("image")
}
