// Package sourcetarget opens both sides of a migration for the migrate commands:
// the source at DigitalOcean (its stock, read with a Spaces key made for
// the run) and the target's stack (what it stood up, and how to reach it).
package sourcetarget

import (
	"os"

	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/migrate"
	"github.com/cosocial/cosocial/pkg/migrate/objects"
	"github.com/cosocial/cosocial/pkg/migrate/rehearse"
	"github.com/cosocial/cosocial/pkg/migrate/remote"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/provider/digitalocean"
	"github.com/cosocial/cosocial/pkg/providerplugin"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/stack"
)

// Deps are what opening the sides needs beyond every engine command's.
type Deps struct {
	preflight.Deps
	// StartSandbox starts the simulators alone, when the target's stack
	// cannot be opened.
	StartSandbox func(ctx context.Context, desc *model.Description) (*sandbox.Sandbox, error)
	Getenv       func(string) string
	// StackDir is the folder of the description's stacks.
	StackDir func(sandbox bool) string
}

// NewDeps takes the dependencies from the factory.
func NewDeps(f *factory.Factory) Deps {
	return Deps{Deps: preflight.NewDeps(f), Getenv: os.Getenv, StackDir: f.StackDir, StartSandbox: func(ctx context.Context, desc *model.Description) (*sandbox.Sandbox, error) {
		return f.StartSandbox(ctx, desc, nil)
	}}
}

// Flags are the flags every migrate command shares.
type Flags struct {
	Sandbox     bool
	SourceNames []string
}

// Check refuses flag values before anything is reached: the shared flags
// and the width of the copies.
func (f Flags) Check(width int) error {
	if width < 1 || width > 256 {
		return exit.FlagErrorf("--width must be between 1 and 256, not %d", width)
	}
	_, err := f.Names()
	return err
}

// Bind adds the flags to a command.
func (f *Flags) Bind(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.Sandbox, "sandbox", false, "rehearse on the built-in simulators")
	cmd.Flags().StringArrayVar(&f.SourceNames, "source-name", nil, "ADDRESS=NAME: the source resource's name at DigitalOcean, when not <coop>-<name> or <name>")
}

// Names reads --source-name ADDRESS=NAME flags.
func (f Flags) Names() (map[string]string, error) {
	out := map[string]string{}
	for _, n := range f.SourceNames {
		k, v, ok := strings.Cut(n, "=")
		if !ok || k == "" || v == "" {
			return nil, exit.FlagErrorf("--source-name takes ADDRESS=NAME, e.g. bucket.media=cosocial-files, not %q", n)
		}
		out[k] = v
	}
	return out, nil
}

// Opened is a migration's source and target, open.
type Opened struct {
	Description *model.Description
	Migration   *model.Migration
	// Region is the source's DigitalOcean region.
	Region string
	Cloud  *digitalocean.Cloud
	Stock  *migrate.Stock
	// Outputs are the target stack's outputs, secrets included; nil when
	// the stack could not be opened. Created lists what it stood up.
	Outputs auto.OutputMap
	Created map[string]bool
	// Stack is the target's stack; nil when it could not be opened.
	Stack    *stack.Stack
	Sandbox  *sandbox.Sandbox
	Warnings []string
	closers  []func()
}

