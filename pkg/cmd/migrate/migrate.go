// Package migrate is `cosocial migrate`: moving a co-op's services off
// another provider, as the description's migration block declares.
package migrate

import (
	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/plan"
)

// NewCmdMigrate builds the command group.
func NewCmdMigrate(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate <command>",
		Short: "Move servers, object storage and PostgreSQL between providers",
		Long: `Move what the migration block's source description runs (today: DigitalOcean)
onto the description's own resources: media bucket to media bucket, database
to database, server to server, within the declared downtime budget.

  cosocial migrate plan          # what moves, how long, the downtime, what blocks it`,
	}
	cmd.AddCommand(plan.NewCmdPlan(f, nil))
	return cmd
}
