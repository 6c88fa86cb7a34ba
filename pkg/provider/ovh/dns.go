package ovh

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cosocial/cosocial/pkg/provider"
)

type zoneRecord struct {
	ID        int64  `json:"id"`
	Zone      string `json:"zone"`
	FieldType string `json:"fieldType"`
	SubDomain string `json:"subDomain"`
	Target    string `json:"target"`
	TTL       int    `json:"ttl"`
}

func (r *zoneRecord) record() *provider.Record {
	return &provider.Record{ID: strconv.FormatInt(r.ID, 10), RecordSpec: provider.RecordSpec{Zone: r.Zone, Name: r.SubDomain, Type: r.FieldType, Target: r.Target, TTL: r.TTL}}
}

func zonePath(zone string, rest string) string {
	return "/domain/zone/" + url.PathEscape(zone) + rest
}

// refresh publishes a zone: OVHcloud's name servers answer with changes
// only after it.
func (c *Cloud) refresh(ctx context.Context, zone string) error {
	return c.call(ctx, http.MethodPost, zonePath(zone, "/refresh"), nil, nil)
}

// CreateRecord adds a record and publishes the zone.
func (c *Cloud) CreateRecord(ctx context.Context, spec provider.RecordSpec) (*provider.Record, error) {
	var rec zoneRecord
	body := map[string]any{"fieldType": spec.Type, "subDomain": spec.Name, "target": spec.Target, "ttl": spec.TTL}
	if err := c.call(ctx, http.MethodPost, zonePath(spec.Zone, "/record"), body, &rec); err != nil {
		return nil, err
	}
	if err := c.refresh(ctx, spec.Zone); err != nil {
		return nil, err
	}
	return rec.record(), nil
}

// Record reads a record.
func (c *Cloud) Record(ctx context.Context, zone, id string) (*provider.Record, error) {
	var rec zoneRecord
	if err := c.call(ctx, http.MethodGet, zonePath(zone, "/record/"+url.PathEscape(id)), nil, &rec); err != nil {
		return nil, err
	}
	return rec.record(), nil
}

// UpdateRecord changes a record's name, target or TTL (its type cannot
// change) and publishes the zone.
func (c *Cloud) UpdateRecord(ctx context.Context, id string, spec provider.RecordSpec) (*provider.Record, error) {
	body := map[string]any{"subDomain": spec.Name, "target": spec.Target, "ttl": spec.TTL}
	if err := c.call(ctx, http.MethodPut, zonePath(spec.Zone, "/record/"+url.PathEscape(id)), body, nil); err != nil {
		return nil, err
	}
	if err := c.refresh(ctx, spec.Zone); err != nil {
		return nil, err
	}
	return c.Record(ctx, spec.Zone, id)
}

// DeleteRecord removes a record and publishes the zone.
func (c *Cloud) DeleteRecord(ctx context.Context, zone, id string) error {
	err := c.call(ctx, http.MethodDelete, zonePath(zone, "/record/"+url.PathEscape(id)), nil, nil)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.refresh(ctx, zone)
}
