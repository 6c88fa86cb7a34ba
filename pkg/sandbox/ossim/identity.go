package ossim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// TokenLifetime is how long a token is valid, Keystone's default.
const TokenLifetime = time.Hour

// token is what a Keystone token stands for. Tokens are signed, not
// stored, as Keystone's fernet tokens are.
type token struct {
	User    string   `json:"u"`
	Project string   `json:"p"`
	Methods []string `json:"m"`
	Issued  int64    `json:"i"`
	Expires int64    `json:"e"`
	Audit   string   `json:"a"`
	AppCred string   `json:"c,omitempty"`
}

func (s *Server) sign(t *token) string {
	payload, _ := json.Marshal(t)
	p := base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, s.st.TokenKey)
	mac.Write([]byte(p))
	return "gAAAAA" + p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// verify returns what a token stands for, or nil for one that is forged,
// expired, revoked or for a user or project that no longer exists.
func (s *Server) verify(raw string) *token {
	raw, ok := strings.CutPrefix(raw, "gAAAAA")
	p, sig, ok2 := strings.Cut(raw, ".")
	if !ok || !ok2 {
		return nil
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return nil
	}
	mac := hmac.New(sha256.New, s.st.TokenKey)
	mac.Write([]byte(p))
	if !hmac.Equal(got, mac.Sum(nil)) {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil
	}
	var t token
	if json.Unmarshal(payload, &t) != nil || s.now().Unix() >= t.Expires || s.revoked[t.Audit] ||
		t.User != s.UserID() || t.Project != s.ProjectID() {
		return nil
	}
	return &t
}

func (s *Server) identityRoutes(mux *http.ServeMux) {
	rs := routeSet{mux, s, identity}
	rs.open("GET /identity", s.identityVersions)
	rs.open("GET /identity/{$}", s.identityVersions)
	rs.open("GET /identity/v3", s.identityVersion)
	rs.open("GET /identity/v3/{$}", s.identityVersion)
	rs.open("POST /identity/v3/auth/tokens", s.issueToken)
	rs.api("GET /identity/v3/auth/tokens", s.checkToken)
	rs.api("DELETE /identity/v3/auth/tokens", s.revokeToken)
	rs.api("GET /identity/v3/auth/catalog", s.getCatalog)
	rs.api("GET /identity/v3/auth/projects", s.authProjects)
	rs.api("GET /identity/v3/users/{uid}", s.getUser)
	rs.api("GET /identity/v3/users/{uid}/credentials/OS-EC2", s.listEC2)
	rs.api("POST /identity/v3/users/{uid}/credentials/OS-EC2", s.createEC2)
	rs.api("GET /identity/v3/users/{uid}/credentials/OS-EC2/{access}", s.getEC2)
	rs.api("DELETE /identity/v3/users/{uid}/credentials/OS-EC2/{access}", s.deleteEC2)
	rs.open("/identity/", func(c *call) { c.fail(http.StatusNotFound, "The resource could not be found.") })
}

func (c *call) identityVersionJSON() map[string]any {
	return map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []map[string]string{{"rel": "self", "href": c.base() + "/identity/v3/"}},
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}
}

func (s *Server) identityVersions(c *call) {
	c.json(http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{c.identityVersionJSON()}}})
}

func (s *Server) identityVersion(c *call) {
	c.json(http.StatusOK, map[string]any{"version": c.identityVersionJSON()})
}

