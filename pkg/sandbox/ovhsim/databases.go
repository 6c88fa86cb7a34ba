package ovhsim

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
)

// dbRegion finds the catalog region behind a database API region ("BHS").
func (s *Server) dbRegion(name string) *catalog.Region {
	for _, r := range s.operator().Regions {
		if r.DatabaseRegion != "" && strings.EqualFold(r.DatabaseRegion, name) {
			return r
		}
	}
	return nil
}

func (s *Server) capabilities(w http.ResponseWriter, r *http.Request) {
	engines := map[string]*catalog.DatabaseOffer{}
	plans := map[string]bool{}
	flavors := map[string]catalog.DatabaseFlavor{}
	var regions []string
	for _, reg := range s.operator().Regions {
		if reg.DatabaseRegion == "" {
			continue
		}
		regions = append(regions, reg.DatabaseRegion)
		for i := range reg.Databases {
			offer := &reg.Databases[i]
			engines[offer.Engine] = offer
			for _, p := range offer.Plans {
				plans[p.Name] = true
				for _, f := range p.Flavors {
					flavors[f.Name] = f
				}
			}
		}
	}
	out := map[string]any{"regions": regions, "disks": []string{"high-speed"}, "options": []any{}}
	var es, ps, fs []map[string]any
	for _, name := range sortedKeys(engines) {
		o := engines[name]
		es = append(es, map[string]any{
			"name": name, "description": name, "category": "operational", "storage": "replicated",
			"versions": o.Versions, "defaultVersion": o.Versions[len(o.Versions)-1], "sslModes": []string{"require"},
		})
	}
	for i, name := range []string{"essential", "business", "enterprise"} {
		if plans[name] {
			ps = append(ps, map[string]any{"name": name, "description": name, "order": i, "backupRetention": []string{"P2D", "P14D", "P30D"}[i]})
		}
	}
	for i, name := range sortedKeys(flavors) {
		f := flavors[name]
		fs = append(fs, map[string]any{
			"name": name, "core": f.VCPU, "memory": int(f.RAMGB), "storage": f.DiskMinGB, "order": i,
			"specifications": map[string]any{"core": f.VCPU, "memory": map[string]any{"unit": "GB", "value": int(f.RAMGB)}, "storage": map[string]any{"unit": "GB", "value": f.DiskMinGB}},
		})
	}
	out["engines"], out["plans"], out["flavors"] = es, ps, fs
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) availability(w http.ResponseWriter, r *http.Request) {
	out := []map[string]any{}
	for _, reg := range s.operator().Regions {
		if reg.DatabaseRegion == "" {
			continue
		}
		for _, offer := range reg.Databases {
			for _, v := range offer.Versions {
				for _, p := range offer.Plans {
					for _, f := range p.Flavors {
						gb := func(n int) map[string]any { return map[string]any{"unit": "GB", "value": n} }
						out = append(out, map[string]any{
							"engine": offer.Engine, "version": v, "plan": p.Name, "region": reg.DatabaseRegion, "flavor": f.Name,
							"category": "operational", "default": false, "network": "public",
							"minDiskSize": f.DiskMinGB, "maxDiskSize": f.DiskMaxGB, "stepDiskSize": f.DiskStepGB,
							"minNodeNumber": p.Nodes, "maxNodeNumber": p.Nodes, "status": "STABLE",
							"specifications": map[string]any{
								"flavor": f.Name, "network": "public",
								"nodes":   map[string]any{"minimum": p.Nodes, "maximum": p.Nodes},
								"storage": map[string]any{"minimum": gb(f.DiskMinGB), "maximum": gb(f.DiskMaxGB), "step": gb(f.DiskStepGB)},
							},
						})
					}
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// status is what the API shows: the timer's status, held back while the
// real server behind the cluster is still being made.
func (c *cluster) status() string {
	if c.BackendError != "" {
		return "ERROR"
	}
	if c.Life.Status == "READY" && !c.BackendReady {
		return "CREATING"
	}
	return c.Life.Status
}

func (s *Server) liveCluster(engine, id string) *cluster {
	c := s.st.Clusters[id]
	if c == nil || c.Engine != engine {
		return nil
	}
	if !c.Life.advance(s.now()) {
		delete(s.st.Clusters, id)
		s.saveLocked()
		return nil
	}
	return c
}

// clusterOr404 finds the cluster a request names, answering 404 when
// there is none.
func (s *Server) clusterOr404(w http.ResponseWriter, r *http.Request) *cluster {
	c := s.liveCluster(r.PathValue("engine"), r.PathValue("id"))
	if c == nil {
		s.notFound(w, "clusterId = "+r.PathValue("id"))
	}
	return c
}

func (s *Server) clusterJSON(c *cluster) map[string]any {
	restrictions := []map[string]any{}
	for _, ip := range c.IPRestrictions {
		restrictions = append(restrictions, map[string]any{"ip": ip.IP, "description": ip.Description, "status": "READY"})
	}
	endpoints := []map[string]any{}
	if c.Host != "" {
		scheme := map[string]string{"postgresql": "postgresql", "mysql": "mysql"}[c.Engine]
		// The sandbox's servers speak without TLS on loopback; the real
		// service requires it.
		endpoints = append(endpoints, map[string]any{
			"component": c.Engine, "domain": c.Host, "port": c.Port, "scheme": scheme, "ssl": false, "sslMode": "disable",
			"path": "/defaultdb", "uri": fmt.Sprintf("%s://<username>:<password>@%s:%d/defaultdb?sslmode=disable", scheme, c.Host, c.Port),
		})
	}
	nodes := []map[string]any{}
	for i, id := range c.Nodes {
		nodes = append(nodes, map[string]any{"id": id, "name": fmt.Sprintf("%s-%s-%d.database.sandbox", c.Engine, c.ID[:8], i+1), "flavor": c.Flavor, "port": c.Port, "region": c.Region, "status": c.status(), "createdAt": c.CreatedAt.Format(time.RFC3339)})
	}
	return map[string]any{
		"id": c.ID, "createdAt": c.CreatedAt.Format(time.RFC3339), "description": c.Description, "status": c.status(),
		"engine": c.Engine, "category": "operational", "plan": c.Plan, "version": c.Version, "flavor": c.Flavor,
		"nodeNumber": c.NodeNumber, "nodes": nodes, "region": c.Region,
		"disk":      map[string]any{"size": c.DiskSize, "type": "high-speed"},
		"storage":   map[string]any{"size": map[string]any{"unit": "GB", "value": c.DiskSize}, "type": "high-speed"},
		"endpoints": endpoints, "ipRestrictions": restrictions, "networkType": "public",
		"maintenanceTime": "03:00:00", "backupTime": "01:00:00", "deletionProtection": false,
		"backups": map[string]any{"regions": []string{c.Region}, "time": "01:00:00", "retentionDays": 2},
	}
}

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request) {
	engine := r.PathValue("engine")
	ids := []string{}
	for _, id := range sortedKeys(s.st.Clusters) {
		if c := s.liveCluster(engine, id); c != nil {
			ids = append(ids, id)
		}
	}
	writeJSON(w, http.StatusOK, ids)
}

type clusterBody struct {
	Description  string `json:"description"`
	Plan         string `json:"plan"`
	Version      string `json:"version"`
	Flavor       string `json:"flavor"`
	NodeNumber   int    `json:"nodeNumber"`
	NodesPattern *struct {
		Flavor string `json:"flavor"`
		Number int    `json:"number"`
		Region string `json:"region"`
	} `json:"nodesPattern"`
	Disk *struct {
		Size int `json:"size"`
	} `json:"disk"`
	IPRestrictions *[]ipRestriction `json:"ipRestrictions"`
}

// offer checks engine, region, version, plan and flavor against what the
// catalog says OVHcloud offers, as the real API does.
func (s *Server) offer(w http.ResponseWriter, engine, region, version, plan, flavor string) (*catalog.DatabasePlan, *catalog.DatabaseFlavor, bool) {
	reg := s.dbRegion(region)
	if reg == nil {
		s.badRequest(w, "Region %s not found or not available for databases", region)
		return nil, nil, false
	}
	o := reg.Database(engine)
	if o == nil {
		s.badRequest(w, "Engine %s is not available in region %s", engine, region)
		return nil, nil, false
	}
	if !o.HasVersion(version) {
		s.badRequest(w, "Version %s of %s is not available (available: %s)", version, engine, strings.Join(o.Versions, ", "))
		return nil, nil, false
	}
	p := o.Plan(plan)
	if p == nil {
		s.badRequest(w, "Plan %s is not available for %s", plan, engine)
		return nil, nil, false
	}
	f := p.Flavor(flavor)
	if f == nil {
		s.badRequest(w, "Flavor %s is not available for plan %s", flavor, plan)
		return nil, nil, false
	}
	return p, f, true
}

func (s *Server) createCluster(w http.ResponseWriter, r *http.Request) {
	engine := r.PathValue("engine")
	var body clusterBody
	if !decode(w, r, s, &body) {
		return
	}
	if body.NodesPattern == nil {
		s.badRequest(w, "Missing parameter: nodesPattern")
		return
	}
	np := body.NodesPattern
	plan, flavor, ok := s.offer(w, engine, np.Region, body.Version, body.Plan, np.Flavor)
	if !ok {
		return
	}
	if np.Number != plan.Nodes {
		s.badRequest(w, "Plan %s runs %d node(s), not %d", plan.Name, plan.Nodes, np.Number)
		return
	}
	disk := flavor.DiskMinGB
	if body.Disk != nil && body.Disk.Size != 0 {
		disk = body.Disk.Size
		if !flavor.DiskAllowed(disk) {
			s.badRequest(w, "Disk size %d GB is not available for flavor %s: %s", disk, flavor.Name, flavor.DiskSizes())
			return
		}
	}
	if !simcore.Runs(s.opts.Backends.Databases, engine) {
		runs := "none"
		if s.opts.Backends.Databases != nil {
			runs = strings.Join(s.opts.Backends.Databases.Engines(), ", ")
		}
		s.badRequest(w, "%s databases are not available in the sandbox: it runs real database servers of %s only", engine, runs)
		return
	}
	c := &cluster{
		ID: newID(), Engine: engine, Description: body.Description, Plan: plan.Name, Version: body.Version,
		Flavor: flavor.Name, NodeNumber: np.Number, Region: strings.ToUpper(np.Region), DiskSize: disk,
		CreatedAt: s.now(), Users: map[string]*dbUser{}, Databases: map[string]*dbName{},
	}
	for i := 0; i < np.Number; i++ {
		c.Nodes = append(c.Nodes, newID())
	}
	if body.IPRestrictions != nil {
		c.IPRestrictions = *body.IPRestrictions
	}
	c.Databases[stableID("db", c.ID, "defaultdb")] = &dbName{ID: stableID("db", c.ID, "defaultdb"), Name: "defaultdb", Default: true}
	c.Life.set("CREATING", "READY", s.opts.Timing.DatabaseCreate, s.now())
	s.st.Clusters[c.ID] = c
	s.saveLocked()
	go s.startBackend(c.ID, engine, body.Version)
	writeJSON(w, http.StatusOK, s.clusterJSON(c))
}

// startBackend makes the real server behind a cluster, outside the lock:
// initdb takes a second or two.
func (s *Server) startBackend(id, engine, version string) {
	host, port, err := s.opts.Backends.Databases.CreateCluster(context.Background(), id, engine, version)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.Clusters[id]
	if c == nil {
		return
	}
	if err != nil {
		c.BackendError = err.Error()
		s.logf("database cluster %s: the real server behind it failed: %v", id, err)
	} else {
		c.Host, c.Port, c.BackendReady = host, port, true
	}
	s.saveLocked()
}

// ResumeBackends starts again the real servers of clusters recorded in a
// saved state; the sandbox calls it after New.
func (s *Server) ResumeBackends(ctx context.Context) error {
	s.mu.Lock()
	var ids []string
	for id, c := range s.st.Clusters {
		if c.BackendReady {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	return simcore.StartClusters(ctx, s.opts.Backends.Databases, ids, func(id, host string, port int) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c := s.st.Clusters[id]; c != nil {
			c.Host, c.Port = host, port
		}
	})
}

// listServices and getService are the engine-agnostic views of clusters.
func (s *Server) listServices(w http.ResponseWriter, r *http.Request) {
	ids := []string{}
	for _, id := range sortedKeys(s.st.Clusters) {
		if c := s.st.Clusters[id]; c != nil && s.liveCluster(c.Engine, id) != nil {
			ids = append(ids, id)
		}
	}
	writeJSON(w, http.StatusOK, ids)
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c := s.st.Clusters[id]
	if c == nil || s.liveCluster(c.Engine, id) == nil {
		s.notFound(w, "serviceId = "+id)
		return
	}
	writeJSON(w, http.StatusOK, s.clusterJSON(c))
}

func (s *Server) getCluster(w http.ResponseWriter, r *http.Request) {
	c := s.clusterOr404(w, r)
	if c == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.clusterJSON(c))
}

func (s *Server) updateCluster(w http.ResponseWriter, r *http.Request) {
	var body clusterBody
	if !decode(w, r, s, &body) {
		return
	}
	c := s.clusterOr404(w, r)
	if c == nil {
		return
	}
	if st := c.status(); st != "READY" {
		s.fail(w, http.StatusConflict, "Client::Conflict", fmt.Sprintf("Cluster %s is %s: wait until it is READY", c.ID, st))
		return
	}
	plan, flavor, version := c.Plan, c.Flavor, c.Version
	if body.Plan != "" {
		plan = body.Plan
	}
	if body.Flavor != "" {
		flavor = body.Flavor
	}
	if body.Version != "" {
		version = body.Version
	}
	if version != c.Version {
		from, _ := strconv.Atoi(strings.Split(c.Version, ".")[0])
		to, _ := strconv.Atoi(strings.Split(version, ".")[0])
		if to < from {
			s.badRequest(w, "Version %s is older than %s: only upgrades are possible", version, c.Version)
			return
		}
		s.badRequest(w, "Major version upgrades are not available in the sandbox")
		return
	}
	p, f, ok := s.offer(w, c.Engine, c.Region, version, plan, flavor)
	if !ok {
		return
	}
	disk := c.DiskSize
	if body.Disk != nil && body.Disk.Size != 0 {
		disk = body.Disk.Size
	}
	if !f.DiskAllowed(disk) {
		s.badRequest(w, "Disk size %d GB is not available for flavor %s: %s", disk, f.Name, f.DiskSizes())
		return
	}
	changed := p.Name != c.Plan || f.Name != c.Flavor || disk != c.DiskSize
	c.Plan, c.Flavor, c.DiskSize, c.NodeNumber = p.Name, f.Name, disk, p.Nodes
	for len(c.Nodes) < p.Nodes {
		c.Nodes = append(c.Nodes, newID())
	}
	c.Nodes = c.Nodes[:p.Nodes]
	if body.Description != "" {
		c.Description = body.Description
	}
	if body.IPRestrictions != nil {
		c.IPRestrictions = *body.IPRestrictions
		changed = true
	}
	if changed {
		c.Life.set("UPDATING", "READY", s.opts.Timing.DatabaseUpdate, s.now())
	}
	s.saveLocked()
	writeJSON(w, http.StatusOK, s.clusterJSON(c))
}

func (s *Server) deleteCluster(w http.ResponseWriter, r *http.Request) {
	c := s.clusterOr404(w, r)
	if c == nil {
		return
	}
	if !c.Life.Gone {
		c.Life.deleting("DELETING", s.opts.Timing.DatabaseDelete, s.now())
		if c.BackendReady {
			go s.opts.Backends.Databases.DeleteCluster(context.Background(), c.ID)
		}
	}
	s.saveLocked()
	ok(w)
}

// readyCluster finds a cluster that can take users and databases.
func (s *Server) readyCluster(w http.ResponseWriter, r *http.Request) *cluster {
	c := s.clusterOr404(w, r)
	if c == nil {
		return nil
	}
	if st := c.status(); st != "READY" && st != "UPDATING" {
		s.fail(w, http.StatusConflict, "Client::Conflict", fmt.Sprintf("Cluster %s is %s: wait until it is READY", c.ID, st))
		return nil
	}
	return c
}

func userJSON(c *cluster, u *dbUser, password string) map[string]any {
	out := map[string]any{"id": u.ID, "username": u.Username, "status": u.Life.Status, "createdAt": u.CreatedAt.Format(time.RFC3339)}
	if c.Engine == "postgresql" {
		out["roles"] = []string{}
	}
	if password != "" {
		out["password"] = password
	}
	return out
}

func (s *Server) listDBUsers(w http.ResponseWriter, r *http.Request) {
	c := s.clusterOr404(w, r)
	if c == nil {
		return
	}
	writeJSON(w, http.StatusOK, sortedKeys(c.Users))
}

func (s *Server) createDBUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
	}
	if !decode(w, r, s, &body) {
		return
	}
	c := s.readyCluster(w, r)
	if c == nil {
		return
	}
	if body.Name == "" || body.Name == "avnadmin" || strings.ContainsAny(body.Name, " '\"\\;") {
		s.badRequest(w, "Invalid user name %q", body.Name)
		return
	}
	for _, u := range c.Users {
		if u.Username == body.Name {
			s.fail(w, http.StatusConflict, "Client::Conflict", fmt.Sprintf("User %s already exists", body.Name))
			return
		}
	}
	pw := password()
	if err := s.opts.Backends.Databases.CreateUser(r.Context(), c.ID, body.Name, pw); err != nil {
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	u := &dbUser{ID: newID(), Username: body.Name, CreatedAt: s.now()}
	u.Life.set("CREATING", "READY", s.opts.Timing.UserCreate, s.now())
	c.Users[u.ID] = u
	s.saveLocked()
	writeJSON(w, http.StatusOK, userJSON(c, u, pw))
}

func (s *Server) dbUser(w http.ResponseWriter, r *http.Request) (*cluster, *dbUser) {
	c := s.clusterOr404(w, r)
	if c == nil {
		return nil, nil
	}
	u := c.Users[r.PathValue("uid")]
	if u == nil {
		s.notFound(w, "userId = "+r.PathValue("uid"))
		return nil, nil
	}
	u.Life.advance(s.now())
	return c, u
}

func (s *Server) getDBUser(w http.ResponseWriter, r *http.Request) {
	if c, u := s.dbUser(w, r); u != nil {
		writeJSON(w, http.StatusOK, userJSON(c, u, ""))
	}
}

func (s *Server) resetDBUser(w http.ResponseWriter, r *http.Request) {
	c, u := s.dbUser(w, r)
	if u == nil {
		return
	}
	pw := password()
	if err := s.opts.Backends.Databases.SetPassword(r.Context(), c.ID, u.Username, pw); err != nil {
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, userJSON(c, u, pw))
}

func (s *Server) deleteDBUser(w http.ResponseWriter, r *http.Request) {
	c, u := s.dbUser(w, r)
	if u == nil {
		return
	}
	if err := s.opts.Backends.Databases.DropUser(r.Context(), c.ID, u.Username); err != nil {
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	delete(c.Users, u.ID)
	s.saveLocked()
	ok(w)
}

func (s *Server) listDBNames(w http.ResponseWriter, r *http.Request) {
	c := s.clusterOr404(w, r)
	if c == nil {
		return
	}
	writeJSON(w, http.StatusOK, sortedKeys(c.Databases))
}

func (s *Server) createDBName(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
	}
	if !decode(w, r, s, &body) {
		return
	}
	c := s.readyCluster(w, r)
	if c == nil {
		return
	}
	if body.Name == "" || strings.ContainsAny(body.Name, " '\"\\;") {
		s.badRequest(w, "Invalid database name %q", body.Name)
		return
	}
	for _, d := range c.Databases {
		if d.Name == body.Name {
			s.fail(w, http.StatusConflict, "Client::Conflict", fmt.Sprintf("Database %s already exists", body.Name))
			return
		}
	}
	if err := s.opts.Backends.Databases.CreateDatabase(r.Context(), c.ID, body.Name); err != nil {
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	d := &dbName{ID: newID(), Name: body.Name}
	c.Databases[d.ID] = d
	s.saveLocked()
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) dbName(w http.ResponseWriter, r *http.Request) (*cluster, *dbName) {
	c := s.clusterOr404(w, r)
	if c == nil {
		return nil, nil
	}
	d := c.Databases[r.PathValue("did")]
	if d == nil {
		s.notFound(w, "databaseId = "+r.PathValue("did"))
		return nil, nil
	}
	return c, d
}

func (s *Server) getDBName(w http.ResponseWriter, r *http.Request) {
	if _, d := s.dbName(w, r); d != nil {
		writeJSON(w, http.StatusOK, d)
	}
}

func (s *Server) deleteDBName(w http.ResponseWriter, r *http.Request) {
	c, d := s.dbName(w, r)
	if d == nil {
		return
	}
	if d.Default {
		s.badRequest(w, "The default database cannot be deleted")
		return
	}
	if err := s.opts.Backends.Databases.DropDatabase(r.Context(), c.ID, d.Name); err != nil {
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	delete(c.Databases, d.ID)
	s.saveLocked()
	ok(w)
}
