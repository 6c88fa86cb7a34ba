package dosim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// SpacesEndpoint is the S3 endpoint the simulator's Spaces keys reach, or
// "" when it runs without an S3 server.
func (s *Server) SpacesEndpoint() string {
	if s.opts.Backends.Objects == nil {
		return ""
	}
	return s.opts.Backends.Objects.Endpoint()
}

func keyJSON(k *spaceKey, secret string) map[string]any {
	grants := []map[string]string{}
	for _, g := range k.Grants {
		grants = append(grants, map[string]string{"bucket": g.Bucket, "permission": g.Permission})
	}
	out := map[string]any{"name": k.Name, "access_key": k.AccessKey, "grants": grants, "created_at": k.Created.Format(time.RFC3339)}
	if secret != "" {
		out["secret_key"] = secret
	}
	return out
}

// spaces answers 422 when there is no S3 server behind Spaces.
func (s *Server) spaces(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Backends.Objects == nil {
		s.unprocessable(w, r, "Spaces is not available in this sandbox: it was started without its S3 server")
		return false
	}
	return true
}

type keyBody struct {
	Name   string  `json:"name"`
	Grants []grant `json:"grants"`
}

// checkGrants says what is wrong with a key's grants, or "". The sandbox's
// S3 server gives a key whole buckets it owns: it cannot make a key
// read-only, nor reach every bucket of the account.
func checkGrants(grants []grant) string {
	if len(grants) == 0 {
		return "grants are required: name each bucket the key may reach"
	}
	for _, g := range grants {
		switch g.Permission {
		case "read", "readwrite", "fullaccess":
		default:
			return "permission " + g.Permission + " is invalid (read, readwrite, fullaccess)"
		}
		if g.Bucket == "" {
			return "a grant on every bucket is not simulated: name the buckets"
		}
	}
	return ""
}

// grantAll gives the key each granted bucket on the S3 server.
func (s *Server) grantAll(ctx context.Context, w http.ResponseWriter, r *http.Request, access string, grants []grant) bool {
	for _, g := range grants {
		if err := s.opts.Backends.Objects.Grant(ctx, access, g.Bucket); err != nil {
			s.logf("spaces key %s: granting bucket %s: %v", access, g.Bucket, err)
			s.unprocessable(w, r, "bucket %s could not be granted: create it first on the S3 server (%s)", g.Bucket, s.SpacesEndpoint())
			return false
		}
	}
	return true
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var body keyBody
	if !s.decode(w, r, &body) || !s.spaces(w, r) {
		return
	}
	if body.Name == "" {
		s.unprocessable(w, r, "name is required")
		return
	}
	if msg := checkGrants(body.Grants); msg != "" {
		s.unprocessable(w, r, "%s", msg)
		return
	}
	k := &spaceKey{Name: body.Name, AccessKey: accessKey(), Grants: body.Grants, Created: s.now()}
	secret := secretKey()
	if err := s.opts.Backends.Objects.CreateAccessKey(r.Context(), k.AccessKey, secret); err != nil {
		s.logf("spaces key %s: %v", k.AccessKey, err)
		s.fail(w, r, http.StatusInternalServerError, "server_error", "Server was unable to give you a response.")
		return
	}
	if !s.grantAll(r.Context(), w, r, k.AccessKey, k.Grants) {
		s.opts.Backends.Objects.DeleteAccessKey(r.Context(), k.AccessKey)
		return
	}
	s.st.Keys[k.AccessKey] = k
	s.save()
	// The secret is shown this once, as DigitalOcean does.
	writeJSON(w, http.StatusCreated, map[string]any{"key": keyJSON(k, secret)})
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	keys := sortedKeys(s.st.Keys)
	p, ok := s.paginate(w, r, len(keys))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, a := range keys[p.lo:p.hi] {
		out = append(out, keyJSON(s.st.Keys[a], ""))
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out, "links": p.links, "meta": p.meta})
}

func (s *Server) keyOr404(w http.ResponseWriter, r *http.Request) *spaceKey {
	k := s.st.Keys[r.PathValue("access")]
	if k == nil {
		s.notFound(w, r)
	}
	return k
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request) {
	if k := s.keyOr404(w, r); k != nil {
		writeJSON(w, http.StatusOK, map[string]any{"key": keyJSON(k, "")})
	}
}

func (s *Server) updateKey(w http.ResponseWriter, r *http.Request) {
	var body keyBody
	if !s.decode(w, r, &body) {
		return
	}
	k := s.keyOr404(w, r)
	if k == nil || !s.spaces(w, r) {
		return
	}
	if body.Name != "" {
		k.Name = body.Name
	}
	if body.Grants != nil {
		if msg := checkGrants(body.Grants); msg != "" {
			s.unprocessable(w, r, "%s", msg)
			return
		}
		// The S3 server has no way to take a bucket back from its owner
		// short of deleting the key, so grants only grow here.
		if !s.grantAll(r.Context(), w, r, k.AccessKey, body.Grants) {
			return
		}
		k.Grants = body.Grants
	}
	s.save()
	writeJSON(w, http.StatusOK, map[string]any{"key": keyJSON(k, "")})
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) {
	k := s.keyOr404(w, r)
	if k == nil || !s.spaces(w, r) {
		return
	}
	if err := s.opts.Backends.Objects.DeleteAccessKey(r.Context(), k.AccessKey); err != nil {
		s.logf("spaces key %s: deleting: %v", k.AccessKey, err)
		s.fail(w, r, http.StatusInternalServerError, "server_error", "Server was unable to give you a response.")
		return
	}
	delete(s.st.Keys, k.AccessKey)
	s.save()
	noContent(w)
}

// accessKey looks like DigitalOcean's: "DO00" and 16 capitals or digits.
func accessKey() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "DO00" + string(b)
}

func secretKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return strings.TrimRight(base64.StdEncoding.EncodeToString(b), "=")
}
