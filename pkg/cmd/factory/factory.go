// Package factory builds what commands depend on, lazily: the terminal
// streams, the description named by -f, the catalog, the clock. It is made
// once in main; a command pays only for what it calls, and a test replaces
// any one function.
package factory

import (
	"context"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/model"
	// Every provider kind registers itself: each command sees them all.
	_ "github.com/cosocial/cosocial/pkg/provider/all"
)

// DefaultFile is the description read when -f is not given.
const DefaultFile = "cosocial.hcl"

// DefaultStack is the stack used when --stack is not given.
const DefaultStack = "production"

// Factory carries the dependencies shared by all commands.
type Factory struct {
	IOStreams *iostreams.IOStreams
	Version   string

	// File and Stack are the global -f and --stack flags; the root command
	// binds them, so they hold their values by the time a command runs.
	File  string
	Stack string

	Now     func() time.Time
	Catalog func() *catalog.Catalog
	// Engine finds the Pulumi CLI.
	Engine func(context.Context) (auto.PulumiCommand, error)
	// OpenStack opens the stack of a description, on the sandbox when
	// asked.
	OpenStack func(ctx context.Context, desc *model.Description, sandbox bool) (*OpenedStack, error)
}

// New returns the factory for a real run.
func New(version string) *Factory {
	f := &Factory{
		IOStreams: iostreams.System(),
		Version:   version,
		File:      DefaultFile,
		Stack:     DefaultStack,
		Now:       time.Now,
		Catalog:   catalog.Default,
	}
	f.Engine = f.findEngine
	f.OpenStack = f.openStack
	return f
}

// Description loads the description that -f names.
func (f *Factory) Description() *config.Result { return config.Load(f.File) }
