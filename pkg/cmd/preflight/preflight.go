// Package preflight is what every command that reaches a provider does
// first: load the description and judge it. With a language or domain
// error, or a residency violation under on_violation = "error", it stops
// the command before a single provider request is sent.
package preflight

import (
	"fmt"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/views"
)

// Checked is a description that may go ahead.
type Checked struct {
	Description *model.Description
	Judged      *policy.Result
}

// Run loads and judges; it prints the diagnostics (warnings too) to
// stderr, and returns exit.ErrSilent when the command must stop.
func Run(io *iostreams.IOStreams, load func() *config.Result, cat *catalog.Catalog, now time.Time) (*Checked, error) {
	res := load()
	diags := res.Diagnostics
	var judged *policy.Result
	if !diags.HasErrors() {
		judged = policy.Check(res.Description, cat, now)
		diags = append(diags, judged.Diagnostics...)
		config.SortDiagnostics(diags, res.Description.Files)
	}
	views.Diagnostics(io.ErrOut, diags, res.Files, io.ErrColorScheme())
	if diags.HasErrors() {
		cs := io.ErrColorScheme()
		fmt.Fprintf(io.ErrOut, "%s Stopped before contacting any provider: nothing was changed.\n", cs.Red("✗"))
		return nil, exit.ErrSilent
	}
	return &Checked{Description: res.Description, Judged: judged}, nil
}
