package ossim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"

	"golang.org/x/crypto/ssh"
)

func (c *call) keypairJSON(k *keypairRec, full bool) map[string]any {
	out := map[string]any{"name": k.Name, "public_key": k.PublicKey, "fingerprint": k.Fingerprint}
	if c.mv.atLeast(2) {
		out["type"] = k.Type
	}
	if full {
		out["user_id"], out["id"], out["deleted"] = c.tok.User, k.ID, false
		out["created_at"], out["updated_at"], out["deleted_at"] = micro(k.Created), nil, nil
	}
	return out
}

func (s *Server) listKeypairs(c *call) {
	names, next, ok := c.page(sortedKeys(s.st.Keypairs))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, n := range names {
		out = append(out, map[string]any{"keypair": c.keypairJSON(s.st.Keypairs[n], false)})
	}
	body := map[string]any{"keypairs": out}
	if c.mv.atLeast(35) {
		body["keypairs_links"] = links(next)
	}
	c.json(http.StatusOK, body)
}

func (s *Server) createKeypair(c *call) {
	var body struct {
		Keypair *struct {
			Name      string `json:"name"`
			PublicKey string `json:"public_key"`
			Type      string `json:"type"`
			UserID    string `json:"user_id"`
		} `json:"keypair"`
	}
	if !c.decode(&body) {
		return
	}
	k := body.Keypair
	switch {
	case k == nil:
		c.fail(http.StatusBadRequest, "Invalid input for field/attribute keypair. Value: None. 'keypair' is a required property")
		return
	case !keypairName.MatchString(k.Name):
		c.fail(http.StatusBadRequest, "Keypair data is invalid: Keypair name contains unsafe characters")
		return
	case s.st.Keypairs[k.Name] != nil:
		c.failf(http.StatusConflict, "Key pair '%s' already exists.", k.Name)
		return
	case len(s.st.Keypairs) >= s.quotas().Keypairs:
		c.fail(http.StatusForbidden, "Quota exceeded, too many key pairs.")
		return
	case k.Type != "" && k.Type != "ssh":
		c.failf(http.StatusBadRequest, "Keypair data is invalid: key type %s is not simulated (ssh only)", k.Type)
		return
	case k.UserID != "" && k.UserID != c.tok.User:
		c.fail(http.StatusForbidden, "Policy doesn't allow os_compute_api:os-keypairs:create to be performed.")
		return
	case k.PublicKey == "" && c.mv.atLeast(92):
		c.fail(http.StatusBadRequest, "Invalid input for field/attribute keypair. Value: None. 'public_key' is a required property")
		return
	}
	rec := &keypairRec{ID: s.next(), Name: k.Name, Type: "ssh", Created: s.now()}
	private := ""
	if k.PublicKey == "" {
		// Nova makes the pair and shows the private key this once.
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			c.fail(http.StatusInternalServerError, "Unexpected API Error.")
			return
		}
		pub, _ := ssh.NewPublicKey(&key.PublicKey)
		rec.PublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " Generated-by-Nova"
		rec.Fingerprint = ssh.FingerprintLegacyMD5(pub)
		private = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	} else {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey))
		if err != nil {
			c.fail(http.StatusBadRequest, "Keypair data is invalid: failed to generate fingerprint")
			return
		}
		rec.PublicKey, rec.Fingerprint = k.PublicKey, ssh.FingerprintLegacyMD5(pub)
	}
	s.st.Keypairs[rec.Name] = rec
	s.save()
	out := c.keypairJSON(rec, false)
	out["user_id"] = c.tok.User
	if private != "" {
		out["private_key"] = private
	}
	code := http.StatusOK
	if c.mv.atLeast(2) {
		code = http.StatusCreated
	}
	c.json(code, map[string]any{"keypair": out})
}

func (s *Server) keypairOr404(c *call) *keypairRec {
	k := s.st.Keypairs[c.r.PathValue("name")]
	if k == nil {
		c.failf(http.StatusNotFound, "Keypair %s not found for user %s", c.r.PathValue("name"), c.tok.User)
	}
	return k
}

func (s *Server) getKeypair(c *call) {
	if k := s.keypairOr404(c); k != nil {
		c.json(http.StatusOK, map[string]any{"keypair": c.keypairJSON(k, true)})
	}
}

func (s *Server) deleteKeypair(c *call) {
	k := s.keypairOr404(c)
	if k == nil {
		return
	}
	delete(s.st.Keypairs, k.Name)
	s.save()
	if c.mv.atLeast(2) {
		c.empty(http.StatusNoContent)
	} else {
		c.empty(http.StatusAccepted)
	}
}

// Servers.

// vmState is Nova's vm_state and power_state behind each status.
