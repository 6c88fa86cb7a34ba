package dosim

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
)

// engines maps DigitalOcean's engine slugs to the catalog's names.
var engines = map[string]string{"pg": "postgresql", "mysql": "mysql"}

// Managed databases' fixed names, as on DigitalOcean.
const (
	AdminUser       = "doadmin"
	DefaultDatabase = "defaultdb"
)

// status is what the API shows: the timer's status, held back while the
// real server behind the cluster is still being built.
func (db *database) status(now time.Time) string {
	if db.BackendError != "" {
		return "error"
	}
	if !db.Until.IsZero() && !now.Before(db.Until) {
		db.Status, db.Next, db.Until = db.Next, "", time.Time{}
	}
	if db.Status == "online" && !db.BackendReady {
		return "creating"
	}
	return db.Status
}

func (s *Server) databaseJSON(db *database) map[string]any {
	conn := map[string]any{"protocol": "postgresql", "database": DefaultDatabase, "user": AdminUser, "password": db.Password, "ssl": true}
	private := map[string]any{}
	if db.Host != "" {
		// DigitalOcean's clusters take TLS only, and say sslmode=require;
		// the sandbox's servers speak TLS with a certificate of their own,
		// on loopback, one address for both networks (DigitalOcean gives
		// the private network its own host name).
		u := url.URL{
			Scheme: "postgresql", User: url.UserPassword(AdminUser, db.Password),
			Host: fmt.Sprintf("%s:%d", db.Host, db.Port), Path: "/" + DefaultDatabase, RawQuery: "sslmode=require",
		}
		conn["uri"], conn["host"], conn["port"] = u.String(), db.Host, db.Port
	}
	for k, v := range conn {
		private[k] = v
	}
	return map[string]any{
		"id": db.ID, "name": db.Name, "engine": db.Engine, "version": db.Version,
		"connection": conn, "private_connection": private,
		"users":    []map[string]any{{"name": AdminUser, "role": "primary", "password": db.Password}},
		"db_names": []string{DefaultDatabase}, "num_nodes": db.Nodes, "region": db.Region, "status": db.status(s.now()),
		"created_at": db.Created.Format(time.RFC3339), "size": db.Size, "tags": db.Tags,
		"maintenance_window":   map[string]any{"day": "tuesday", "hour": "03:00:00", "pending": false},
		"private_network_uuid": db.VPC, "project_id": db.Project, "storage_size_mib": db.StorageMiB,
	}
}

// listDatabases answers every cluster at once: DigitalOcean's list of
// clusters has no pages (godo reads neither links nor meta from it).
func (s *Server) listDatabases(w http.ResponseWriter, r *http.Request) {
	tag := r.URL.Query().Get("tag_name")
	out := []map[string]any{}
	for _, id := range sortedKeys(s.st.Databases) {
		if db := s.st.Databases[id]; tag == "" || contains(db.Tags, tag) {
			out = append(out, s.databaseJSON(db))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"databases": out})
}