// Close releases what Open made: the Spaces key, the stack, the sandbox.
func (s *Opened) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// Open judges the description, opens the target's stack (on the sandbox
// when asked; a stack that cannot be opened is a warning unless
// needTarget) and takes stock of the source. On the sandbox, the source is
// seeded with sample data on first use.
func Open(d Deps, f Flags, needTarget bool) (*Opened, error) {
	ctx := d.Context()
	names, err := f.Names()
	if err != nil {
		return nil, err
	}
	checked, err := preflight.Run(d.IO, d.Load, d.Catalog(), d.Now())
	if err != nil {
		return nil, err
	}
	desc := checked.Description
	m := desc.Migration
	if m == nil || m.Source == nil {
		return nil, errors.New("the description has no migration block: add one naming the description of what runs today (see docs/language.md)")
	}
	s := &Opened{Description: desc, Migration: m, Warnings: []string{}}
	for _, p := range m.Source.Providers {
		if p.Kind != digitalocean.Kind {
			return nil, fmt.Errorf("the migration's source uses a %s provider (%s): only DigitalOcean sources can be migrated", p.Kind, p.Addr())
		}
		s.Region = p.Region
	}
	if s.Region == "" {
		return nil, errors.New("the migration's source names no DigitalOcean provider with a region")
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()

	opened, err := d.OpenStack(ctx, desc, f.Sandbox)
	switch {
	case err == nil:
		s.closers = append(s.closers, func() { opened.Close() })
		s.Sandbox, s.Stack = opened.Sandbox, opened.Stack
		if s.Outputs, err = opened.Stack.Outputs(ctx); err != nil {
			if needTarget {
				return nil, err
			}
			s.Warnings = append(s.Warnings, fmt.Sprintf("the target's stack could not be read (%v): whether the target is stood up was not checked", err))
			break
		}
		s.Created = stack.Created(s.Outputs)
	case ctx.Err() != nil || needTarget:
		return nil, err
	default:
		// A plan is still worth having without the target's stack (no
		// engine yet, a provider not implemented yet): say what was not
		// checked, and go on.
		first, _, _ := strings.Cut(err.Error(), "\n")
		s.Warnings = append(s.Warnings, fmt.Sprintf("the target's stack could not be opened (%s): whether the target is stood up was not checked", first))
		if f.Sandbox {
			sb, err := d.StartSandbox(ctx, desc)
			if err != nil {
				return nil, fmt.Errorf("starting the sandbox: %w", err)
			}
			s.Sandbox = sb
			s.closers = append(s.closers, func() { sb.Close() })
		}
	}

	cfg := digitalocean.Config{Token: d.Getenv(digitalocean.TokenEnv), Endpoint: d.Getenv(digitalocean.EndpointEnv)}
	spaces := digitalocean.SpacesEndpoint(s.Region)
	if s.Sandbox != nil {
		cfg.Token, cfg.Endpoint, spaces = s.Sandbox.DOToken, s.Sandbox.DOEndpoint(), s.Sandbox.SpacesEndpoint()
	}
	if s.Cloud, err = digitalocean.New(cfg); err != nil {
		return nil, err
	}
	if s.Sandbox != nil {
		fmt.Fprintln(d.IO.ErrOut, "Rehearsing on the sandbox: its DigitalOcean holds the source, seeded with sample data on first use.")
		if _, err := rehearse.Seed(ctx, s.Cloud, m.Source, s.Region, rehearse.Options{Statuses: 5000, Objects: 300, Seed: 1, MakeBucket: s.Sandbox.CreateSpacesBucket, SpacesEndpoint: spaces}); err != nil {
			return nil, fmt.Errorf("seeding the rehearsal: %w", err)
		}
	}
	if s.Stock, err = migrate.TakeStock(ctx, desc, migrate.Source{Cloud: s.Cloud, Region: s.Region, SpacesEndpoint: spaces, Names: names}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { s.Stock.Close(context.Background()) })
	s.Warnings = append(s.Warnings, s.Stock.Warnings...)
	ok = true
	return s, nil
}

// TargetBucket is how the target's bucket is reached, its keys included.
func (s *Opened) TargetBucket(name string) (objectstore.Bucket, error) {
	return stack.BucketAccess(s.Outputs, name)
}

// TargetServer is the target app server's public address.
func (s *Opened) TargetServer(name string) (string, error) {
	return stack.ServerIPv4(s.Outputs, name)
}

// TargetServerLogin is how the tool logs in to a stood-up server of the
// target: its pinned host key and the login key the stack keeps; on the
// sandbox, the ssh_config saying where its machine listens.
func (s *Opened) TargetServerLogin(name string) remote.Server {
	srv := remote.Server{HostKey: stack.ServerHostKey(s.Outputs, name), LoginKey: stack.ServerLoginKey(s.Outputs, name), User: providerplugin.LoginUser}
	srv.Address, _ = stack.ServerIPv4(s.Outputs, name)
	if s.Sandbox != nil {
		srv.SSHConfig = s.Sandbox.Env()["COSOCIAL_SSH_CONFIG"]
	}
	return srv
}

// TargetServerIPv6 is a target server's IPv6 address, "" when it has none.
func (s *Opened) TargetServerIPv6(name string) string {
	return stack.ServerIPv6(s.Outputs, name)
}

// TargetDatabase is a connection string to the target's database. It
// holds a password: never print it.
func (s *Opened) TargetDatabase(name string) (string, error) {
	return stack.DatabaseDSN(s.Outputs, name, s.Sandbox != nil)
}

// Ends pairs each paired bucket and database's source with its target.
func (s *Opened) Connections() (migrate.Connections, error) {
	conns := migrate.Connections{Buckets: map[string][2]objects.Endpoint{}, Databases: map[string][2]string{}}
	pairs, _, _ := migrate.Pairs(s.Description)
	for _, p := range pairs {
		switch p.Addr.Kind {
		case model.KindBucket:
			dst, err := s.TargetBucket(p.Addr.Name)
			if err != nil {
				return conns, err
			}
			src, ok := s.Stock.Buckets[p.Addr.Name]
			if !ok {
				return conns, fmt.Errorf("the source has no bucket for %s", p.Addr)
			}
			conns.Buckets[p.Addr.Name] = [2]objects.Endpoint{{Bucket: src}, {Bucket: dst}} // each region read from its endpoint
		case model.KindDatabase:
			dst, err := s.TargetDatabase(p.Addr.Name)
			if err != nil {
				return conns, err
			}
			src, ok := s.Stock.Databases[p.Addr.Name]
			if !ok {
				return conns, fmt.Errorf("the source has no database for %s", p.Addr)
			}
			conns.Databases[p.Addr.Name] = [2]string{src, dst}
		}
	}
	return conns, nil
}
