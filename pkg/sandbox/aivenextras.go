package sandbox

import (
	"context"
	_ "embed"

	"github.com/cosocial/cosocial/pkg/pgserver"
)

//go:embed aiven_extras.sql
var aivenExtras string

// InstallAivenExtras gives a database of an OVHcloud-simulated cluster
// what OVHcloud's managed PostgreSQL offers its admin for logical
// replication (see aiven_extras.sql), as if the admin had run CREATE
// EXTENSION aiven_extras there.
func InstallAivenExtras(ctx context.Context, c *pgserver.Cluster, database string) error {
	return c.Exec(ctx, database, aivenExtras)
}

// ovhDatabases are the sandbox's database servers as OVHcloud's
// simulator sees them: every PostgreSQL database comes with aiven_extras.
type ovhDatabases struct{ *Databases }

func (d ovhDatabases) CreateDatabase(ctx context.Context, id, name string) error {
	if err := d.Databases.CreateDatabase(ctx, id, name); err != nil {
		return err
	}
	s, err := d.server(id)
	if err != nil {
		return err
	}
	if c, ok := s.(*pgserver.Cluster); ok {
		return InstallAivenExtras(ctx, c, name)
	}
	return nil
}
