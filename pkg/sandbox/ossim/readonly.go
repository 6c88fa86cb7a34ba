package ossim

import (
	"net/http"
	"strings"
)

// The read-only routes a volunteer's first openstack commands ask
// (quota show, availability zone list, volume type list, volume snapshot
// list, server group list, floating ip list, router list, project list):
// answered with the shapes Nova, Cinder, Neutron and Keystone give a
// project member who has none of these things, the quotas being the ones
// the simulator enforces. The availability zone is "nova", every
// service's default name for its one zone.
func (s *Server) readOnlyRoutes(mux *http.ServeMux) {
	const zone = "nova"
	zones := func(c *call) {
		c.json(http.StatusOK, map[string]any{"availabilityZoneInfo": []any{map[string]any{"zoneName": zone, "zoneState": map[string]any{"available": true}, "hosts": nil}}})
	}
	nova := routeSet{mux, s, compute}
	nova.api("GET /compute/v2.1/os-quota-sets/{project}", s.computeQuotas)
	nova.api("GET /compute/v2.1/os-quota-sets/{project}/detail", s.computeQuotas)
	nova.api("GET /compute/v2.1/os-availability-zone", zones)
	// The hosts of each zone are the admin's (Nova's default policy);
	// the CLI then lists the zones without them.
	nova.api("GET /compute/v2.1/os-availability-zone/detail", func(c *call) {
		c.fail(http.StatusForbidden, `Policy doesn't allow os_compute_api:os-availability-zone:detail to be performed.`)
	})
	nova.api("GET /compute/v2.1/os-server-groups", func(c *call) { c.json(http.StatusOK, map[string]any{"server_groups": []any{}}) })

	const v = "/volume/v3/{project}"
	cinder := routeSet{mux, s, volume}
	cinder.api("GET "+v+"/os-quota-sets/{id}", s.volumeQuotas)
	cinder.api("GET "+v+"/os-availability-zone", func(c *call) {
		if s.project(c) {
			zones(c)
		}
	})
	cinder.api("GET "+v+"/types", func(c *call) {
		if s.project(c) {
			c.json(http.StatusOK, map[string]any{"volume_types": []any{map[string]any{
				"id": stableID("volume-type", defaultVolumeType), "name": defaultVolumeType, "description": "Default Volume Type",
				"is_public": true, "extra_specs": map[string]any{}, "qos_specs_id": nil,
			}}})
		}
	})
	for _, path := range []string{v + "/snapshots", v + "/snapshots/detail"} {
		cinder.api("GET "+path, func(c *call) {
			if s.project(c) {
				c.json(http.StatusOK, map[string]any{"snapshots": []any{}})
			}
		})
	}

	const n = "/network/v2.0"
	neutron := routeSet{mux, s, network}
	neutron.api("GET "+n+"/floatingips", func(c *call) { c.json(http.StatusOK, map[string]any{"floatingips": []any{}}) })
	neutron.api("GET "+n+"/routers", func(c *call) { c.json(http.StatusOK, map[string]any{"routers": []any{}}) })
	neutron.api("GET "+n+"/availability_zones", func(c *call) {
		c.json(http.StatusOK, map[string]any{"availability_zones": []any{
			map[string]any{"name": zone, "resource": "network", "state": "available"},
			map[string]any{"name": zone, "resource": "router", "state": "available"},
		}})
	})
	// The extensions the simulator's Neutron answers for, as Neutron
	// names them: clients look features up here before asking.
	extensions := []map[string]any{}
	for _, e := range [][2]string{{"availability_zone", "Availability Zone"}, {"external-net", "Neutron external network"},
		{"quotas", "Quota management support"}, {"router", "Neutron L3 Router"}, {"security-group", "security-group"},
		{"standard-attr-description", "standard-attr-description"}} {
		extensions = append(extensions, map[string]any{"alias": e[0], "name": e[1], "description": e[1], "updated": "2016-01-01T10:00:00-00:00", "links": []any{}})
	}
	neutron.api("GET "+n+"/extensions", func(c *call) { c.json(http.StatusOK, map[string]any{"extensions": extensions}) })
	neutron.api("GET "+n+"/extensions/{alias}", func(c *call) {
		for _, e := range extensions {
			if e["alias"] == c.r.PathValue("alias") {
				c.json(http.StatusOK, map[string]any{"extension": e})
				return
			}
		}
		c.neutron(http.StatusNotFound, "ExtensionNotFound", "Extension with alias "+c.r.PathValue("alias")+" does not exist")
	})
	neutron.api("GET "+n+"/quotas/{project}", s.networkQuotas)
	neutron.api("GET "+n+"/quotas/{project}/details.json", s.networkQuotas)

	// Listing every project is the cloud admin's; a member is told so, as
	// Keystone's policy does, and may list their own (the CLI then asks).
	keystone := routeSet{mux, s, identity}
	keystone.api("GET /identity/v3/projects", func(c *call) {
		c.fail(http.StatusForbidden, "You are not authorized to perform the requested action: identity:list_projects.")
	})
	keystone.api("GET /identity/v3/users/{uid}/projects", func(c *call) {
		if s.self(c, "list_user_projects") {
			s.authProjects(c)
		}
	})
}