var clusterName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{1,61}[a-z0-9])$`)

// flavor finds a database size in a region's offer for an engine.
func flavor(offer *catalog.DatabaseOffer, size string) *catalog.DatabaseFlavor {
	for i := range offer.Plans {
		if f := offer.Plans[i].Flavor(size); f != nil {
			return f
		}
	}
	return nil
}

func flavorNames(offer *catalog.DatabaseOffer) string {
	var names []string
	for _, p := range offer.Plans {
		names = append(names, p.FlavorNames()...)
	}
	return strings.Join(names, ", ")
}

// checkStorage says what is wrong with a storage size, or "".
func checkStorage(f *catalog.DatabaseFlavor, mib uint64) string {
	if mib%1024 != 0 {
		return fmt.Sprintf("storage_size_mib must be whole GiB (a multiple of 1024), not %d", mib)
	}
	if !f.DiskAllowed(int(mib / 1024)) {
		return fmt.Sprintf("storage_size_mib %d (%d GiB) is not available for size %s: %s", mib, mib/1024, f.Name, f.DiskSizes())
	}
	return ""
}

func (s *Server) createDatabase(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name       string   `json:"name"`
		Engine     string   `json:"engine"`
		Version    string   `json:"version"`
		Size       string   `json:"size"`
		Region     string   `json:"region"`
		Nodes      int      `json:"num_nodes"`
		StorageMiB uint64   `json:"storage_size_mib"`
		Tags       []string `json:"tags"`
		VPC        string   `json:"private_network_uuid"`
		Project    string   `json:"project_id"`
	}
	if !s.decode(w, r, &body) {
		return
	}
	if !clusterName.MatchString(body.Name) {
		s.unprocessable(w, r, "name %q is invalid: 3 to 63 lowercase letters, digits and dashes, starting and ending with a letter or digit", body.Name)
		return
	}
	for _, db := range s.st.Databases {
		if db.Name == body.Name {
			s.unprocessable(w, r, "name %q is already in use by another cluster", body.Name)
			return
		}
	}
	engine, known := engines[body.Engine]
	if !known {
		s.unprocessable(w, r, "engine %q is invalid (the sandbox simulates: pg, mysql)", body.Engine)
		return
	}
	reg := s.region(body.Region)
	if reg == nil {
		s.unprocessable(w, r, "region %q is invalid (available: %s)", body.Region, s.regionSlugs())
		return
	}
	offer := reg.Database(engine)
	if offer == nil {
		s.unprocessable(w, r, "engine %s is not available in region %s", body.Engine, reg.Code)
		return
	}
	if body.Version == "" {
		body.Version = offer.Versions[len(offer.Versions)-1]
	}
	if !offer.HasVersion(body.Version) {
		s.unprocessable(w, r, "version %q of %s is not available (available: %s)", body.Version, body.Engine, strings.Join(offer.Versions, ", "))
		return
	}
	f := flavor(offer, body.Size)
	if f == nil {
		s.unprocessable(w, r, "size %q is invalid for %s in %s (available: %s)", body.Size, body.Engine, reg.Code, flavorNames(offer))
		return
	}
	if body.Nodes < 1 || body.Nodes > 3 {
		s.unprocessable(w, r, "num_nodes must be 1, 2 or 3, not %d", body.Nodes)
		return
	}
	if body.StorageMiB == 0 {
		body.StorageMiB = uint64(f.DiskMinGB) * 1024
	}
	if msg := checkStorage(f, body.StorageMiB); msg != "" {
		s.unprocessable(w, r, "%s", msg)
		return
	}
	if !simcore.Runs(s.opts.Backends.Databases, engine) {
		s.unprocessable(w, r, "%s clusters are not available in this sandbox: it runs real servers behind managed databases, and was started without one for %s", body.Engine, engine)
		return
	}
	if body.Tags == nil {
		body.Tags = []string{}
	}
	if body.VPC == "" {
		body.VPC = uuid.NewSHA1(uuid.NameSpaceOID, []byte("vpc/"+reg.Code)).String()
	}
	if body.Project == "" {
		body.Project = uuid.NewSHA1(uuid.NameSpaceOID, []byte("project/default")).String()
	}
	db := &database{
		ID: uuid.NewString(), Name: body.Name, Engine: body.Engine, Version: body.Version, Size: f.Name,
		Region: reg.Code, Nodes: body.Nodes, StorageMiB: body.StorageMiB, Tags: body.Tags, Created: s.now(),
		VPC: body.VPC, Project: body.Project, Password: password(),
		Status: "creating", Next: "online", Until: s.now().Add(s.opts.Timing.DatabaseCreate),
	}
	s.st.Databases[db.ID] = db
	s.save()
	s.work.Add(1)
	go s.buildBackend(db.ID, engine, db.Version, db.Password)
	writeJSON(w, http.StatusCreated, map[string]any{"database": s.databaseJSON(db)})
}

// buildBackend makes the real server behind a cluster, outside the lock:
// initdb takes a second or two.
func (s *Server) buildBackend(id, engine, version, password string) {
	defer s.work.Done()
	ctx := context.Background()
	be := s.opts.Backends.Databases
	host, port, err := be.CreateCluster(ctx, id, engine, version)
	if err == nil {
		if err = be.CreateAdmin(ctx, id, AdminUser, password); err != nil {
			be.DeleteCluster(ctx, id)
		}
	}
	s.mu.Lock()
	db := s.st.Databases[id]
	switch {
	case db == nil:
		// Deleted while it was being built.
		s.mu.Unlock()
		if err == nil {
			be.DeleteCluster(ctx, id)
		}
		return
	case err != nil:
		db.BackendError = err.Error()
		s.logf("database cluster %s: the real server behind it failed: %v", id, err)
	default:
		db.Host, db.Port, db.BackendReady = host, port, true
	}
	s.save()
	s.mu.Unlock()
}

// ResumeBackends starts again the real servers of clusters recorded in a
// saved state; the sandbox calls it after New.
func (s *Server) ResumeBackends(ctx context.Context) error {
	if s.opts.Backends.Databases == nil {
		return nil
	}
	s.mu.Lock()
	var ids []string
	for id, db := range s.st.Databases {
		switch {
		case db.BackendReady:
			ids = append(ids, id)
		case db.BackendError == "":
			// The sandbox stopped without Close while the server was being
			// built: what initdb left is not to be trusted.
			db.BackendError = "the sandbox stopped while this cluster was being built"
		}
	}
	s.save()
	s.mu.Unlock()
	return simcore.StartClusters(ctx, s.opts.Backends.Databases, ids, func(id, host string, port int) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if db := s.st.Databases[id]; db != nil {
			db.Host, db.Port = host, port
		}
	})
}

func (s *Server) databaseOr404(w http.ResponseWriter, r *http.Request) *database {
	db := s.st.Databases[r.PathValue("id")]
	if db == nil {
		s.notFound(w, r)
	}
	return db
}

func (s *Server) getDatabase(w http.ResponseWriter, r *http.Request) {
	if db := s.databaseOr404(w, r); db != nil {
		writeJSON(w, http.StatusOK, map[string]any{"database": s.databaseJSON(db)})
	}
}

func (s *Server) deleteDatabase(w http.ResponseWriter, r *http.Request) {
	db := s.databaseOr404(w, r)
	if db == nil {
		return
	}
	delete(s.st.Databases, db.ID)
	s.save()
	if db.BackendReady {
		s.work.Add(1)
		go func() {
			defer s.work.Done()
			if err := s.opts.Backends.Databases.DeleteCluster(context.Background(), db.ID); err != nil {
				s.logf("database cluster %s: removing the real server: %v", db.ID, err)
			}
		}()
	}
	noContent(w)
}

func (s *Server) resizeDatabase(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Size       string `json:"size"`
		Nodes      int    `json:"num_nodes"`
		StorageMiB uint64 `json:"storage_size_mib"`
	}
	if !s.decode(w, r, &body) {
		return
	}
	db := s.databaseOr404(w, r)
	if db == nil {
		return
	}
	if st := db.status(s.now()); st != "online" {
		s.unprocessable(w, r, "cluster %s is %s: it can be resized once it is online", db.Name, st)
		return
	}
	var offer *catalog.DatabaseOffer
	if reg := s.region(db.Region); reg != nil {
		offer = reg.Database(engines[db.Engine])
	}
	if offer == nil {
		s.unprocessable(w, r, "engine %s is no longer offered in region %s", db.Engine, db.Region)
		return
	}
	size, nodes, mib := db.Size, db.Nodes, db.StorageMiB
	if body.Size != "" {
		size = body.Size
	}
	if body.Nodes != 0 {
		nodes = body.Nodes
	}
	if body.StorageMiB != 0 {
		mib = body.StorageMiB
	}
	f := flavor(offer, size)
	switch {
	case f == nil:
		s.unprocessable(w, r, "size %q is invalid for %s in %s (available: %s)", size, db.Engine, db.Region, flavorNames(offer))
		return
	case nodes < 1 || nodes > 3:
		s.unprocessable(w, r, "num_nodes must be 1, 2 or 3, not %d", nodes)
		return
	case mib < db.StorageMiB:
		s.unprocessable(w, r, "storage_size_mib cannot decrease: the cluster has %d MiB, %d was asked", db.StorageMiB, mib)
		return
	}
	if msg := checkStorage(f, mib); msg != "" {
		s.unprocessable(w, r, "%s", msg)
		return
	}
	db.Size, db.Nodes, db.StorageMiB = f.Name, nodes, mib
	db.Status, db.Next, db.Until = "resizing", "online", s.now().Add(s.opts.Timing.DatabaseResize)
	s.save()
	w.WriteHeader(http.StatusAccepted)
}

// password makes a doadmin password the way DigitalOcean's look.
func password() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, 19)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "AVNS_" + string(b)
}
