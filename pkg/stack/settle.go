package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"

	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/providers"
	"github.com/cosocial/cosocial/pkg/providerplugin"
)

// A run killed outright (kill -9, a power cut, a dropped SSH session)
// leaves the operations it had begun pending in the state. The engine's
// next update only warns about them, and makes a second server beside the
// one a pending create may have made. So before changing anything, the
// tool settles them: what a pending create left at the provider is taken
// back (nothing but that create knew of it), and a refresh clears the
// pending operations and reads back what the others did.

// snapshot is the part of the engine's state that settling reads.
type snapshot struct {
	Resources []struct {
		StateResource
		Inputs map[string]any `json:"inputs"`
	} `json:"resources"`
	Pending []pendingOp `json:"pending_operations"`
}

// pendingOp is an operation the engine began and never saw end.
type pendingOp struct {
	Type     string `json:"type"` // creating, updating, deleting, reading, …
	Resource struct {
		URN      string         `json:"urn"`
		Type     string         `json:"type"`
		Inputs   map[string]any `json:"inputs"`
		Provider string         `json:"provider"` // the provider resource's URN::ID
	} `json:"resource"`
}

func (s *Stack) snapshot(ctx context.Context) (*snapshot, error) {
	dep, err := s.auto.Export(ctx)
	if err != nil {
		return nil, engineError("reading the state", err)
	}
	var snap snapshot
	if len(dep.Deployment) > 0 {
		if err := json.Unmarshal(dep.Deployment, &snap); err != nil {
			return nil, fmt.Errorf("reading the state: %w", err)
		}
	}
	return &snap, nil
}

// Unsettled counts the operations a killed run left pending.
func (s *Stack) Unsettled(ctx context.Context) (int, error) {
	snap, err := s.snapshot(ctx)
	if err != nil {
		return 0, err
	}
	return len(snap.Pending), nil
}

// Settle resolves what a killed run left pending, telling Options.Say what
// it does; a state with nothing pending is left alone. It refuses, having
// changed nothing, when a pending create's name matches more than one
// unrecorded resource of a kind: which one the run made cannot be told.
func (s *Stack) Settle(ctx context.Context, onEvent Events) error {
	snap, err := s.snapshot(ctx)
	if err != nil || len(snap.Pending) == 0 {
		return err
	}
	s.say(fmt.Sprintf("A run on this stack was stopped before it finished: %d operation(s) were left unsettled; settling them first", len(snap.Pending)))
	known := map[string]bool{}
	configs := map[string]map[string]any{}
	for _, r := range snap.Resources {
		known[r.ID] = true
		if strings.HasPrefix(r.Type, "pulumi:providers:") {
			configs[r.URN+"::"+r.ID] = r.Inputs
		}
	}
	type removal struct {
		from provider.Leftovers
		what provider.Leftover
		addr string
	}
	var removals []removal
	for _, op := range snap.Pending {
		kind := providerplugin.LeftoverKind(op.Resource.Type)
		if op.Type != "creating" || kind == "" {
			continue
		}
		addr := addressOf(op.Resource.URN)
		cfg, ok := configs[op.Resource.Provider]
		if !ok {
			return fmt.Errorf("settling the interrupted create of %s: its provider is not in the state", addr)
		}
		pc := providers.FromSettings(func(name string) string { return text(cfg[name]) })
		pc.Env = s.env
		set, err := providers.Open(pc)
		if err != nil {
			return fmt.Errorf("settling the interrupted create of %s: %w", addr, err)
		}
		name := text(op.Resource.Inputs["name"])
		if set.Leftovers == nil {
			s.say(fmt.Sprintf("  %s: %s cannot be searched by name; check at the provider that no second %s %q runs", addr, pc.Kind, kind, name))
			continue
		}
		found, err := set.Leftovers.Leftovers(ctx, kind, text(op.Resource.Inputs["region"]), name, known)
		if err != nil {
			return fmt.Errorf("settling the interrupted create of %s: looking for what it made: %w", addr, err)
		}
		byKind := map[provider.Kind][]provider.Leftover{}
		for _, l := range found {
			byKind[l.Kind] = append(byKind[l.Kind], l)
		}
		for k, ls := range byKind {
			if len(ls) > 1 {
				var list []string
				for _, l := range ls {
					list = append(list, l.String())
				}
				return &EngineFailure{Op: "settling", Summary: "Cannot tell which resource an interrupted run made", Detail: fmt.Sprintf(
					"a run was stopped while it created %s, and the provider holds %d %ss of that name that the state does not record: %s. "+
						"Nothing was changed. Delete at the provider any made by hand, then run the command again: the one the stopped run made is then taken back and made once.",
					addr, len(ls), k, strings.Join(list, ", "))}
			}
			removals = append(removals, removal{set.Leftovers, ls[0], addr})
		}
	}
	for _, r := range removals {
		s.say(fmt.Sprintf("  %s: taking back %s, made by the stopped run but never recorded", r.addr, r.what))
		if err := r.from.RemoveLeftover(ctx, r.what); err != nil {
			return fmt.Errorf("settling the interrupted create of %s: removing %s: %w", r.addr, r.what, err)
		}
	}
	plan, err := collect(refreshing, onEvent, func(ch chan<- events.EngineEvent) error {
		_, err := s.auto.Refresh(ctx, optrefresh.ClearPendingCreates(), optrefresh.EventStreams(ch))
		return err
	})
	if err := s.failure("settling the stopped run", plan, err); err != nil {
		return err
	}
	s.say("  settled: the state again records what the providers hold")
	return nil
}

func (s *Stack) say(msg string) {
	if s.opts.Say != nil {
		s.opts.Say(msg)
	}
}

// text is a state value as a string: provider settings are kept as text.
func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
