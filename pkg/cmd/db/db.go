// Package db is `cosocial db`: how much room a database has left, when it
// runs out, and the resize that plan and up then carry out.
package db

import (
	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/db/forecast"
	"github.com/cosocial/cosocial/pkg/cmd/db/measure"
	"github.com/cosocial/cosocial/pkg/cmd/db/resize"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
)

// NewCmdDB builds the command group.
func NewCmdDB(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db <command>",
		Short: "Measure a database, forecast when its disk fills, and plan the resize",
		Long: `Measure a database regularly, see when it reaches 80, 90 and 100 % of its
disk, and turn the recommended resize into a change of the description:

  cosocial db measure            # a sample, added to the history
  cosocial db forecast           # when the disk fills
  cosocial db resize --write     # the next size, written to the description
  cosocial plan                  # the in-place resize, to review
  cosocial up                    # carried out`,
	}
	cmd.AddCommand(
		measure.NewCmdMeasure(f, nil),
		forecast.NewCmdForecast(f, nil),
		resize.NewCmdResize(f, nil),
	)
	return cmd
}
