package migrate

import (
	"context"
	"fmt"

	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/provider/digitalocean"
)

// RecordSwitch points the services' A records, in the zone DigitalOcean
// serves today, at the target server, and back. Both directions are
// written from the two servers' addresses rather than from what the
// records held, so an undo after a crash still knows where to go. The
// target's own DNS zone already holds the same records (the stack
// publishes them) for when the domain's delegation moves.
type RecordSwitch struct {
	Cloud      *digitalocean.Cloud
	Hosts      []string
	SourceIPv4 string
	TargetIPv4 string
}

// Hosts are the hosts a source description's services answer on.
func Hosts(source *model.Description) []string {
	var hosts []string
	for _, s := range source.Services {
		hosts = append(hosts, s.Domain)
		if s.MediaHost != "" {
			hosts = append(hosts, s.MediaHost)
		}
	}
	return hosts
}

func (s *RecordSwitch) records(ctx context.Context) ([]found, error) {
	inv, err := s.Cloud.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	return hostRecords(s.Hosts, inv.Domains, "A"), nil
}

func (s *RecordSwitch) point(ctx context.Context, to string) (int, error) {
	recs, err := s.records(ctx)
	if err != nil {
		return 0, err
	}
	for _, f := range recs {
		if err := s.Cloud.PointRecord(ctx, f.zone, f.record, to); err != nil {
			return 0, err
		}
	}
	return len(recs), nil
}

// Switch points the records at the target.
func (s *RecordSwitch) Switch(ctx context.Context) (string, error) {
	n, err := s.point(ctx, s.TargetIPv4)
	return fmt.Sprintf("%d A records point at %s", n, s.TargetIPv4), err
}

// Restore points the records back at the source.
func (s *RecordSwitch) Restore(ctx context.Context) error {
	_, err := s.point(ctx, s.SourceIPv4)
	return err
}
