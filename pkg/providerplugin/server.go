package providerplugin

import (
	"context"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil/rpcerror"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
)

// server is the gRPC face of a Provider. plugin.NewProviderServer does
// everything but Diff and Create. Its marshalling of a detailed diff never
// sets HasDetailedDiff, turns DELETE_REPLACE into DELETE and drops the
// stable keys, so the engine would show replacements as updates; and its
// Create drops a partial failure's ID, so a resource made but not finished
// would go unrecorded. Both are marshalled here instead.
type server struct {
	pulumirpc.ResourceProviderServer
	p *Provider
}

// NewServer wraps a provider for the engine.
func NewServer(p *Provider) pulumirpc.ResourceProviderServer {
	return &server{ResourceProviderServer: plugin.NewProviderServer(p), p: p}
}

func (s *server) Diff(ctx context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	opts := plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, PropagateNil: true}
	oldInputs, err := plugin.UnmarshalProperties(req.GetOldInputs(), opts)
	if err != nil {
		return nil, err
	}
	newInputs, err := plugin.UnmarshalProperties(req.GetNews(), opts)
	if err != nil {
		return nil, err
	}
	if oldInputs == nil {
		// Engines that do not send old inputs send the old state, which
		// holds the inputs beside the outputs.
		if oldInputs, err = plugin.UnmarshalProperties(req.GetOlds(), opts); err != nil {
			return nil, err
		}
	}
	diff, err := s.p.Diff(ctx, plugin.DiffRequest{
		URN: resource.URN(req.GetUrn()), Type: tokens.Type(req.GetType()), ID: resource.ID(req.GetId()),
		OldInputs: oldInputs, NewInputs: newInputs, AllowUnknowns: true, IgnoreChanges: req.GetIgnoreChanges(),
	})
	if err != nil {
		return nil, err
	}
	return marshalDiff(diff), nil
}

// Create answers a create that made its resource but could not finish it
// as Pulumi's protocol says: an error carrying ErrorResourceInitFailed
// with the resource's ID and properties, which the engine records.
func (s *server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if req.GetPreview() {
		return s.ResourceProviderServer.Create(ctx, req)
	}
	opts := plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, PropagateNil: true}
	inputs, err := plugin.UnmarshalProperties(req.GetProperties(), opts)
	if err != nil {
		return nil, err
	}
	urn := resource.URN(req.GetUrn())
	resp, err := s.p.Create(ctx, plugin.CreateRequest{URN: urn, Name: urn.Name(), Type: urn.Type(), Properties: inputs, Timeout: req.GetTimeout()})
	state, merr := plugin.MarshalProperties(resp.Properties, opts)
	if merr != nil {
		return nil, merr
	}
	if err != nil {
		if resp.Status == resource.StatusPartialFailure && resp.ID != "" {
			return nil, rpcerror.WithDetails(rpcerror.New(codes.Unknown, err.Error()),
				&pulumirpc.ErrorResourceInitFailed{Id: string(resp.ID), Properties: state, Inputs: state, Reasons: []string{err.Error()}})
		}
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: string(resp.ID), Properties: state}, nil
}

var diffKinds = map[plugin.DiffKind]pulumirpc.PropertyDiff_Kind{
	plugin.DiffAdd:           pulumirpc.PropertyDiff_ADD,
	plugin.DiffAddReplace:    pulumirpc.PropertyDiff_ADD_REPLACE,
	plugin.DiffDelete:        pulumirpc.PropertyDiff_DELETE,
	plugin.DiffDeleteReplace: pulumirpc.PropertyDiff_DELETE_REPLACE,
	plugin.DiffUpdate:        pulumirpc.PropertyDiff_UPDATE,
	plugin.DiffUpdateReplace: pulumirpc.PropertyDiff_UPDATE_REPLACE,
}

func marshalDiff(d plugin.DiffResult) *pulumirpc.DiffResponse {
	resp := &pulumirpc.DiffResponse{
		Changes:             pulumirpc.DiffResponse_DIFF_NONE,
		DeleteBeforeReplace: d.DeleteBeforeReplace,
		HasDetailedDiff:     true,
		DetailedDiff:        map[string]*pulumirpc.PropertyDiff{},
	}
	if d.Changes == plugin.DiffSome {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	for path, pd := range d.DetailedDiff {
		resp.DetailedDiff[path] = &pulumirpc.PropertyDiff{Kind: diffKinds[pd.Kind], InputDiff: pd.InputDiff}
	}
	for _, k := range d.ChangedKeys {
		resp.Diffs = append(resp.Diffs, string(k))
	}
	for _, k := range d.ReplaceKeys {
		resp.Replaces = append(resp.Replaces, string(k))
	}
	for _, k := range d.StableKeys {
		resp.Stables = append(resp.Stables, string(k))
	}
	sort.Strings(resp.Diffs)
	sort.Strings(resp.Replaces)
	sort.Strings(resp.Stables)
	return resp
}
