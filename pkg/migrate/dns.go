package migrate

import (
	"context"
	"fmt"

	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/provider/digitalocean"
)

// RecordSwitch points the services' A and AAAA records, in the zone
// DigitalOcean serves today, at the target server, and back. Both
// directions are written from the two servers' addresses rather than from
// what the records held, so an undo after a crash still knows where to
// go. The target's own DNS zone already holds the same records (the stack
// publishes them) for when the domain's delegation moves. CNAMEs to other
// names are the plan's to list as steps by hand.
type RecordSwitch struct {
	Cloud      *digitalocean.Cloud
	Hosts      []string
	SourceIPv4 string
	TargetIPv4 string
	// SourceIPv6 and TargetIPv6, where the servers have IPv6: an AAAA
	// record left at the source would send IPv6 clients to the stopped
	// server.
	SourceIPv6 string
	TargetIPv6 string
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

// point sets every A record to v4 and every AAAA record to v6; with AAAA
// records and no v6 to give them, it changes nothing and says so.
func (s *RecordSwitch) point(ctx context.Context, v4, v6, side string) (a, aaaa int, err error) {
	inv, err := s.Cloud.Inventory(ctx)
	if err != nil {
		return 0, 0, err
	}
	recs := hostRecords(s.Hosts, inv.Domains, "A", "AAAA")
	for _, f := range recs {
		if f.record.Type == "AAAA" && v6 == "" {
			return 0, 0, fmt.Errorf("the AAAA record of %s cannot be pointed at the %s: it has no IPv6 address. Give it one, or delete the AAAA record at DigitalOcean before the window; no record was changed", f.host, side)
		}
	}
	for _, f := range recs {
		to := v4
		if f.record.Type == "AAAA" {
			to = v6
			aaaa++
		} else {
			a++
		}
		if err := s.Cloud.PointRecord(ctx, f.zone, f.record, to); err != nil {
			return a, aaaa, err
		}
	}
	return a, aaaa, nil
}

// Switch points the records at the target.
func (s *RecordSwitch) Switch(ctx context.Context) (string, error) {
	a, aaaa, err := s.point(ctx, s.TargetIPv4, s.TargetIPv6, "target server")
	detail := fmt.Sprintf("%d A records point at %s", a, s.TargetIPv4)
	if aaaa > 0 {
		detail += fmt.Sprintf(", %d AAAA records at %s", aaaa, s.TargetIPv6)
	}
	return detail, err
}

// Restore points the records back at the source.
func (s *RecordSwitch) Restore(ctx context.Context) error {
	_, _, err := s.point(ctx, s.SourceIPv4, s.SourceIPv6, "source server")
	return err
}
