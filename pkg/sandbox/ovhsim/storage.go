package ovhsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

func (s *Server) userJSON(u *cloudUser) map[string]any {
	roles := []map[string]any{}
	for _, r := range u.Roles {
		roles = append(roles, map[string]any{"id": stableID("role", r), "name": r, "description": r, "permissions": []string{}})
	}
	return map[string]any{
		"id": u.ID, "username": u.Username, "description": u.Description, "status": u.Life.Status,
		"creationDate": u.Created.Format(time.RFC3339), "openstackId": stableID("os-user", itoa(u.ID)), "roles": roles,
	}
}

func (s *Server) liveUser(id string) *cloudUser {
	u := s.st.Users[id]
	if u == nil {
		return nil
	}
	if !u.Life.advance(s.now()) {
		delete(s.st.Users, id)
		s.saveLocked()
		return nil
	}
	return u
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	out := []map[string]any{}
	for _, id := range sortedKeys(s.st.Users) {
		if u := s.liveUser(id); u != nil {
			out = append(out, s.userJSON(u))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

var roles = []string{"admin", "administrator", "ai_training_operator", "ai_training_read", "authentication", "backup_operator", "compute_operator", "image_operator", "infrastructure_supervisor", "network_operator", "network_security_operator", "objectstore_operator", "volume_operator"}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Description *string  `json:"description"`
		Role        *string  `json:"role"`
		Roles       []string `json:"roles"`
	}
	if !decode(w, r, s, &body) {
		return
	}
	asked := body.Roles
	if body.Role != nil {
		asked = append(asked, *body.Role)
	}
	for _, a := range asked {
		known := false
		for _, k := range roles {
			known = known || a == k
		}
		if !known {
			s.badRequest(w, "Invalid role %q", a)
			return
		}
	}
	id := s.nextID()
	u := &cloudUser{ID: id, Username: fmt.Sprintf("user-%08x", id*2654435761%0xffffffff), Roles: asked, Created: s.now(), AccessKeys: []string{}}
	if body.Description != nil {
		u.Description = *body.Description
	}
	u.Life.set("creating", "ok", s.opts.Timing.UserCreate, s.now())
	s.st.Users[itoa(id)] = u
	s.saveLocked()
	out := s.userJSON(u)
	out["password"] = password()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) *cloudUser {
	u := s.liveUser(r.PathValue("uid"))
	if u == nil {
		s.notFound(w, "userId = "+r.PathValue("uid"))
	}
	return u
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	if u := s.user(w, r); u != nil {
		writeJSON(w, http.StatusOK, s.userJSON(u))
	}
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	u := s.user(w, r)
	if u == nil {
		return
	}
	for _, access := range u.AccessKeys {
		if err := s.opts.Backends.Objects.DeleteAccessKey(r.Context(), access); err != nil {
			s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
			return
		}
	}
	u.AccessKeys = nil
	u.Life.deleting("deleting", s.opts.Timing.UserCreate, s.now())
	s.saveLocked()
	ok(w)
}

func (s *Server) objects(w http.ResponseWriter) bool {
	if s.opts.Backends.Objects == nil {
		s.badRequest(w, "Object storage is not available in this sandbox: it was started without an S3 server")
		return false
	}
	return true
}

func (s *Server) listS3Credentials(w http.ResponseWriter, r *http.Request) {
	sn := r.PathValue("sn")
	u := s.user(w, r)
	if u == nil {
		return
	}
	out := []map[string]any{}
	for _, a := range u.AccessKeys {
		out = append(out, map[string]any{"access": a, "tenantId": sn, "userId": stableID("os-user", itoa(u.ID))})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createS3Credentials(w http.ResponseWriter, r *http.Request) {
	sn := r.PathValue("sn")
	if !s.objects(w) {
		return
	}
	u := s.user(w, r)
	if u == nil {
		return
	}
	access := strings.ToUpper(strings.ReplaceAll(newID(), "-", ""))[:20]
	secret := password() + password()[:16]
	if err := s.opts.Backends.Objects.CreateAccessKey(r.Context(), access, secret); err != nil {
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	u.AccessKeys = append(u.AccessKeys, access)
	if err := s.applyPolicy(r, u); err != nil {
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	s.saveLocked()
	writeJSON(w, http.StatusOK, map[string]any{"access": access, "secret": secret, "tenantId": sn, "userId": stableID("os-user", itoa(u.ID))})
}

// accessOr404 finds the user and the access key a request names,
// answering an error when the key is not that user's.
func (s *Server) accessOr404(w http.ResponseWriter, r *http.Request) (*cloudUser, string) {
	if !s.objects(w) {
		return nil, ""
	}
	u := s.user(w, r)
	if u == nil {
		return nil, ""
	}
	access := r.PathValue("access")
	for _, a := range u.AccessKeys {
		if a == access {
			return u, access
		}
	}
	s.notFound(w, "access = "+access)
	return nil, ""
}

func (s *Server) s3Secret(w http.ResponseWriter, r *http.Request) {
	u, access := s.accessOr404(w, r)
	if u == nil {
		return
	}
	secret, err := s.opts.Backends.Objects.Secret(r.Context(), access)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": secret})
}

func (s *Server) deleteS3Credentials(w http.ResponseWriter, r *http.Request) {
	u, access := s.accessOr404(w, r)
	if u == nil {
		return
	}
	if err := s.opts.Backends.Objects.DeleteAccessKey(r.Context(), access); err != nil {
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	kept := u.AccessKeys[:0]
	for _, a := range u.AccessKeys {
		if a != access {
			kept = append(kept, a)
		}
	}
	u.AccessKeys = kept
	s.saveLocked()
	ok(w)
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	if u := s.user(w, r); u != nil {
		p := u.Policy
		if p == "" {
			p = `{"Statement":[]}`
		}
		writeJSON(w, http.StatusOK, map[string]string{"policy": p})
	}
}

// policyDoc is the AWS-style document OVHcloud takes for a user.
type policyDoc struct {
	Statement []struct {
		Effect   string   `json:"Effect"`
		Action   []string `json:"Action"`
		Resource []string `json:"Resource"`
	} `json:"Statement"`
}

func (s *Server) setPolicy(w http.ResponseWriter, r *http.Request) {
	if !s.objects(w) {
		return
	}
	var body struct {
		Policy string `json:"policy"`
	}
	if !decode(w, r, s, &body) {
		return
	}
	var doc policyDoc
	if err := json.Unmarshal([]byte(body.Policy), &doc); err != nil {
		s.badRequest(w, "Invalid policy: %v", err)
		return
	}
	u := s.user(w, r)
	if u == nil {
		return
	}
	u.Policy = body.Policy
	if err := s.applyPolicy(r, u); err != nil {
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	s.saveLocked()
	ok(w)
}

var bucketARN = regexp.MustCompile(`^arn:aws:s3:::([^/*]+)`)

// applyPolicy gives each of the user's access keys the buckets its policy
// allows. The sandbox grants read and write on a named bucket; finer
// actions are recorded but not enforced.
func (s *Server) applyPolicy(r *http.Request, u *cloudUser) error {
	if u.Policy == "" {
		return nil
	}
	var doc policyDoc
	if err := json.Unmarshal([]byte(u.Policy), &doc); err != nil {
		return err
	}
	buckets := map[string]bool{}
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, res := range st.Resource {
			if m := bucketARN.FindStringSubmatch(res); m != nil {
				buckets[m[1]] = true
			}
		}
	}
	for _, access := range u.AccessKeys {
		for b := range buckets {
			if err := s.opts.Backends.Objects.Grant(r.Context(), access, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// storageRegion checks a region offers object storage and returns the
// API's spelling of it ("BHS").
func (s *Server) storageRegion(w http.ResponseWriter, name string) (string, bool) {
	for _, reg := range s.operator().Regions {
		if reg.ObjectStorage != nil && strings.EqualFold(reg.ObjectStorage.Region, name) {
			return strings.ToUpper(reg.ObjectStorage.Region), true
		}
	}
	s.badRequest(w, "Region %s not found or not available for object storage", name)
	return "", false
}

func (s *Server) bucketJSON(r *http.Request, b *bucket, usage bool) map[string]any {
	endpoint := strings.TrimSuffix(s.opts.Backends.Objects.Endpoint(), "/")
	out := map[string]any{
		"name": b.Name, "region": b.Region, "ownerId": b.OwnerID, "createdAt": b.CreatedAt.Format(time.RFC3339),
		// The sandbox's S3 server answers on loopback, where virtual-host
		// names cannot resolve: its virtual host is path-style.
		"virtualHost": endpoint + "/" + b.Name + "/",
		"encryption":  map[string]any{"sseAlgorithm": "plaintext"},
		"versioning":  map[string]any{"status": versioning(b.Versioned)},
	}
	if usage {
		objects, size, err := s.opts.Backends.Objects.Usage(r.Context(), b.Name)
		if err == nil {
			out["objectsCount"], out["objectsSize"] = objects, size
		}
		out["objects"] = []any{}
	}
	return out
}

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request) {
	if !s.objects(w) {
		return
	}
	region, ok := s.storageRegion(w, r.PathValue("region"))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, key := range sortedKeys(s.st.Buckets) {
		if b := s.st.Buckets[key]; b.Region == region {
			out = append(out, s.bucketJSON(r, b, false))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createBucket(w http.ResponseWriter, r *http.Request) {
	if !s.objects(w) {
		return
	}
	region, ok := s.storageRegion(w, r.PathValue("region"))
	if !ok {
		return
	}
	var body struct {
		Name       string `json:"name"`
		OwnerID    int64  `json:"ownerId"`
		Versioning *struct {
			Status string `json:"status"`
		} `json:"versioning"`
	}
	if !decode(w, r, s, &body) {
		return
	}
	if !bucketName.MatchString(body.Name) {
		s.badRequest(w, "Invalid bucket name %q: 3 to 63 lower-case letters, digits, dots and dashes", body.Name)
		return
	}
	for _, b := range s.st.Buckets {
		if b.Name == body.Name {
			s.fail(w, http.StatusConflict, "Client::Conflict", "conflict: bucket name already exists")
			return
		}
	}
	if body.OwnerID != 0 && s.liveUser(itoa(body.OwnerID)) == nil {
		s.badRequest(w, "Owner %d not found", body.OwnerID)
		return
	}
	if err := s.opts.Backends.Objects.CreateBucket(r.Context(), body.Name); err != nil {
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	b := &bucket{Name: body.Name, Region: region, OwnerID: body.OwnerID, CreatedAt: s.now()}
	if body.Versioning != nil && body.Versioning.Status == "enabled" {
		if err := s.opts.Backends.Objects.Version(r.Context(), b.Name); err != nil {
			s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
			return
		}
		b.Versioned = true
	}
	s.st.Buckets[region+"/"+b.Name] = b
	s.saveLocked()
	writeJSON(w, http.StatusOK, s.bucketJSON(r, b, false))
}

func (s *Server) bucket(w http.ResponseWriter, r *http.Request) *bucket {
	region, ok := s.storageRegion(w, r.PathValue("region"))
	if !ok {
		return nil
	}
	name, _ := url.PathUnescape(r.PathValue("name"))
	b := s.st.Buckets[region+"/"+name]
	if b == nil {
		s.notFound(w, "name = "+name)
	}
	return b
}

func (s *Server) getBucket(w http.ResponseWriter, r *http.Request) {
	if !s.objects(w) {
		return
	}
	if b := s.bucket(w, r); b != nil {
		writeJSON(w, http.StatusOK, s.bucketJSON(r, b, true))
	}
}

func (s *Server) deleteBucket(w http.ResponseWriter, r *http.Request) {
	if !s.objects(w) {
		return
	}
	b := s.bucket(w, r)
	if b == nil {
		return
	}
	err := s.opts.Backends.Objects.DeleteBucket(r.Context(), b.Name)
	switch {
	case errors.Is(err, ErrBucketNotEmpty):
		s.fail(w, http.StatusBadRequest, "Client::BadRequest", "BucketNotEmpty: The bucket you tried to delete is not empty")
		return
	case err != nil:
		s.fail(w, http.StatusInternalServerError, "Server::InternalServerError", err.Error())
		return
	}
	delete(s.st.Buckets, b.Region+"/"+b.Name)
	s.saveLocked()
	ok(w)
}

func versioning(on bool) string {
	if on {
		return "enabled"
	}
	return "disabled"
}