// authRequest is the body of POST /v3/auth/tokens, for the methods the
// simulator knows: password, application_credential and token.
type authRequest struct {
	Auth *struct {
		Identity *struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User *userRef `json:"user"`
			} `json:"password"`
			ApplicationCredential *struct {
				ID     string   `json:"id"`
				Name   string   `json:"name"`
				Secret string   `json:"secret"`
				User   *userRef `json:"user"`
			} `json:"application_credential"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

type userRef struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Password string   `json:"password"`
	Domain   *nameRef `json:"domain"`
}

type nameRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// domain says whether ref names the one domain, by ID or name.
func (s *Server) domain(ref *nameRef) bool {
	return ref != nil && (ref.ID == "default" || ref.ID == "" && strings.EqualFold(ref.Name, s.opts.Credentials.DomainName))
}

// user says whether ref names the one user: by ID, or by name in its
// domain.
func (s *Server) user(ref *userRef) bool {
	if ref == nil {
		return false
	}
	if ref.ID != "" {
		return ref.ID == s.UserID()
	}
	return ref.Name == s.opts.Credentials.Username && s.domain(ref.Domain)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

const unauthorizedMessage = "The request you have made requires authentication."

func (s *Server) issueToken(c *call) {
	var req authRequest
	if !c.decode(&req) {
		return
	}
	if req.Auth == nil || req.Auth.Identity == nil || len(req.Auth.Identity.Methods) == 0 {
		c.fail(http.StatusBadRequest, "Expecting to find identity in auth. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
		return
	}
	id := req.Auth.Identity
	t := &token{User: s.UserID(), Project: s.ProjectID(), Methods: id.Methods}
	creds := s.opts.Credentials
	for _, m := range id.Methods {
		ok := false
		switch m {
		case "password":
			ok = id.Password != nil && s.user(id.Password.User) && equal(id.Password.User.Password, creds.Password)
		case "application_credential":
			ac := id.ApplicationCredential
			ok = ac != nil && creds.ApplicationCredentialID != "" && equal(ac.Secret, creds.ApplicationCredentialSecret) &&
				(ac.ID == creds.ApplicationCredentialID || ac.ID == "" && ac.Name == appCredName && s.user(ac.User))
			t.AppCred = creds.ApplicationCredentialID
		case "token":
			ok = id.Token != nil && s.verify(id.Token.ID) != nil
		}
		if !ok {
			c.fail(http.StatusUnauthorized, unauthorizedMessage)
			return
		}
	}
	if !s.scoped(req.Auth.Scope, t.AppCred != "") {
		c.fail(http.StatusUnauthorized, unauthorizedMessage)
		return
	}
	now := s.now()
	t.Issued, t.Expires = now.Unix(), now.Add(TokenLifetime).Unix()
	audit := make([]byte, 16)
	rand.Read(audit)
	t.Audit = base64.RawURLEncoding.EncodeToString(audit)
	c.w.Header().Set("X-Subject-Token", s.sign(t))
	c.json(http.StatusCreated, map[string]any{"token": s.tokenJSON(c, t, c.r.URL.Query().Has("nocatalog"))})
}

// appCredName is the application credential's name, for clients that
// name it with its user rather than giving its ID.
const appCredName = "cosocial-sandbox"

// scoped checks the scope asked for: the one project (by ID, or by name
// in its domain), or none, which scopes to the user's default project.
// An application credential carries its own scope and takes no other.
func (s *Server) scoped(raw json.RawMessage, appCred bool) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	if appCred {
		return false
	}
	var scope struct {
		Project *struct {
			ID     string   `json:"id"`
			Name   string   `json:"name"`
			Domain *nameRef `json:"domain"`
		} `json:"project"`
	}
	if json.Unmarshal(raw, &scope) != nil || scope.Project == nil {
		// Domain and system scopes: the user has no role there.
		return false
	}
	p := scope.Project
	if p.ID != "" {
		return p.ID == s.ProjectID()
	}
	return p.Name == s.opts.Credentials.ProjectName && s.domain(p.Domain)
}

func (s *Server) tokenJSON(c *call, t *token, nocatalog bool) map[string]any {
	dom := map[string]string{"id": "default", "name": s.opts.Credentials.DomainName}
	out := map[string]any{
		"methods":    t.Methods,
		"user":       map[string]any{"id": t.User, "name": s.opts.Credentials.Username, "domain": dom, "password_expires_at": nil},
		"audit_ids":  []string{t.Audit},
		"issued_at":  micro(time.Unix(t.Issued, 0)) + "Z",
		"expires_at": micro(time.Unix(t.Expires, 0)) + "Z",
		"project":    map[string]any{"id": t.Project, "name": s.opts.Credentials.ProjectName, "domain": dom},
		"is_domain":  false,
		"roles": []map[string]string{
			{"id": stableID("role", "member"), "name": "member"},
			{"id": stableID("role", "reader"), "name": "reader"},
		},
	}
	if t.AppCred != "" {
		out["application_credential"] = map[string]any{"id": t.AppCred, "name": appCredName, "restricted": true}
	}
	if !nocatalog {
		out["catalog"] = s.catalogJSON(c)
	}
	return out
}

// catalogJSON lists the services, each with its public endpoint in the
// region. Object storage is the sandbox's S3 server, reached with EC2
// credentials; Swift is not simulated.
func (s *Server) catalogJSON(c *call) []map[string]any {
	base, region := c.base(), s.region.Code
	entry := func(typ, name, url string) map[string]any {
		return map[string]any{
			"id": stableID("service", typ), "type": typ, "name": name,
			"endpoints": []map[string]string{{
				"id": stableID("endpoint", typ, region), "interface": "public", "region": region, "region_id": region, "url": url,
			}},
		}
	}
	volumeURL := base + "/volume/v3/" + s.ProjectID()
	out := []map[string]any{
		entry("identity", "keystone", base+"/identity"),
		entry("compute", "nova", base+"/compute/v2.1"),
		entry("block-storage", "cinder", volumeURL),
		entry("volumev3", "cinderv3", volumeURL),
		entry("network", "neutron", base+"/network"),
		entry("image", "glance", base+"/image"),
		entry("dns", "designate", base+"/dns"),
	}
	if s.opts.Objects != nil {
		out = append(out, entry("s3", "s3", strings.TrimSuffix(s.opts.Objects.Endpoint(), "/")))
	}
	return out
}

func (s *Server) checkToken(c *call) {
	t := s.verify(c.r.Header.Get("X-Subject-Token"))
	if t == nil {
		c.fail(http.StatusNotFound, "Could not find token.")
		return
	}
	c.w.Header().Set("X-Subject-Token", c.r.Header.Get("X-Subject-Token"))
	c.json(http.StatusOK, map[string]any{"token": s.tokenJSON(c, t, c.r.URL.Query().Has("nocatalog"))})
}

func (s *Server) revokeToken(c *call) {
	t := s.verify(c.r.Header.Get("X-Subject-Token"))
	if t == nil {
		c.fail(http.StatusNotFound, "Could not find token.")
		return
	}
	s.revoked[t.Audit] = true
	c.empty(http.StatusNoContent)
}

func (s *Server) getCatalog(c *call) {
	c.json(http.StatusOK, map[string]any{"catalog": s.catalogJSON(c), "links": map[string]any{"self": c.base() + c.r.URL.Path, "previous": nil, "next": nil}})
}

func (s *Server) authProjects(c *call) {
	c.json(http.StatusOK, map[string]any{
		"projects": []map[string]any{{
			"id": s.ProjectID(), "name": s.opts.Credentials.ProjectName, "domain_id": "default", "enabled": true,
			"is_domain": false, "parent_id": "default", "description": "", "tags": []string{},
			"links": map[string]string{"self": c.base() + "/identity/v3/projects/" + s.ProjectID()},
		}},
		"links": map[string]any{"self": c.base() + c.r.URL.Path, "previous": nil, "next": nil},
	})
}

// self checks that the user in the path is the token's: the policy lets
// a user see only their own user and credentials.
func (s *Server) self(c *call, action string) bool {
	if c.r.PathValue("uid") != c.tok.User {
		c.fail(http.StatusForbidden, "You are not authorized to perform the requested action: identity:"+action+".")
		return false
	}
	return true
}

func (s *Server) getUser(c *call) {
	if !s.self(c, "get_user") {
		return
	}
	c.json(http.StatusOK, map[string]any{"user": map[string]any{
		"id": s.UserID(), "name": s.opts.Credentials.Username, "domain_id": "default", "enabled": true,
		"default_project_id": s.ProjectID(), "password_expires_at": nil, "options": map[string]any{},
		"links": map[string]string{"self": c.base() + "/identity/v3/users/" + s.UserID()},
	}})
}

func (s *Server) ec2JSON(c *call, k *ec2Credential) map[string]any {
	return map[string]any{
		"user_id": k.User, "tenant_id": k.Project, "access": k.Access, "secret": k.Secret, "trust_id": nil,
		"links": map[string]string{"self": c.base() + "/identity/v3/users/" + k.User + "/credentials/OS-EC2/" + k.Access},
	}
}

func (s *Server) listEC2(c *call) {
	if !s.self(c, "ec2_list_credentials") {
		return
	}
	out := []map[string]any{}
	for _, a := range sortedKeys(s.st.EC2) {
		out = append(out, s.ec2JSON(c, s.st.EC2[a]))
	}
	c.json(http.StatusOK, map[string]any{"credentials": out, "links": map[string]any{"self": c.base() + c.r.URL.Path, "previous": nil, "next": nil}})
}

func (s *Server) createEC2(c *call) {
	if !s.self(c, "ec2_create_credential") {
		return
	}
	var body struct {
		TenantID string `json:"tenant_id"`
	}
	if !c.decode(&body) {
		return
	}
	if body.TenantID == "" {
		c.fail(http.StatusBadRequest, "Invalid input for field 'tenant_id': 'tenant_id' is a required property")
		return
	}
	if body.TenantID != s.ProjectID() {
		c.fail(http.StatusNotFound, "Could not find project: "+body.TenantID+".")
		return
	}
	k := &ec2Credential{Access: hexID(), Secret: hexID(), User: c.tok.User, Project: body.TenantID, Created: s.now()}
	s.st.EC2[k.Access] = k
	s.save()
	c.json(http.StatusCreated, map[string]any{"credential": s.ec2JSON(c, k)})
}

func (s *Server) ec2Or404(c *call, action string) *ec2Credential {
	if !s.self(c, action) {
		return nil
	}
	k := s.st.EC2[c.r.PathValue("access")]
	if k == nil {
		c.fail(http.StatusNotFound, "Could not find credential: "+c.r.PathValue("access")+".")
	}
	return k
}

func (s *Server) getEC2(c *call) {
	if k := s.ec2Or404(c, "ec2_get_credential"); k != nil {
		c.json(http.StatusOK, map[string]any{"credential": s.ec2JSON(c, k)})
	}
}

func (s *Server) deleteEC2(c *call) {
	k := s.ec2Or404(c, "ec2_delete_credential")
	if k == nil {
		return
	}
	delete(s.st.EC2, k.Access)
	s.save()
	c.empty(http.StatusNoContent)
}

// AddBucket makes an existing bucket on the S3 server one of the
// project's: every EC2 credential of the project reaches it, as on Ceph
// behind Keystone.
func (s *Server) AddBucket(name string) error {
	if s.opts.Objects == nil {
		return errors.New("the OpenStack simulator runs without an S3 server")
	}
	return s.opts.Objects.Own(name, s.ProjectID())
}

// EC2Key is what Ceph's gateway asks Keystone of a request's access key:
// its secret and its project. A deleted credential is unknown at once.
func (s *Server) EC2Key(access string) (secret, project string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.st.EC2[access]
	if k == nil {
		return "", "", false
	}
	return k.Secret, k.Project, true
}

// hexID is a random UUID without dashes, as Keystone writes EC2 keys.
func hexID() string {
	u := uuid.New()
	return hex.EncodeToString(u[:])
}
