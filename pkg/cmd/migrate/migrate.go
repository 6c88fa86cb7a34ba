// Package migrate is `cosocial migrate`: moving a co-op's services off
// another provider, as the description's migration block declares.
package migrate

import (
	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/plan"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/run"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/status"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/verify"
)

// NewCmdMigrate builds the command group.
func NewCmdMigrate(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate <command>",
		Short: "Move servers, object storage and PostgreSQL between providers",
		Long: `Move what the migration block's source description runs (today: DigitalOcean)
onto the description's own resources: media bucket to media bucket, database
to database, server to server, within the declared downtime budget.

  cosocial migrate plan          # what moves, how long, the downtime, what blocks it
  cosocial migrate run           # copy while up, then the cutover window
  cosocial migrate status        # where the run stands, step by step
  cosocial migrate verify        # every object and table compared at both ends`,
	}
	cmd.AddCommand(plan.NewCmdPlan(f, nil), run.NewCmdRun(f, nil), status.NewCmdStatus(f, nil), verify.NewCmdVerify(f, nil))
	return cmd
}
