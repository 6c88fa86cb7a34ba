package openstack_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/openstack"
	"github.com/cosocial/cosocial/pkg/provider/providertest"
	"github.com/cosocial/cosocial/pkg/sandbox/ossim"
)

func TestDNSContract(t *testing.T) {
	_, cloud := start(t, ossim.Options{}, nil)
	if _, err := cloud.EnsureZone(bg, openstack.ZoneSpec{Name: "example.ca", Email: "techops@example.ca"}); err != nil {
		t.Fatal(err)
	}
	providertest.DNS(t, cloud, "example.ca")
}

// TestZonesAndRecords: a zone made twice is one zone, brought to its spec;
// each record type round-trips in the description's form; creating a
// record that exists updates it; a deleted zone is gone.
func TestZonesAndRecords(t *testing.T) {
	_, cloud := start(t, ossim.Options{}, nil)
	z, err := cloud.EnsureZone(bg, openstack.ZoneSpec{Name: "cosocial.ca.", Email: "techops@cosocial.ca", TTL: 600})
	if err != nil {
		t.Fatal(err)
	}
	if z.Name != "cosocial.ca" || z.Status != "ACTIVE" || z.TTL != 600 || !slices.Equal(z.NameServers, []string{"ns1.sandbox.invalid.", "ns2.sandbox.invalid."}) {
		t.Errorf("zone = %+v", z)
	}
	again, err := cloud.EnsureZone(bg, openstack.ZoneSpec{Name: "cosocial.ca", Email: "board@cosocial.ca", TTL: 300, Description: "members' instance"})
	if err != nil || again.ID != z.ID || again.Email != "board@cosocial.ca" || again.TTL != 300 || again.Description != "members' instance" {
		t.Fatalf("zone again: %+v %v", again, err)
	}

	for _, spec := range []provider.RecordSpec{
		{Zone: "cosocial.ca", Name: "", Type: "A", Target: "203.0.113.10", TTL: 300},
		{Zone: "cosocial.ca", Name: "social", Type: "AAAA", Target: "2001:db8:ca:1::10", TTL: 300},
		{Zone: "cosocial.ca", Name: "files", Type: "CNAME", Target: "media.cosocial.ca", TTL: 3600},
		{Zone: "cosocial.ca", Name: "_atproto", Type: "TXT", Target: `did=plc:abc "quoted" words`, TTL: 60},
	} {
		rec, err := cloud.CreateRecord(bg, spec)
		if err != nil {
			t.Fatalf("%s %q: %v", spec.Type, spec.Name, err)
		}
		got, err := cloud.Record(bg, "cosocial.ca", rec.ID)
		if err != nil || got.RecordSpec != spec {
			t.Errorf("%s %q read back as %+v, %v", spec.Type, spec.Name, got, err)
		}
	}
	first, err := cloud.CreateRecord(bg, provider.RecordSpec{Zone: "cosocial.ca", Name: "www", Type: "A", Target: "203.0.113.20", TTL: 300})
	if err != nil {
		t.Fatal(err)
	}
	second, err := cloud.CreateRecord(bg, provider.RecordSpec{Zone: "cosocial.ca", Name: "www", Type: "A", Target: "203.0.113.21", TTL: 300})
	if err != nil || second.ID != first.ID || second.Target != "203.0.113.21" {
		t.Errorf("a second create of www: %+v %v (first %s)", second, err, first.ID)
	}
	if _, err := cloud.UpdateRecord(bg, first.ID, provider.RecordSpec{Zone: "cosocial.ca", Name: "web", Type: "A", Target: "203.0.113.21"}); err == nil {
		t.Error("a record was renamed in place")
	}
	if _, err := cloud.CreateRecord(bg, provider.RecordSpec{Zone: "example.org", Name: "x", Type: "A", Target: "203.0.113.1"}); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("a record in a zone the project lacks: %v", err)
	}

	if err := cloud.DeleteZone(bg, z.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.Zone(bg, z.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("zone after delete: %v", err)
	}
	if err := cloud.DeleteZone(bg, z.ID); err != nil {
		t.Errorf("deleting a zone already gone: %v", err)
	}
}

// TestCreateZoneRefusesOneMadeElsewhere: the stack's create never adopts a
// zone that was there before (a later destroy would delete its records),
// an update changes contact and TTL in place, and a zone is not renamed.
func TestCreateZoneRefusesOneMadeElsewhere(t *testing.T) {
	_, cloud := start(t, ossim.Options{}, nil)
	if _, err := cloud.EnsureZone(bg, openstack.ZoneSpec{Name: "example.ca", Email: "someone@example.ca"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.CreateZone(bg, openstack.ZoneSpec{Name: "example.ca.", Email: "hostmaster@example.ca"}); err == nil || !strings.Contains(err.Error(), "already holds zone example.ca") {
		t.Fatalf("creating a zone made elsewhere: %v", err)
	}
	z, err := cloud.CreateZone(bg, openstack.ZoneSpec{Name: "cosocial.ca", Email: "hostmaster@cosocial.ca", TTL: 3600})
	if err != nil || z.Status != "ACTIVE" || len(z.NameServers) == 0 {
		t.Fatalf("create: %+v %v", z, err)
	}
	up, err := cloud.UpdateZone(bg, z.ID, openstack.ZoneSpec{Name: "cosocial.ca", Email: "techops@cosocial.ca", TTL: 300})
	if err != nil || up.ID != z.ID || up.TTL != 300 || up.Email != "techops@cosocial.ca" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := cloud.UpdateZone(bg, z.ID, openstack.ZoneSpec{Name: "cosocial.org", Email: "techops@cosocial.ca"}); err == nil {
		t.Error("a zone was renamed")
	}
}
