package ovh

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"

	"github.com/cosocial/cosocial/pkg/provider"
)

type endpoint struct {
	Component string `json:"component"`
	Domain    string `json:"domain"`
	Port      int    `json:"port"`
	SSL       bool   `json:"ssl"`
	SSLMode   string `json:"sslMode"`
}

type service struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Status      string `json:"status"`
	Engine      string `json:"engine"`
	Plan        string `json:"plan"`
	Version     string `json:"version"`
	Flavor      string `json:"flavor"`
	NodeNumber  int    `json:"nodeNumber"`
	Region      string `json:"region"`
	Disk        struct {
		Size int `json:"size"`
	} `json:"disk"`
	Endpoints      []endpoint      `json:"endpoints"`
	IPRestrictions []ipRestriction `json:"ipRestrictions"`
}

type ipRestriction struct {
	IP          string `json:"ip"`
	Description string `json:"description"`
}

func (c *Cloud) dbPath(engine, id string, rest ...string) string {
	p := c.path("/database/%s", url.PathEscape(engine))
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// databaseRegion is the database API's name for the region ("BHS").
func (c *Cloud) databaseRegion(code string) (string, error) {
	r := c.region
	if code != "" {
		if r = c.cfg.Catalog.Operator(OperatorID).Region(code); r == nil {
			return "", fmt.Errorf("OVHcloud has no region %q", code)
		}
	}
	if r.DatabaseRegion == "" {
		return "", fmt.Errorf("OVHcloud offers no managed databases in %s", r.Code)
	}
	return r.DatabaseRegion, nil
}

func restrictions(ips []string) []ipRestriction {
	out := make([]ipRestriction, 0, len(ips))
	for _, ip := range ips {
		out = append(out, ipRestriction{IP: ip, Description: "cosocial"})
	}
	return out
}

// CreateDatabase creates a cluster, waits until it is READY, then creates
// its databases and users and returns their passwords.
func (c *Cloud) CreateDatabase(ctx context.Context, spec provider.DatabaseSpec) (*provider.Database, map[string]string, error) {
	region, err := c.databaseRegion(spec.Region)
	if err != nil {
		return nil, nil, err
	}
	body := map[string]any{
		"description":    spec.Name,
		"plan":           spec.Plan,
		"version":        spec.Version,
		"nodesPattern":   map[string]any{"flavor": spec.Flavor, "number": spec.Nodes, "region": region},
		"ipRestrictions": restrictions(spec.AllowedIPs),
	}
	if spec.DiskGB > 0 {
		body["disk"] = map[string]int{"size": spec.DiskGB}
	}
	id, err := c.createFinding(ctx, c.dbPath(spec.Engine, ""), body, func(ctx context.Context) ([]string, error) { return c.clustersNamed(ctx, spec.Name) })
	if err != nil {
		return nil, nil, err
	}
	// A cluster this call made and could not finish (interrupted, timed
	// out, in ERROR) holds nothing yet: it is deleted rather than left
	// for no state to record.
	db, passwords, err := c.finishDatabase(ctx, spec, id)
	if err != nil {
		return nil, nil, provider.Undo(ctx, err, "database cluster "+id, func(ctx context.Context) error {
			return c.DeleteDatabase(ctx, id)
		})
	}
	return db, passwords, nil
}

// finishDatabase waits for a new cluster to be ready, then makes its
// databases and users.
func (c *Cloud) finishDatabase(ctx context.Context, spec provider.DatabaseSpec, id string) (*provider.Database, map[string]string, error) {
	if _, err := c.waitReady(ctx, spec.Engine, id, spec.Name); err != nil {
		return nil, nil, err
	}
	passwords, err := c.ensureInside(ctx, spec.Engine, id, spec)
	if err != nil {
		return nil, nil, err
	}
	db, err := c.Database(ctx, id)
	return db, passwords, err
}

func (c *Cloud) waitReady(ctx context.Context, engine, id, name string) (*service, error) {
	return wait(ctx, c, "database "+name, c.cfg.Timeouts.Database,
		func(ctx context.Context) (*service, error) { return c.service(ctx, engine, id) },
		func(s *service) string { return s.Status },
		func(st string) (bool, error) {
			switch st {
			case "READY":
				return true, nil
			case "ERROR", "ERROR_INCONSISTENT_SPEC":
				return false, fmt.Errorf("OVHcloud reports database %s as %s", name, st)
			}
			return false, nil
		})
}

func (c *Cloud) service(ctx context.Context, engine, id string) (*service, error) {
	var s service
	path := c.dbPath(engine, id)
	if engine == "" {
		path = c.path("/database/service/%s", url.PathEscape(id))
	}
	if err := c.call(ctx, http.MethodGet, path, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

type named struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// children lists a cluster's users or databases by name.
func (c *Cloud) children(ctx context.Context, engine, id, kind string) (map[string]string, error) {
	var ids []string
	if err := c.call(ctx, http.MethodGet, c.dbPath(engine, id, kind), nil, &ids); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, child := range ids {
		var n named
		if err := c.call(ctx, http.MethodGet, c.dbPath(engine, id, kind, url.PathEscape(child)), nil, &n); err != nil {
			return nil, err
		}
		name := n.Name
		if kind == "user" {
			name = n.Username
		}
		out[name] = n.ID
	}
	return out, nil
}

// ensureInside creates the databases and users of spec that old lacks and
// returns the new users' passwords. Nothing is dropped: a database removed
// from the description keeps its data until someone drops it on purpose.
func (c *Cloud) ensureInside(ctx context.Context, engine, id string, spec provider.DatabaseSpec) (map[string]string, error) {
	dbs, err := c.children(ctx, engine, id, "database")
	if err != nil {
		return nil, err
	}
	for _, name := range spec.Databases {
		if _, ok := dbs[name]; ok {
			continue
		}
		provider.Report(ctx, "database %s: creating database %s", spec.Name, name)
		if err := c.call(ctx, http.MethodPost, c.dbPath(engine, id, "database"), map[string]string{"name": name}, nil); err != nil {
			return nil, err
		}
	}
	users, err := c.children(ctx, engine, id, "user")
	if err != nil {
		return nil, err
	}
	passwords := map[string]string{}
	for _, name := range spec.Users {
		if _, ok := users[name]; ok {
			continue
		}
		provider.Report(ctx, "database %s: creating user %s", spec.Name, name)
		var u named
		if err := c.call(ctx, http.MethodPost, c.dbPath(engine, id, "user"), map[string]string{"name": name}, &u); err != nil {
			return nil, err
		}
		passwords[name] = u.Password
	}
	return passwords, nil
}

// Database reads a cluster with its databases and users.
func (c *Cloud) Database(ctx context.Context, id string) (*provider.Database, error) {
	s, err := c.service(ctx, "", id)
	if err != nil {
		return nil, err
	}
	db := &provider.Database{
		ID: s.ID, Name: s.Description, Region: s.Region, Engine: s.Engine, Version: s.Version, Plan: s.Plan,
		Flavor: s.Flavor, Nodes: s.NodeNumber, DiskGB: s.Disk.Size, Status: s.Status,
	}
	for _, e := range s.Endpoints {
		if e.Component == s.Engine {
			db.Host, db.Port, db.SSLMode = e.Domain, e.Port, e.SSLMode
		}
	}
	for _, r := range s.IPRestrictions {
		db.AllowedIPs = append(db.AllowedIPs, r.IP)
	}
	if s.Status == "READY" || s.Status == "UPDATING" {
		dbs, err := c.children(ctx, s.Engine, id, "database")
		if err != nil {
			return nil, err
		}
		users, err := c.children(ctx, s.Engine, id, "user")
		if err != nil {
			return nil, err
		}
		db.Databases, db.Users = sortedNames(dbs, "defaultdb"), sortedNames(users, "avnadmin")
	}
	return db, nil
}

// sortedNames lists the names the tool made, leaving out the provider's own.
func sortedNames(m map[string]string, builtin string) []string {
	var out []string
	for n := range m {
		if n != builtin {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// UpdateDatabase resizes, upgrades or re-plans a cluster in place, changes
// its allowed addresses, and adds databases and users.
func (c *Cloud) UpdateDatabase(ctx context.Context, id string, old, spec provider.DatabaseSpec) (*provider.Database, map[string]string, error) {
	body := map[string]any{}
	if spec.Plan != old.Plan {
		body["plan"] = spec.Plan
	}
	if spec.Flavor != old.Flavor {
		body["flavor"] = spec.Flavor
	}
	if spec.Version != old.Version {
		body["version"] = spec.Version
	}
	if spec.DiskGB != old.DiskGB {
		body["disk"] = map[string]int{"size": spec.DiskGB}
	}
	if !slices.Equal(spec.AllowedIPs, old.AllowedIPs) {
		body["ipRestrictions"] = restrictions(spec.AllowedIPs)
	}
	if len(body) > 0 {
		provider.Report(ctx, "database %s: updating in place", spec.Name)
		if err := c.call(ctx, http.MethodPut, c.dbPath(spec.Engine, id), body, nil); err != nil {
			return nil, nil, err
		}
		if _, err := c.waitReady(ctx, spec.Engine, id, spec.Name); err != nil {
			return nil, nil, err
		}
	}
	passwords, err := c.ensureInside(ctx, spec.Engine, id, spec)
	if err != nil {
		return nil, nil, err
	}
	db, err := c.Database(ctx, id)
	return db, passwords, err
}

// DeleteDatabase deletes a cluster and waits until it is gone.
func (c *Cloud) DeleteDatabase(ctx context.Context, id string) error {
	s, err := c.service(ctx, "", id)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := c.call(ctx, http.MethodDelete, c.dbPath(s.Engine, id), nil, nil); err != nil && !errors.Is(err, provider.ErrNotFound) {
		return err
	}
	return gone(ctx, c, "database "+s.Description, func(ctx context.Context) error { _, err := c.service(ctx, "", id); return err })
}
