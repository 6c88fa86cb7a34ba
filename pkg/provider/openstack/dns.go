package openstack

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/dns/v2/recordsets"
	"github.com/gophercloud/gophercloud/v2/openstack/dns/v2/zones"

	"github.com/cosocial/cosocial/pkg/provider"
)

// Designate publishes asynchronously: a zone or record set is PENDING
// until its name servers have it, then ACTIVE (or ERROR). Every call here
// waits for that, so a returned record is being served.

// ZoneSpec and Zone are the provider package's: Designate makes zones.
type (
	ZoneSpec = provider.ZoneSpec
	Zone     = provider.Zone
)

var _ provider.Zones = (*Cloud)(nil)

func fqdn(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") + "." }

func (c *Cloud) dnsClient(ctx context.Context) (*session, error) {
	s, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	if s.dns == nil {
		return nil, fmt.Errorf("openstack: the cloud has no DNS service (Designate) in %s: %w", c.eo.Region, s.dnsErr)
	}
	return s, nil
}

// EnsureZone creates a zone, or brings an existing one of the same name to
// spec: run again, it changes nothing.
func (c *Cloud) EnsureZone(ctx context.Context, spec ZoneSpec) (*Zone, error) {
	s, err := c.dnsClient(ctx)
	if err != nil {
		return nil, err
	}
	var z *zones.Zone
	err = c.ensure(ctx, func() error {
		var err error
		z, err = c.zoneByName(ctx, s, spec.Name)
		switch {
		case errors.Is(err, provider.ErrNotFound):
			return c.do(ctx, "Designate", true, func() error {
				var err error
				z, err = zones.Create(ctx, s.dns, zones.CreateOpts{Name: fqdn(spec.Name), Email: spec.Email, TTL: spec.TTL, Description: spec.Description}).Extract()
				return err
			})
		case err != nil:
			return err
		case z.Email != spec.Email && spec.Email != "" || z.TTL != spec.TTL && spec.TTL != 0 || z.Description != spec.Description:
			desc := spec.Description
			return c.do(ctx, "Designate", false, func() error {
				return zones.Update(ctx, s.dns, z.ID, zones.UpdateOpts{Email: spec.Email, TTL: spec.TTL, Description: &desc}).Err
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.waitZone(ctx, s, z.ID)
}

func (c *Cloud) zoneByName(ctx context.Context, s *session, name string) (*zones.Zone, error) {
	var all []zones.Zone
	err := c.do(ctx, "Designate", false, func() error {
		page, err := zones.List(s.dns, zones.ListOpts{Name: fqdn(name)}).AllPages(ctx)
		if err != nil {
			return err
		}
		all, err = zones.ExtractZones(page)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Name == fqdn(name) && all[i].Action != "DELETE" {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("%w: Designate holds no zone %s in this project", provider.ErrNotFound, strings.TrimSuffix(fqdn(name), "."))
}

func (c *Cloud) getZone(ctx context.Context, s *session, id string) (*zones.Zone, error) {
	var z *zones.Zone
	err := c.do(ctx, "Designate", false, func() error {
		var err error
		z, err = zones.Get(ctx, s.dns, id).Extract()
		return err
	})
	return z, err
}

func (c *Cloud) waitZone(ctx context.Context, s *session, id string) (*Zone, error) {
	z, err := wait(ctx, c, "zone "+id, c.cfg.Timeouts.DNS,
		func(ctx context.Context) (*zones.Zone, error) { return c.getZone(ctx, s, id) },
		func(z *zones.Zone) string { return z.Status },
		func(z *zones.Zone) (bool, error) {
			if z.Status == "ERROR" {
				return false, fmt.Errorf("zone %s is in ERROR at Designate", z.Name)
			}
			return z.Status == "ACTIVE", nil
		})
	if err != nil {
		return nil, err
	}
	return c.zone(ctx, s, z)
}

// zone reads a zone with its name servers.
func (c *Cloud) zone(ctx context.Context, s *session, z *zones.Zone) (*Zone, error) {
	out := &Zone{ID: z.ID, Name: strings.TrimSuffix(z.Name, "."), Email: z.Email, TTL: z.TTL, Description: z.Description, Status: z.Status}
	sets, err := c.recordSets(ctx, s, z.ID, recordsets.ListOpts{Name: z.Name, Type: "NS"})
	if err != nil {
		return nil, err
	}
	for _, rs := range sets {
		out.NameServers = append(out.NameServers, rs.Records...)
	}
	return out, nil
}

// CreateZone makes a zone that does not exist yet. One of that name
// already in the project is refused, in words that say what to do: it was
// not made by this stack, and a later destroy would delete its records.
func (c *Cloud) CreateZone(ctx context.Context, spec ZoneSpec) (*Zone, error) {
	s, err := c.dnsClient(ctx)
	if err != nil {
		return nil, err
	}
	z, err := c.zoneByName(ctx, s, spec.Name)
	switch {
	case err == nil:
		return nil, fmt.Errorf("openstack: Designate already holds zone %s (id %s) in this project: it was made outside this stack; delete it there first, or leave its records to this stack and the zone to whoever made it", strings.TrimSuffix(z.Name, "."), z.ID)
	case !errors.Is(err, provider.ErrNotFound):
		return nil, err
	}
	// EnsureZone, not a bare create: a create answered with a 5xx that
	// happened all the same is found again rather than refused.
	return c.EnsureZone(ctx, spec)
}

// UpdateZone brings a zone's contact, TTL and description to spec.
func (c *Cloud) UpdateZone(ctx context.Context, id string, spec ZoneSpec) (*Zone, error) {
	z, err := c.Zone(ctx, id)
	if err != nil {
		return nil, err
	}
	if want := strings.TrimSuffix(fqdn(spec.Name), "."); z.Name != want {
		return nil, fmt.Errorf("openstack: zone %s cannot be renamed %s", z.Name, want)
	}
	return c.EnsureZone(ctx, spec)
}

// Zone reads a zone; provider.ErrNotFound once it is gone.
func (c *Cloud) Zone(ctx context.Context, id string) (*Zone, error) {
	s, err := c.dnsClient(ctx)
	if err != nil {
		return nil, err
	}
	z, err := c.getZone(ctx, s, id)
	if err != nil {
		return nil, err
	}
	if z.Action == "DELETE" {
		return nil, fmt.Errorf("%w: zone %s is being deleted", provider.ErrNotFound, z.Name)
	}
	return c.zone(ctx, s, z)
}

// DeleteZone deletes a zone and every record in it, and waits until it is
// gone. A zone already gone is not an error.
func (c *Cloud) DeleteZone(ctx context.Context, id string) error {
	s, err := c.dnsClient(ctx)
	if err != nil {
		return err
	}
	err = c.do(ctx, "Designate", false, func() error { return zones.Delete(ctx, s.dns, id).Err })
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return gone(ctx, c, "zone "+id, func(ctx context.Context) error { _, err := c.getZone(ctx, s, id); return err })
}

func (c *Cloud) recordSets(ctx context.Context, s *session, zoneID string, opts recordsets.ListOpts) ([]recordsets.RecordSet, error) {
	var all []recordsets.RecordSet
	err := c.do(ctx, "Designate", false, func() error {
		page, err := recordsets.ListByZone(s.dns, zoneID, opts).AllPages(ctx)
		if err != nil {
			return err
		}
		all, err = recordsets.ExtractRecordSets(page)
		return err
	})
	return all, err
}

// recordName is a record's full name: "" is the zone's apex.
func recordName(zone, name string) string {
	if name == "" || name == "@" {
		return fqdn(zone)
	}
	return fqdn(name + "." + strings.TrimSuffix(zone, "."))
}

// recordValue is how Designate wants a target: TXT quoted, names with the
// final dot.
func recordValue(typ, target string) string {
	switch typ {
	case "TXT":
		if !strings.HasPrefix(target, `"`) {
			return `"` + strings.ReplaceAll(target, `"`, `\"`) + `"`
		}
	case "CNAME", "MX", "NS":
		return strings.TrimSuffix(target, ".") + "."
	}
	return target
}

// targetOf undoes recordValue.
func targetOf(typ, value string) string {
	switch typ {
	case "TXT":
		if len(value) >= 2 && strings.HasPrefix(value, `"`) && strings.HasSuffix(value, `"`) {
			return strings.ReplaceAll(value[1:len(value)-1], `\"`, `"`)
		}
	case "CNAME", "MX", "NS":
		return strings.TrimSuffix(value, ".")
	}
	return value
}

func (c *Cloud) record(zone string, rs *recordsets.RecordSet) *provider.Record {
	name := strings.TrimSuffix(strings.TrimSuffix(rs.Name, fqdn(zone)), ".")
	target := ""
	if len(rs.Records) > 0 {
		target = targetOf(rs.Type, rs.Records[0])
	}
	return &provider.Record{ID: rs.ID, RecordSpec: provider.RecordSpec{Zone: strings.TrimSuffix(zone, "."), Name: name, Type: rs.Type, Target: target, TTL: rs.TTL}}
}

func (c *Cloud) getRecordSet(ctx context.Context, s *session, zoneID, id string) (*recordsets.RecordSet, error) {
	var rs *recordsets.RecordSet
	err := c.do(ctx, "Designate", false, func() error {
		var err error
		rs, err = recordsets.Get(ctx, s.dns, zoneID, id).Extract()
		return err
	})
	if err == nil && rs.Action == "DELETE" {
		return nil, fmt.Errorf("%w: record %s is being deleted", provider.ErrNotFound, rs.Name)
	}
	return rs, err
}

func (c *Cloud) waitRecord(ctx context.Context, s *session, zone, zoneID, id string) (*provider.Record, error) {
	rs, err := wait(ctx, c, "record "+id, c.cfg.Timeouts.DNS,
		func(ctx context.Context) (*recordsets.RecordSet, error) { return c.getRecordSet(ctx, s, zoneID, id) },
		func(rs *recordsets.RecordSet) string { return rs.Status },
		func(rs *recordsets.RecordSet) (bool, error) {
			if rs.Status == "ERROR" {
				return false, fmt.Errorf("record %s %s is in ERROR at Designate", rs.Type, rs.Name)
			}
			return rs.Status == "ACTIVE", nil
		})
	if err != nil {
		return nil, err
	}
	return c.record(zone, rs), nil
}

// CreateRecord publishes a record (A, AAAA, CNAME or TXT). A record set of
// the same name and type already there is brought to spec instead: Designate
// holds one set per name and type, so creating is an upsert.
func (c *Cloud) CreateRecord(ctx context.Context, spec provider.RecordSpec) (*provider.Record, error) {
	s, err := c.dnsClient(ctx)
	if err != nil {
		return nil, err
	}
	z, err := c.zoneByName(ctx, s, spec.Zone)
	if err != nil {
		return nil, err
	}
	name := recordName(spec.Zone, spec.Name)
	var rs *recordsets.RecordSet
	update := ""
	err = c.ensure(ctx, func() error {
		existing, err := c.recordSets(ctx, s, z.ID, recordsets.ListOpts{Name: name, Type: spec.Type})
		if err != nil {
			return err
		}
		for _, e := range existing {
			if e.Name == name && e.Type == spec.Type && e.Action != "DELETE" {
				update = e.ID
				return nil
			}
		}
		return c.do(ctx, "Designate", true, func() error {
			var err error
			rs, err = recordsets.Create(ctx, s.dns, z.ID, recordsets.CreateOpts{
				Name: name, Type: spec.Type, TTL: spec.TTL, Records: []string{recordValue(spec.Type, spec.Target)}, Description: "cosocial",
			}).Extract()
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	if update != "" {
		return c.UpdateRecord(ctx, update, spec)
	}
	return c.waitRecord(ctx, s, spec.Zone, z.ID, rs.ID)
}

// Record reads a record; provider.ErrNotFound once it is gone.
func (c *Cloud) Record(ctx context.Context, zone, id string) (*provider.Record, error) {
	s, err := c.dnsClient(ctx)
	if err != nil {
		return nil, err
	}
	z, err := c.zoneByName(ctx, s, zone)
	if err != nil {
		return nil, err
	}
	rs, err := c.getRecordSet(ctx, s, z.ID, id)
	if err != nil {
		return nil, err
	}
	return c.record(zone, rs), nil
}

// UpdateRecord changes a record's target or TTL in place. Designate
// cannot rename a record set or change its type: that is a replacement.
func (c *Cloud) UpdateRecord(ctx context.Context, id string, spec provider.RecordSpec) (*provider.Record, error) {
	s, err := c.dnsClient(ctx)
	if err != nil {
		return nil, err
	}
	z, err := c.zoneByName(ctx, s, spec.Zone)
	if err != nil {
		return nil, err
	}
	rs, err := c.getRecordSet(ctx, s, z.ID, id)
	if err != nil {
		return nil, err
	}
	if rs.Name != recordName(spec.Zone, spec.Name) || rs.Type != spec.Type {
		return nil, fmt.Errorf("openstack: record %s %s cannot become %s %s in place: Designate renames nothing; replace it", rs.Type, rs.Name, spec.Type, recordName(spec.Zone, spec.Name))
	}
	ttl := spec.TTL
	opts := recordsets.UpdateOpts{Records: []string{recordValue(spec.Type, spec.Target)}}
	if ttl > 0 {
		opts.TTL = &ttl
	}
	if err := c.do(ctx, "Designate", false, func() error { return recordsets.Update(ctx, s.dns, z.ID, id, opts).Err }); err != nil {
		return nil, err
	}
	return c.waitRecord(ctx, s, spec.Zone, z.ID, id)
}

// DeleteRecord removes a record and waits until Designate answers 404.
func (c *Cloud) DeleteRecord(ctx context.Context, zone, id string) error {
	s, err := c.dnsClient(ctx)
	if err != nil {
		return err
	}
	z, err := c.zoneByName(ctx, s, zone)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	err = c.do(ctx, "Designate", false, func() error { return recordsets.Delete(ctx, s.dns, z.ID, id).ExtractErr() })
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return gone(ctx, c, "record "+id, func(ctx context.Context) error {
		return c.do(ctx, "Designate", false, func() error { return recordsets.Get(ctx, s.dns, z.ID, id).Err })
	})
}