// withUsage gives each limit Nova's and Cinder's detail shape when the
// request asks for the usage.
func withUsage(detail bool, limits, used map[string]int) map[string]any {
	out := map[string]any{}
	for k, limit := range limits {
		if detail {
			out[k] = map[string]any{"limit": limit, "in_use": used[k], "reserved": 0}
		} else {
			out[k] = limit
		}
	}
	return out
}

func (s *Server) computeQuotas(c *call) {
	q := s.quotas()
	instances, cores, ram := s.usage()
	detail := strings.HasSuffix(c.r.URL.Path, "/detail")
	set := withUsage(detail,
		map[string]int{"instances": q.Instances, "cores": q.Cores, "ram": q.RAMMB, "key_pairs": q.Keypairs, "metadata_items": 128,
			"server_groups": 10, "server_group_members": 10},
		map[string]int{"instances": instances, "cores": cores, "ram": ram, "key_pairs": len(s.st.Keypairs)})
	set["id"] = c.r.PathValue("project")
	c.json(http.StatusOK, map[string]any{"quota_set": set})
}

func (s *Server) volumeQuotas(c *call) {
	if !s.project(c) {
		return
	}
	q := s.quotas()
	count, gb := s.volumeUsage()
	usage := strings.EqualFold(c.r.URL.Query().Get("usage"), "true")
	set := withUsage(usage,
		map[string]int{"volumes": q.Volumes, "gigabytes": q.Gigabytes, "snapshots": 10, "backups": 10, "backup_gigabytes": 1000,
			"per_volume_gigabytes": -1, "groups": 10, "volumes_" + defaultVolumeType: -1, "gigabytes_" + defaultVolumeType: -1, "snapshots_" + defaultVolumeType: -1},
		map[string]int{"volumes": count, "gigabytes": gb})
	set["id"] = c.r.PathValue("id")
	c.json(http.StatusOK, map[string]any{"quota_set": set})
}

func (s *Server) networkQuotas(c *call) {
	limits := map[string]int{"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50,
		"security_group": 10, "security_group_rule": 100, "rbac_policy": 10, "subnetpool": -1}
	if strings.HasSuffix(c.r.URL.Path, "/details.json") {
		out := map[string]any{}
		for k, l := range limits {
			out[k] = map[string]any{"limit": l, "used": 0, "reserved": 0}
		}
		out["security_group"] = map[string]any{"limit": 10, "used": len(s.st.Groups), "reserved": 0}
		c.json(http.StatusOK, map[string]any{"quota": out})
		return
	}
	out := map[string]any{}
	for k, l := range limits {
		out[k] = l
	}
	c.json(http.StatusOK, map[string]any{"quota": out})
}
