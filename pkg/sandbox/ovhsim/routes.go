package ovhsim

import (
	"net/http"
	"strconv"
)

func (s *Server) routes(root *http.ServeMux) {
	root.HandleFunc("GET /auth/time", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.opts.Clock().Unix())
	})
	// Public, as on OVHcloud: no signature.
	root.HandleFunc("GET /order/catalog/public/cloud", s.publicCloudCatalog)
	// Every other route answers for a known project (when it names one) and
	// runs alone: the simulator's records are one consistent state.
	mux := handlers{root, s}
	mux.HandleFunc("GET /auth/details", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"account": "sandbox-ovh", "method": "account", "description": "cosocial sandbox",
			"allowedRoutes": []map[string]string{{"method": "GET", "path": "/*"}, {"method": "POST", "path": "/*"}, {"method": "PUT", "path": "/*"}, {"method": "DELETE", "path": "/*"}},
			"identities":    []string{"urn:v1:ca:identity:account:sandbox-ovh"},
			"roles":         nil, "user": nil,
		})
	})

	const p = "/cloud/project/{sn}"
	mux.HandleFunc("GET "+p, s.getProject)
	mux.HandleFunc("GET "+p+"/region", s.listRegions)
	mux.HandleFunc("GET "+p+"/region/{region}", s.getRegion)
	mux.HandleFunc("GET "+p+"/flavor", s.listFlavors)
	mux.HandleFunc("GET "+p+"/flavor/{id}", s.getFlavor)
	mux.HandleFunc("GET "+p+"/image", s.listImages)
	mux.HandleFunc("GET "+p+"/image/{id}", s.getImage)
	mux.HandleFunc("GET "+p+"/sshkey", s.listSSHKeys)
	mux.HandleFunc("POST "+p+"/sshkey", s.createSSHKey)
	mux.HandleFunc("GET "+p+"/sshkey/{id}", s.getSSHKey)
	mux.HandleFunc("DELETE "+p+"/sshkey/{id}", s.deleteSSHKey)
	mux.HandleFunc("GET "+p+"/instance", s.listInstances)
	mux.HandleFunc("POST "+p+"/instance", s.createInstance)
	mux.HandleFunc("GET "+p+"/instance/{id}", s.getInstance)
	mux.HandleFunc("PUT "+p+"/instance/{id}", s.renameInstance)
	mux.HandleFunc("DELETE "+p+"/instance/{id}", s.deleteInstance)
	mux.HandleFunc("POST "+p+"/instance/{id}/resize", s.resizeInstance)

	mux.HandleFunc("GET "+p+"/database/capabilities", s.capabilities)
	mux.HandleFunc("GET "+p+"/database/availability", s.availability)
	mux.HandleFunc("GET "+p+"/database/service", s.listServices)
	mux.HandleFunc("GET "+p+"/database/service/{id}", s.getService)
	const db = p + "/database/{engine}"
	mux.HandleFunc("GET "+db, s.listClusters)
	mux.HandleFunc("POST "+db, s.createCluster)
	mux.HandleFunc("GET "+db+"/{id}", s.getCluster)
	mux.HandleFunc("PUT "+db+"/{id}", s.updateCluster)
	mux.HandleFunc("DELETE "+db+"/{id}", s.deleteCluster)
	mux.HandleFunc("GET "+db+"/{id}/user", s.listDBUsers)
	mux.HandleFunc("POST "+db+"/{id}/user", s.createDBUser)
	mux.HandleFunc("GET "+db+"/{id}/user/{uid}", s.getDBUser)
	mux.HandleFunc("DELETE "+db+"/{id}/user/{uid}", s.deleteDBUser)
	mux.HandleFunc("POST "+db+"/{id}/user/{uid}/credentials/reset", s.resetDBUser)
	mux.HandleFunc("GET "+db+"/{id}/database", s.listDBNames)
	mux.HandleFunc("POST "+db+"/{id}/database", s.createDBName)
	mux.HandleFunc("GET "+db+"/{id}/database/{did}", s.getDBName)
	mux.HandleFunc("DELETE "+db+"/{id}/database/{did}", s.deleteDBName)

	mux.HandleFunc("GET "+p+"/user", s.listUsers)
	mux.HandleFunc("POST "+p+"/user", s.createUser)
	mux.HandleFunc("GET "+p+"/user/{uid}", s.getUser)
	mux.HandleFunc("DELETE "+p+"/user/{uid}", s.deleteUser)
	mux.HandleFunc("GET "+p+"/user/{uid}/s3Credentials", s.listS3Credentials)
	mux.HandleFunc("POST "+p+"/user/{uid}/s3Credentials", s.createS3Credentials)
	mux.HandleFunc("POST "+p+"/user/{uid}/s3Credentials/{access}/secret", s.s3Secret)
	mux.HandleFunc("DELETE "+p+"/user/{uid}/s3Credentials/{access}", s.deleteS3Credentials)
	mux.HandleFunc("GET "+p+"/user/{uid}/policy", s.getPolicy)
	mux.HandleFunc("POST "+p+"/user/{uid}/policy", s.setPolicy)
	const st = p + "/region/{region}/storage"
	mux.HandleFunc("GET "+st, s.listBuckets)
	mux.HandleFunc("POST "+st, s.createBucket)
	mux.HandleFunc("GET "+st+"/{name}", s.getBucket)
	mux.HandleFunc("DELETE "+st+"/{name}", s.deleteBucket)

	const z = "/domain/zone/{zone}"
	mux.HandleFunc("GET "+z, s.getZone)
	mux.HandleFunc("GET "+z+"/record", s.listRecords)
	mux.HandleFunc("POST "+z+"/record", s.createRecord)
	mux.HandleFunc("GET "+z+"/record/{id}", s.getRecord)
	mux.HandleFunc("PUT "+z+"/record/{id}", s.updateRecord)
	mux.HandleFunc("DELETE "+z+"/record/{id}", s.deleteRecord)
	mux.HandleFunc("POST "+z+"/refresh", s.refreshZone)

	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, http.StatusNotFound, "Client::NotFound", "Got an invalid (or empty) URL")
	})
}

type handlers struct {
	mux *http.ServeMux
	s   *Server
}

func (h handlers) HandleFunc(pattern string, f http.HandlerFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("sn") != "" {
			if _, ok := h.s.project(w, r); !ok {
				return
			}
		}
		h.s.mu.Lock()
		defer h.s.mu.Unlock()
		f(w, r)
	})
}

// nextID returns a new sequential number, for the API's integer IDs.
func (s *Server) nextID() int64 {
	s.st.Seq++
	return s.st.Seq
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
