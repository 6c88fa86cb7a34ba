package digitalocean

import (
	"context"
	"fmt"

	"github.com/digitalocean/godo"
)

// PointRecord changes where an address record points (its data), keeping
// its name, type and TTL: the DNS switch of a migration, and its undo.
func (c *Cloud) PointRecord(ctx context.Context, domain string, r Record, data string) error {
	req := &godo.DomainRecordEditRequest{Type: r.Type, Name: r.Name, Data: data, TTL: r.TTL}
	err := c.call(ctx, false, func() error {
		_, _, err := c.api.Domains.EditRecord(ctx, domain, r.ID, req)
		return err
	})
	if err != nil {
		return fmt.Errorf("pointing %s record %s in %s at %s: %w", r.Type, r.Name, domain, data, err)
	}
	return nil
}
